"""The code-execution sandbox: hostile programs fail their own sample only.

Each hostile program runs in a batch between well-behaved ones; the well-behaved ones must
pass, the hostile one must fail, and afterwards the host must show no trace (no file written
outside the working folder, no connection reaching a real server on 127.0.0.1, no leftover
process). Limits are small so the whole file runs in seconds.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from pingce.llm.sandbox import SandboxLimits, available_isolation, run_program, run_programs

GOOD = "assert sum(range(10)) == 45\nprint('ok')"
LIMITS = SandboxLimits(timeout_s=3.0, memory_mb=512, cpu_s=5, file_size_mb=4)


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if marker.encode() in fh.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


def _batch(hostile: str, limits: SandboxLimits = LIMITS) -> list:
    results = run_programs([GOOD, hostile, GOOD], limits, workers=3)
    assert results[0].passed and results[2].passed, [r.stderr for r in results]
    assert not results[1].passed
    return results


def test_good_and_failing_programs() -> None:
    assert run_program(GOOD, LIMITS).passed
    bad = run_program("assert 1 == 2", LIMITS)
    assert bad.status == "failed" and "AssertionError" in bad.stderr


def test_fork_bomb_fails_alone() -> None:
    bomb = "import os\nwhile True:\n    os.fork()\n"
    res = _batch(bomb)[1]
    assert res.status == "failed" and "os.fork" in res.stderr


def test_infinite_loop_times_out_and_leaves_nothing() -> None:
    marker = "pingce_loop_marker_7731"
    res = _batch(f"# {marker}\nwhile True:\n    pass\n", SandboxLimits(timeout_s=1.5))[1]
    assert res.status == "timeout" and res.seconds < 5
    assert _processes_with(marker) == []


def test_ten_gigabyte_allocation_fails() -> None:
    res = _batch("x = bytearray(10 * 1024 ** 3)\n")[1]
    assert res.status == "failed" and "MemoryError" in res.stderr


def test_writing_outside_the_folder_fails(tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    res = _batch(f"open({str(target)!r}, 'w').write('x')\n")[1]
    assert "outside the working folder" in res.stderr
    assert not target.exists()
    # Writing inside its own folder is fine.
    assert run_program(
        "open('notes.txt', 'w').write('x')\nassert open('notes.txt').read() == 'x'", LIMITS
    ).passed


@pytest.fixture
def server() -> tuple[int, list[str]]:
    """A real TCP server on 127.0.0.1 recording every connection it accepts."""
    seen: list[str] = []
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, addr = srv.accept()
            except OSError:
                continue
            seen.append(str(addr))
            conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    # The server really answers: a direct connection from the test is recorded.
    socket.create_connection(("127.0.0.1", srv.getsockname()[1]), timeout=2).close()
    for _ in range(50):
        if seen:
            break
        threading.Event().wait(0.02)
    assert len(seen) == 1
    yield srv.getsockname()[1], seen
    stop.set()
    t.join()
    srv.close()


def test_network_call_fails(server: tuple[int, list[str]]) -> None:
    port, seen = server
    program = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
    _batch(program)
    assert len(seen) == 1  # only the test's own connection


def test_network_namespace_alone_blocks_connections(server: tuple[int, list[str]]) -> None:
    """Without the audit hook, the network namespace by itself stops the connection."""
    try:
        use_ns, _ = available_isolation("namespace")
    except Exception:
        pytest.skip("this host does not allow network namespaces")
    assert use_ns
    port, seen = server
    program = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
    limits = SandboxLimits(timeout_s=3.0, isolation="namespace", audit=False)
    res = run_program(program, limits)
    assert res.status == "failed" and ("Errno" in res.stderr or "refused" in res.stderr)
    assert len(seen) == 1


def test_pid_namespace_kills_children_of_a_finished_program() -> None:
    """Without the audit hook, a child left running by the program dies with the sandbox."""
    try:
        available_isolation("namespace")
    except Exception:
        pytest.skip("this host does not allow PID namespaces")
    marker = "pingce_orphan_marker_4417"
    program = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time  # {marker}\\ntime.sleep(60)'])\n"
    )
    res = run_program(program, SandboxLimits(timeout_s=3.0, isolation="namespace", audit=False))
    assert res.status == "passed"
    assert _processes_with(marker) == []
