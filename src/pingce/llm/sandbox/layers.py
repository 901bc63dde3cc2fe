"""The isolation layers a program can run in, and the command line that starts each.

- ``bwrap`` (Debian package ``bubblewrap``, the default): its own mount, PID, network, IPC and
  UTS namespaces; read-only system directories and interpreter; a private tmpfs work folder and
  ``/tmp``; no ``/proc``, ``$HOME``, results store or other samples; environment cleared. When
  pingce runs as root, the launcher first drops to an unprivileged uid of its own (one per
  pingce process and worker slot), so ``RLIMIT_NPROC`` and file permissions apply.
- ``docker`` / ``podman``: a throw-away container (``--network none``, read-only root, tmpfs
  work folder, ``--pids-limit``, no capabilities, uid 65534) from ``image``, never pulled.
- ``none``: rlimits only. Refused unless the user passes ``--allow-unsafe-code``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pingce.core.errors import PingceError
from pingce.llm.sandbox.harness import HARNESS

Layer = Literal["bwrap", "docker", "podman", "none"]
LAYERS: tuple[str, ...] = ("auto", "bwrap", "docker", "podman", "none")
INSIDE_UID = 65534  # what the program sees as its uid ("nobody")
# Host uids for programs when pingce runs as root: far above any assigned uid, one block of 64
# per pingce process, one uid per worker slot, so concurrent programs never share a process
# budget (RLIMIT_NPROC counts per uid) and cannot signal each other.
HOST_UID_BASE = 1_640_000_000
PYTHON_MOUNT = "/tmp/pingce-python"  # where the launcher exposes the interpreter to bwrap


class SandboxUnavailable(PingceError):
    """The requested isolation layer cannot run on this host."""


@dataclass(frozen=True)
class SandboxLimits:
    """Per-program limits. Memory in MiB of address space, CPU in seconds, sizes in MiB."""

    timeout_s: float = 5.0
    memory_mb: int = 1024
    cpu_s: int = 10
    file_size_mb: int = 16
    open_files: int = 64
    processes: int = 32  # processes and threads the program may have (bwrap, containers)
    output_kib: int = 1024  # stdout and stderr are each cut (and the program killed) beyond this
    tmpfs_mb: int = 64  # size of the private work folder and /tmp (bwrap, containers)
    layer: str = "auto"  # auto | bwrap | docker | podman | none
    image: str = "python:3.11-slim"  # container image for docker/podman (never pulled)


def interpreter() -> tuple[str, str]:
    """(prefix to expose read-only, interpreter path inside it): the base Python, stdlib only."""
    prefix = os.path.realpath(sys.base_prefix)
    exe = os.path.realpath(sys.executable)
    if not exe.startswith(prefix + os.sep):
        exe = os.path.join(prefix, "bin", f"python{sys.version_info[0]}.{sys.version_info[1]}")
    return prefix, exe


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    for name in ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf"):
        args += ["--ro-bind-try", name, name]
    return args


def bwrap_args(limits: SandboxLimits, prefix_source: str) -> list[str]:
    """The bwrap command line up to the program (no /proc: nothing to read or rewrite there)."""
    prefix, exe = interpreter()
    size = str(limits.tmpfs_mb * 1024 * 1024)
    return [
        shutil.which("bwrap") or "/usr/bin/bwrap",
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        *_system_binds(),
        "--ro-bind",
        prefix_source,
        prefix,
        "--dev",
        "/dev",
        "--size",
        size,
        "--tmpfs",
        "/tmp",
        "--size",
        size,
        "--tmpfs",
        "/work",
        "--chdir",
        "/work",
        "--uid",
        str(INSIDE_UID),
        "--gid",
        str(INSIDE_UID),
        "--hostname",
        "sandbox",
        "--clearenv",
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "--setenv",
        "HOME",
        "/work",
        "--setenv",
        "TMPDIR",
        "/tmp",
        "--setenv",
        "LANG",
        "C.UTF-8",
        "--setenv",
        "PYTHONHASHSEED",
        "0",
        "--setenv",
        "OMP_NUM_THREADS",
        "1",
        "--",
        exe,
        "-I",
        "-B",
        "-c",
        HARNESS,
    ]


def container_args(engine: str, limits: SandboxLimits, name: str) -> list[str]:
    size = f"{limits.tmpfs_mb}m"
    mib = 1024 * 1024
    return [
        shutil.which(engine) or engine,
        "run",
        "--rm",
        "-i",
        "--pull",
        "never",
        "--name",
        name,
        "--network",
        "none",
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--tmpfs",
        f"/work:rw,exec,size={size},mode=1777",
        "--tmpfs",
        f"/tmp:rw,size={size},mode=1777",
        "--workdir",
        "/work",
        "--user",
        f"{INSIDE_UID}:{INSIDE_UID}",
        "--memory",
        f"{limits.memory_mb}m",
        "--memory-swap",
        f"{limits.memory_mb}m",
        "--pids-limit",
        str(limits.processes),
        "--ulimit",
        f"cpu={limits.cpu_s}:{limits.cpu_s}",
        "--ulimit",
        f"fsize={limits.file_size_mb * mib}:{limits.file_size_mb * mib}",
        "--ulimit",
        f"nofile={limits.open_files}:{limits.open_files}",
        "--ulimit",
        "core=0:0",
        "--env",
        "LANG=C.UTF-8",
        "--env",
        "PYTHONHASHSEED=0",
        limits.image,
        "python3",
        "-I",
        "-B",
        "-c",
        HARNESS,
    ]


# The launcher (trusted, run by pingce's interpreter) sets the rlimits; as root it moves into a
# private mount namespace, exposes the interpreter at PYTHON_MOUNT (bwrap, running unprivileged,
# cannot reach it under a private home such as /root), drops to the slot's uid, then execs.
_LAUNCHER = r"""
import ctypes, json, os, resource, sys
spec = json.loads(sys.argv[1])
if spec["mount"]:
    libc = ctypes.CDLL(None, use_errno=True)
    def check(rc, what):
        if rc != 0:
            err = ctypes.get_errno()
            sys.stderr.write("pingce-launcher: %s: %s\n" % (what, os.strerror(err)))
            os._exit(125)
    check(libc.unshare(0x00020000), "unshare(CLONE_NEWNS)")
    check(libc.mount(None, b"/", None, (1 << 14) | (1 << 18), None), "make / private")
    check(libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 0, b"mode=755,size=1m"), "tmpfs on /tmp")
    os.mkdir(spec["mount"])
    src = spec["prefix"].encode()
    check(libc.mount(src, spec["mount"].encode(), None, 4096 | (1 << 14), None), "bind python")
