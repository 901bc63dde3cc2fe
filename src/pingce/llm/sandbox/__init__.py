"""Run untrusted generated programs (HumanEval, MBPP completions) one at a time, each fenced in.

Layers, strongest first; each one the host allows is used (see docs/design/sandbox.md):

1. **Namespaces** — the program runs under ``unshare --user --net --pid --fork --kill-child``:
   a fresh network namespace has only a downed loopback, so every connection fails; a fresh
   PID namespace dies with its first process, taking every descendant with it.
2. **Resource limits** (``setrlimit`` before exec) — address space, CPU seconds, file size,
   open files, core dumps off; process count (``RLIMIT_NPROC``) where the kernel enforces it
   (not for root). When running as root and the interpreter is reachable by ``nobody``, the
   program runs as ``nobody``, so ``RLIMIT_NPROC`` and file permissions apply too.
3. **An audit hook** installed before the program's first line (PEP 578): sockets,
   ``fork``/``exec``/``spawn``/``subprocess``/``system``, ``ctypes`` library loading and any
   write, delete or rename outside the working folder raise ``PermissionError``.
4. **Process group + timeout** — the program leads its own process group; when it ends or
   the wall-clock timeout passes, the whole group is sent SIGKILL and the working folder
   (a fresh temporary folder, also HOME and TMPDIR) is deleted.

A sample that trips any layer simply fails (``status`` says how); the caller keeps going.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

Status = Literal["passed", "failed", "timeout", "error"]
Isolation = Literal["auto", "namespace", "audit"]

NOBODY = 65534
_OUTPUT_TAIL = 2000  # characters of stdout/stderr kept per program

# Runs before the program: installs the guard, then executes program.py as __main__.
# Kept in one string so the sandbox never depends on importing pingce in the child.
_GUARD = r"""
import os, sys
_root = os.path.realpath(os.getcwd())
_blocked = {
    "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
    "socket.gethostbyname", "socket.gethostbyaddr", "socket.socketpair",
    "os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn", "os.system",
    "subprocess.Popen", "pty.spawn", "ctypes.dlopen", "os.kill", "os.killpg",
}
_path_events = {"os.remove": 0, "os.rename": 0, "os.rmdir": 0, "os.mkdir": 0,
                "os.chmod": 0, "os.chown": 0, "os.link": 1, "os.symlink": 1,
                "os.truncate": 0, "os.utime": 0, "shutil.rmtree": 0, "shutil.move": 1}
_allowed = ("/dev/null",)

def _inside(path):
    if isinstance(path, int):
        return True  # an already-open descriptor
    try:
        real = os.path.realpath(os.fsdecode(path))
    except Exception:
        return False
    return real == _root or real.startswith(_root + os.sep) or real in _allowed

