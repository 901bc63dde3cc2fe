"""Run untrusted generated programs (HumanEval, MBPP completions), each fenced in.

A program passes only when the harness (``harness.py``) saw its test code run to the end and
wrote a per-run random nonce the program cannot know; its exit status decides nothing. Each
program runs in its own isolation layer (``layers.py``: bubblewrap by default, docker/podman,
or ``none`` on explicit request), under rlimits, with stdout and stderr read incrementally and
capped, and every wait bounded: a program that outlives its timeout, floods its output or
leaves children holding its pipes is killed with its whole sandbox. See docs/design/sandbox.md.

A program that fails for any reason fails its own sample only; ``reason`` says why.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from pingce.llm.sandbox.harness import DONE_MARK, EXC_MARK, START_MARK
from pingce.llm.sandbox.layers import (
    LAYERS,
    PYTHON_MOUNT,
    SandboxLimits,
    SandboxUnavailable,
    bwrap_args,
    bwrap_plan,
    container_args,
    container_name,
    host_uid,
    interpreter,
    launcher_cmd,
    resolve_layer,
)

__all__ = [
    "LAYERS",
    "SandboxLimits",
    "SandboxResult",
    "SandboxUnavailable",
    "kill_running",
    "resolve_layer",
    "run_program",
    "run_programs",
]

Status = Literal["passed", "failed", "timeout", "error"]
Reason = Literal[
    "passed", "test_failed", "early_exit", "timeout", "memory", "output_limit", "sandbox_error"
]
_TAIL = 2000  # characters of stdout/stderr kept in a result
_GRACE_S = 1.0  # after the program's process ends, how long its pipes may stay open


@dataclass(frozen=True)
class SandboxResult:
    status: Status  # passed; failed; timeout; error (the sandbox itself could not run it)
    returncode: int | None
    seconds: float
    stdout: str
    stderr: str
    isolation: str  # the layers in force, e.g. "bwrap+uid+rlimit"
    reason: Reason = "passed"  # why it did not pass (see docs/design/sandbox.md)
    truncated: bool = False  # stdout or stderr went past the cap

    @property
    def passed(self) -> bool:
        return self.status == "passed"


# Every sandbox running now, so Ctrl-C or SIGTERM in the evaluator can kill them at once.
_running: dict[int, tuple[subprocess.Popen[bytes], str | None]] = {}
_running_lock = threading.Lock()


def _kill(proc: subprocess.Popen[bytes], container: str | None) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher/bwrap group; bwrap takes its sandbox
    if container is not None:
        engine = proc.args[0] if isinstance(proc.args, list) else "docker"
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run([engine, "kill", container], capture_output=True, timeout=10)


def kill_running() -> int:
    """SIGKILL every sandbox this process started that is still running; how many."""
    with _running_lock:
        running = list(_running.values())
    for proc, container in running:
        _kill(proc, container)
    return len(running)


@contextlib.contextmanager
def _registered(proc: subprocess.Popen[bytes], container: str | None) -> Iterator[None]:
    with _running_lock:
        _running[proc.pid] = (proc, container)
    try:
        yield
    finally:
        with _running_lock:
            _running.pop(proc.pid, None)


def _command(limits: SandboxLimits, layer: str, slot: int) -> tuple[list[str], str, str | None]:
    """(argv, isolation description, container name) for one program."""
    if layer == "bwrap":
        plan = bwrap_plan()
        prefix = PYTHON_MOUNT if plan.drop else interpreter()[0]
        cmd = bwrap_args(limits, prefix)
        uid = host_uid(slot) if plan.drop else None
        return (
            launcher_cmd(limits, cmd, uid, plan.drop, nproc=True),
            ("bwrap+uid+rlimit" if plan.drop else "bwrap+rlimit"),
            None,
        )
    if layer in ("docker", "podman"):
        name = container_name()
        return container_args(layer, limits, name), f"{layer}+rlimit", name
    _, exe = interpreter()
    from pingce.llm.sandbox.harness import HARNESS

    cmd = [exe, "-I", "-B", "-c", HARNESS]
    return launcher_cmd(limits, cmd, None, False, nproc=os.getuid() != 0), "none+rlimit", None


def _stdin_file(data: bytes) -> int:
    """An fd positioned at the start of `data` (a memfd: no pipe to block on, no file left)."""
    fd = os.memfd_create("pingce-program", os.MFD_CLOEXEC)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _env_for_none() -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}


def run_program(
    source: str | tuple[str, str],
    limits: SandboxLimits | None = None,
    *,
    layer: str | None = None,
    slot: int = 0,
) -> SandboxResult:
    """Run one Python program in a sandbox; it passes only if its code ran to the end.

    `source` is the program, or (program before its tests, tests): the two are then compiled
    separately and run one after the other, so the first cannot swallow or skip the second.

    Never raises for a problem of this one program (it fails with reason `sandbox_error`);
    only a missing isolation layer (SandboxUnavailable) and interrupts propagate.
    """
    limits = limits or SandboxLimits()
    layer = layer or resolve_layer(limits.layer, allow_unsafe=False, image=limits.image)
    try:
        return _run_one(source, limits, layer, slot)
    except (SandboxUnavailable, KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # one program's failure must never end the run
        return SandboxResult(
            "error",
            None,
            0.0,
            "",
            f"sandbox error: {type(exc).__name__}: {exc}"[:_TAIL],
            layer,
            "sandbox_error",
        )


def _run_one(
    source: str | tuple[str, str], limits: SandboxLimits, layer: str, slot: int
) -> SandboxResult:
    nonce = secrets.token_hex(32).encode()
    start = time.perf_counter()
    try:
        argv, isolation, container = _command(limits, layer, slot)
        split = b"-"
        if isinstance(source, tuple):
            split = str(len(source[0])).encode()
            source = source[0] + source[1]
        program = source.encode("utf-8", errors="surrogatepass")
        stdin = _stdin_file(nonce + b"\n" + split + b"\n" + program)
    except (OSError, SandboxUnavailable, ValueError) as exc:
        return SandboxResult(
            "error", None, 0.0, "", f"sandbox could not start: {exc}", layer, "sandbox_error"
        )
    workdir = "/" if layer != "none" else _none_workdir()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=workdir,
            env=_env_for_none() if layer == "none" else {"PATH": "/usr/bin:/bin"},
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # own process group: one killpg reaches the launcher/bwrap
        )
    except OSError as exc:
        os.close(stdin)
        _cleanup_workdir(workdir)
        return SandboxResult(
            "error", None, 0.0, "", f"sandbox could not start: {exc}", isolation, "sandbox_error"
        )
    os.close(stdin)
    try:
        with _registered(proc, container):
            out, err, killed_for = _collect(proc, container, limits, start)
    finally:
        _cleanup_workdir(workdir)
    seconds = time.perf_counter() - start
    return _judge(out, err, proc.returncode, killed_for, nonce, seconds, isolation)


def _none_workdir() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="pingce-unsafe-")


def _cleanup_workdir(path: str) -> None:
    if path != "/":
        import shutil

        shutil.rmtree(path, ignore_errors=True)


def _collect(
    proc: subprocess.Popen[bytes], container: str | None, limits: SandboxLimits, start: float
) -> tuple[bytes, bytes, str | None]:
    """Read stdout/stderr incrementally, each capped; kill on timeout or overflow. Bounded."""
    cap = limits.output_kib * 1024
    buffers = {"out": bytearray(), "err": bytearray()}
    assert proc.stdout is not None and proc.stderr is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")
    deadline = start + limits.timeout_s
    ended_at: float | None = None
    killed_for: str | None = None
    try:
        while sel.get_map():
            now = time.perf_counter()
            if now >= deadline:
                killed_for = "timeout"
                break
            if ended_at is None and proc.poll() is not None:
                ended_at = now
            if ended_at is not None and now - ended_at > _GRACE_S:
                break  # a leftover holds the pipe: stop waiting, the kill below ends it
            for key, _ in sel.select(timeout=min(0.1, deadline - now)):
                chunk = os.read(key.fileobj.fileno(), 65536)  # type: ignore[union-attr]
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                buf = buffers[key.data]
                room = cap + 1 - len(buf)
                if room > 0:
                    buf += chunk[:room]
                if len(buf) > cap:
                    killed_for = "output_limit"
            if killed_for:
                break
    finally:
        _kill(proc, container)  # always: nothing of the sandbox outlives its result
        sel.close()
        proc.stdout.close()
        proc.stderr.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
    return bytes(buffers["out"]), bytes(buffers["err"]), killed_for


def _judge(
    out: bytes,
    err: bytes,
    returncode: int | None,
    killed_for: str | None,
    nonce: bytes,
    seconds: float,
    isolation: str,
) -> SandboxResult:
    done = DONE_MARK + nonce + b"\n"
    started = out.startswith(START_MARK)
    body = out[len(START_MARK) :] if started else out
    finished = killed_for is None and returncode == 0 and body.endswith(done)
    if finished:
        body = body[: -len(done)]
    exc_name = ""
    at = err.rfind(EXC_MARK)
    if at >= 0:
        exc_name = err[at + len(EXC_MARK) :].split(b"\n", 1)[0].decode("ascii", "replace")
        err = err[:at]
    truncated = killed_for == "output_limit"
    reason: Reason
    if finished:
        reason = "passed"
    elif killed_for == "timeout" or returncode == -signal.SIGXCPU:
        reason = "timeout"
    elif killed_for == "output_limit":
        reason = "output_limit"
    elif not started:
        reason = "sandbox_error"
    elif exc_name == "MemoryError":
        reason = "memory"
    elif exc_name and exc_name not in ("SystemExit", "KeyboardInterrupt", "GeneratorExit"):
        reason = "test_failed"
    else:
        reason = "early_exit"
    status: Status = {"passed": "passed", "timeout": "timeout", "sandbox_error": "error"}.get(
        reason, "failed"
    )  # type: ignore[assignment]
    if reason == "early_exit" and not exc_name:
        err += f"\n[pingce] the program ended (exit status {returncode}) before its tests finished".encode()
    return SandboxResult(
        status=status,
        returncode=returncode,
        seconds=seconds,
        stdout=_tail(body),
        stderr=_tail(err),
        isolation=isolation,
        reason=reason,
        truncated=truncated,
    )


def _tail(data: bytes) -> str:
    return data[-4 * _TAIL :].decode("utf-8", errors="replace")[-_TAIL:]


def run_programs(
    sources: Sequence[str | tuple[str, str]],
    limits: SandboxLimits | None = None,
    workers: int = 2,
    *,
    layer: str | None = None,
) -> list[SandboxResult]:
    """Run several programs, `workers` at a time, each in its own sandbox; results in order.

    On KeyboardInterrupt (or any exception, e.g. SIGTERM turned into one) every running sandbox
    is killed at once before the exception goes on.
    """
    limits = limits or SandboxLimits()
    layer = layer or resolve_layer(limits.layer, allow_unsafe=False, image=limits.image)
    workers = max(1, min(workers, 64))
    slots = list(range(workers))
    slot_lock = threading.Lock()

    def one(src: str | tuple[str, str]) -> SandboxResult:
        with slot_lock:
            slot = slots.pop()
        try:
            return run_program(src, limits, layer=layer, slot=slot)
        finally:
            with slot_lock:
                slots.append(slot)

    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(one, src) for src in sources]
        return [f.result() for f in futures]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        kill_running()
        raise
    finally:
        pool.shutdown(wait=True)