for name, value in spec["limits"].items():
    resource.setrlimit(getattr(resource, name), (value, value))
if spec["uid"] is not None:
    os.setgroups([])
    os.setresgid(spec["uid"], spec["uid"], spec["uid"])
    os.setresuid(spec["uid"], spec["uid"], spec["uid"])
os.execv(spec["cmd"][0], spec["cmd"])
"""


def launcher_cmd(
    limits: SandboxLimits, cmd: list[str], uid: int | None, mount: bool, nproc: bool
) -> list[str]:
    """`cmd` started with the limits applied (and, as root, as `uid` with the prefix mounted)."""
    mib = 1024 * 1024
    values = {
        "RLIMIT_AS": limits.memory_mb * mib,
        "RLIMIT_CPU": limits.cpu_s,
        "RLIMIT_FSIZE": limits.file_size_mb * mib,
        "RLIMIT_NOFILE": limits.open_files,
        "RLIMIT_CORE": 0,
    }
    if nproc:
        values["RLIMIT_NPROC"] = limits.processes + (
            0 if uid is not None else _processes_of(os.getuid())
        )
    spec = {
        "limits": values,
        "uid": uid,
        "mount": PYTHON_MOUNT if mount else None,
        "prefix": interpreter()[0],
        "cmd": cmd,
    }
    return [sys.executable, "-I", "-S", "-c", _LAUNCHER, json.dumps(spec)]


def _processes_of(uid: int) -> int:
    """Processes (and threads) whose real uid is `uid`: what RLIMIT_NPROC counts."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text(errors="replace")
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("Uid:"):
                    if int(line.split()[1]) == uid:
                        threads = [t for t in status.splitlines() if t.startswith("Threads:")]
                        count += int(threads[0].split()[1]) if threads else 1
                    break
    return count