def _hook(event, args):
    if event in _blocked:
        raise PermissionError(f"sandbox: {event} is not allowed")
    if event == "open":
        path, mode, flags = args
        writing = (mode is not None and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
        if writing and path is not None and not _inside(path):
            raise PermissionError(f"sandbox: writing {path!r} outside the working folder")
    elif event in _path_events:
        target = args[_path_events[event]] if len(args) > _path_events[event] else None
        if target is not None and not _inside(target):
            raise PermissionError(f"sandbox: {event} on {target!r} outside the working folder")

sys.addaudithook(_hook)
del _hook
import runpy
runpy.run_path("program.py", run_name="__main__")
"""


@dataclass(frozen=True)
class SandboxLimits:
    """Per-program limits. Memory in MiB of address space, CPU in seconds, files in MiB."""

    timeout_s: float = 5.0
    memory_mb: int = 1024
    cpu_s: int = 10
    file_size_mb: int = 16
    open_files: int = 64
    processes: int = 16  # extra processes the program may start (where NPROC applies)
    isolation: Isolation = "auto"
    audit: bool = True  # the audit-hook layer (off only to test the other layers alone)


@dataclass(frozen=True)
class SandboxResult:
    status: Status  # passed: exit 0; failed: non-zero exit; timeout: killed at the limit
    returncode: int | None
    seconds: float
    stdout: str
    stderr: str
    isolation: str  # the layers that were in force, e.g. "namespace+nobody+audit"

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def _user_process_count(uid: int) -> int:
    """Processes whose real uid is `uid` (what RLIMIT_NPROC counts)."""
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", encoding="ascii", errors="replace") as fh:
                for line in fh:
                    if line.startswith("Uid:"):
                        count += int(line.split()[1]) == uid
                        break
        except OSError:
            continue
    return count


def _unshare_cmd() -> list[str]:
    return ["unshare", "--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child"]


def _probe(cmd: list[str], drop_to_nobody: bool) -> bool:
    launch = _launcher_cmd(
        SandboxLimits(), drop_to_nobody, None, [*cmd, sys.executable, "-I", "-c", "pass"]
    )
    try:
        res = subprocess.run(launch, capture_output=True, timeout=20, cwd="/")
    except (OSError, subprocess.SubprocessError):
        return False
    return res.returncode == 0


class SandboxUnavailable(RuntimeError):
    """The requested isolation cannot be set up on this host."""


@lru_cache(maxsize=4)
def available_isolation(requested: Isolation = "auto") -> tuple[bool, bool]:
    """(use namespaces, run as nobody) on this host for the requested isolation level.

    "namespace" insists on namespaces (SandboxUnavailable otherwise); "audit" never uses
    them; "auto" takes the strongest combination that starts a Python here.
    """
    as_root = os.geteuid() == 0
    options = [] if requested == "audit" or shutil.which("unshare") is None else [True]
    if requested != "namespace":
        options.append(False)
    for ns in options:
        cmd = _unshare_cmd() if ns else []
        if as_root and _probe(cmd, drop_to_nobody=True):
            return ns, True
        if _probe(cmd, drop_to_nobody=False):
            return ns, False
    if requested == "namespace":
        raise SandboxUnavailable("this host does not allow user, network and PID namespaces")
    return False, False


# Sets the limits, drops privileges if asked, then execs the real command. A launcher process
# instead of `preexec_fn`, which is unsafe when the caller runs programs from several threads.
_LAUNCHER = r"""
import json, os, resource, sys
spec = json.loads(sys.argv[1])
for name, value in spec["limits"].items():
    which = getattr(resource, name)
    resource.setrlimit(which, (value, value))
if spec["drop"]:
    os.setgroups([]); os.setgid(spec["uid"]); os.setuid(spec["uid"])
os.execv(spec["cmd"][0], spec["cmd"])
"""


def _launcher_cmd(
    limits: SandboxLimits, drop: bool, nproc: int | None, cmd: list[str]
) -> list[str]:
    mib = 1024 * 1024
    values = {
        "RLIMIT_AS": limits.memory_mb * mib,
        "RLIMIT_CPU": limits.cpu_s,
        "RLIMIT_FSIZE": limits.file_size_mb * mib,
        "RLIMIT_NOFILE": limits.open_files,
        "RLIMIT_CORE": 0,
    }
    if nproc is not None:
        values["RLIMIT_NPROC"] = nproc
    first = shutil.which(cmd[0]) or cmd[0]
    spec = {"limits": values, "drop": drop, "uid": NOBODY, "cmd": [first, *cmd[1:]]}
    return [sys.executable, "-I", "-c", _LAUNCHER, json.dumps(spec)]


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _tail(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")[-_OUTPUT_TAIL:]


def run_program(source: str, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run a Python program in the sandbox; exit status 0 means it passed."""
    limits = limits or SandboxLimits()
    use_ns, drop = available_isolation(limits.isolation)
    workdir = Path(tempfile.mkdtemp(prefix="pingce-sandbox-"))
    try:
        (workdir / "program.py").write_text(source, encoding="utf-8")
        (workdir / "guard.py").write_text(_GUARD, encoding="utf-8")
        if drop:
            os.chown(workdir, NOBODY, NOBODY)
            for name in ("program.py", "guard.py"):
                os.chown(workdir / name, NOBODY, NOBODY)
        uid = NOBODY if drop else os.getuid()
        # RLIMIT_NPROC counts every process of the real uid, so the budget is on top of those.
        nproc = None if uid == 0 else _user_process_count(uid) + limits.processes
        entry = "guard.py" if limits.audit else "program.py"
        cmd = [*(_unshare_cmd() if use_ns else []), sys.executable, "-I", entry]
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(workdir),
            "TMPDIR": str(workdir),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
        }
        layers = "+".join(
            [
                *(["namespace"] if use_ns else []),
                *(["nobody"] if drop else []),
                *(["audit"] if limits.audit else []),
                "rlimit",
            ]
        )
        start = time.perf_counter()
        proc = subprocess.Popen(
            _launcher_cmd(limits, drop, nproc, cmd),
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # own process group: killpg reaches every descendant
        )
        try:
            out, err = proc.communicate(timeout=limits.timeout_s)
            status: Status = "passed" if proc.returncode == 0 else "failed"
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, err = proc.communicate()
            status = "timeout"
        finally:
            _kill_group(proc)  # leftovers that escaped the PID namespace or outlived the leader
        seconds = time.perf_counter() - start
        return SandboxResult(
            status=status,
            returncode=proc.returncode,
            seconds=seconds,
            stdout=_tail(out),
            stderr=_tail(err),
            isolation=layers,
        )
    except OSError as exc:
        return SandboxResult("error", None, 0.0, "", f"sandbox could not start: {exc}", "none")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_programs(
    sources: Sequence[str], limits: SandboxLimits | None = None, workers: int = 2
) -> list[SandboxResult]:
    """Run several programs, `workers` at a time, each in its own sandbox; results in order."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda src: run_program(src, limits), sources))