def host_uid(slot: int) -> int:
    return HOST_UID_BASE + (os.getpid() % 20000) * 64 + slot % 64


@dataclass(frozen=True)
class Plan:
    """How this host runs bwrap: as root dropping to a slot uid, or as the current user."""

    drop: bool


@lru_cache(maxsize=1)
def bwrap_plan() -> Plan:
    """Probe bwrap once; SandboxUnavailable (naming the Debian package) when it cannot run."""
    if shutil.which("bwrap") is None:
        raise SandboxUnavailable(
            "code tasks need an isolation layer and bwrap is not installed",
            hint="install the Debian package bubblewrap (apt-get install bubblewrap), or use "
            "--sandbox docker|podman, or --sandbox none --allow-unsafe-code to run unisolated",
        )
    attempts = [True, False] if os.geteuid() == 0 else [False]
    errors = []
    for drop in attempts:
        ok, err = _probe_bwrap(drop)
        if ok:
            return Plan(drop=drop)
        errors.append(err)
    raise SandboxUnavailable(
        f"bwrap cannot start a sandbox here: {errors[-1][:200]}",
        hint="allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1), "
        "or use --sandbox docker|podman, or --sandbox none --allow-unsafe-code",
    )


def _probe_bwrap(drop: bool) -> tuple[bool, str]:
    limits = SandboxLimits()
    prefix = PYTHON_MOUNT if drop else interpreter()[0]
    cmd = bwrap_args(limits, prefix)
    cmd = [*cmd[: cmd.index("-c") + 1], "import sys; sys.stdout.write('ok')"]
    launch = launcher_cmd(limits, cmd, host_uid(63) if drop else None, drop, nproc=False)
    try:
        res = subprocess.run(launch, capture_output=True, timeout=30, cwd="/")
    except (OSError, subprocess.SubprocessError) as exc:
        return False, str(exc)
    return res.stdout == b"ok", res.stderr.decode(errors="replace").strip()


@lru_cache(maxsize=8)
def container_ready(engine: str, image: str) -> None:
    """SandboxUnavailable unless `engine` answers and has `image` locally."""
    exe = shutil.which(engine)
    if exe is None:
        raise SandboxUnavailable(f"--sandbox {engine}: the {engine} command is not installed")
    try:
        res = subprocess.run([exe, "image", "inspect", image], capture_output=True, timeout=15)
    except subprocess.TimeoutExpired:
        raise SandboxUnavailable(
            f"--sandbox {engine}: the {engine} daemon does not answer"
        ) from None
    if res.returncode != 0:
        msg = res.stderr.decode(errors="replace").strip().splitlines()
        raise SandboxUnavailable(
            f"--sandbox {engine}: {msg[-1] if msg else 'image ' + image + ' not available'}",
            hint=f"start the daemon and `{engine} pull {image}` (pingce never pulls images)",
        )


def container_name() -> str:
    return f"pingce-sandbox-{uuid.uuid4().hex[:16]}"


def resolve_layer(requested: str, allow_unsafe: bool, image: str = "python:3.11-slim") -> str:
    """The layer to use, checked now: SandboxUnavailable/PingceError with a hint otherwise."""
    if requested not in LAYERS:
        raise PingceError(
            f"--sandbox: unknown layer {requested!r}", hint=f"use one of {', '.join(LAYERS)}"
        )
    if requested == "none":
        if not allow_unsafe:
            raise PingceError(
                "--sandbox none runs model-written code unisolated on this machine and needs "
                "--allow-unsafe-code to confirm",
                hint="install the Debian package bubblewrap to run it isolated",
            )
        return "none"
    if requested in ("docker", "podman"):
        container_ready(requested, image)
        return requested
    bwrap_plan()
    return "bwrap"
