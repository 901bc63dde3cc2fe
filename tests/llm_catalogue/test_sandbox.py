"""The code-execution sandbox: hostile programs fail their own sample only.

Each hostile program runs in a batch between well-behaved ones; the well-behaved ones must
pass, the hostile one must fail with the expected reason, and afterwards the host must show no
trace (no file written outside the sandbox, no connection reaching a real server on
127.0.0.1, no leftover process). Limits are small so the whole file runs in seconds. The
end-to-end attack battery through `pingce run` is tests/security/test_code_attacks.py.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from pingce.core.errors import PingceError
from pingce.llm.sandbox import (
    SandboxLimits,
    SandboxUnavailable,
    kill_running,
    resolve_layer,
    run_program,
    run_programs,
)

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="needs bwrap (Debian package bubblewrap)"
)

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
    good = run_program(GOOD, LIMITS)
    assert good.passed and good.reason == "passed" and good.stdout == "ok\n"
    assert good.isolation.startswith("bwrap") and good.isolation.endswith("rlimit")
    bad = run_program("assert 1 == 2", LIMITS)
    assert bad.status == "failed" and bad.reason == "test_failed"
    assert "AssertionError" in bad.stderr


@pytest.mark.parametrize(
    "program",
    [
        "import os\nos._exit(0)\nassert False",
        "import sys\nsys.exit(0)\nassert False",
        "raise SystemExit\nassert False",
        "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\nassert False",
    ],
)
def test_exit_status_zero_is_not_a_pass(program: str) -> None:
    """The old rule (exit 0 = pass) gave all of these pass@1 = 1 (issue 14)."""
    res = run_program(program, LIMITS)
    assert not res.passed and res.reason == "early_exit", res


def test_forging_the_completion_marker_fails() -> None:
    """Printing a marker-shaped line with a guessed nonce is not the harness's marker."""
    program = (
        "import os, sys\nos.write(1, b'\\n\\x1ePINGCE-DONE ' + b'0' * 64 + b'\\n')\nos._exit(0)\n"
    )
    assert run_program(program, LIMITS).reason == "early_exit"


def test_lone_surrogate_fails_only_its_sample() -> None:
    res = run_program("x = '\ud800'\nassert x\n", LIMITS)
    assert not res.passed and res.reason == "test_failed"


def test_fork_bomb_fails_alone() -> None:
    bomb = "import os\nwhile True:\n    os.fork()\n"
    res = _batch(bomb)[1]
    assert res.status == "failed", res
    assert "BlockingIOError" in res.stderr or res.reason == "early_exit"


def test_infinite_loop_times_out_and_leaves_nothing() -> None:
    marker = "pingce_loop_marker_7731"
    res = _batch(f"# {marker}\nwhile True:\n    pass\n", SandboxLimits(timeout_s=1.5))[1]
    assert res.status == "timeout" and res.reason == "timeout"
    assert _processes_with(marker) == []


def test_ten_gigabyte_allocation_fails() -> None:
    res = _batch("x = bytearray(10 * 1024 ** 3)\n")[1]
    assert res.reason == "memory" and "MemoryError" in res.stderr


def test_output_is_capped_and_marked_truncated() -> None:
    res = run_program(
        "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n",
        SandboxLimits(timeout_s=5.0, output_kib=64),
    )
    assert res.reason == "output_limit" and res.truncated
    assert len(res.stdout) <= 2000


def test_writing_outside_the_folder_fails(tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    res = _batch(f"open({str(target)!r}, 'w').write('x')\n")[1]
    assert res.reason == "test_failed"
    assert not target.exists()
    # Writing inside its own folder (and /tmp) is fine.
    assert run_program(
        "open('notes.txt', 'w').write('x')\nassert open('notes.txt').read() == 'x'\n"
        "open('/tmp/t', 'w').write('y')\n",
        LIMITS,
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
    """The network namespace alone stops it: the sandbox has no route to the host's 127.0.0.1."""
    port, seen = server
    program = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
    res = _batch(program)[1]
    assert res.reason == "test_failed"
    assert len(seen) == 1  # only the test's own connection


def test_children_of_a_finished_program_die_with_it() -> None:
    """A child left running (double fork, new session) dies with the sandbox's PID namespace."""
    marker = "pingce_orphan_marker_4417"
    program = (
        "import os, sys, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        os.execv(sys.executable, [sys.executable, '-c', 'import time  # {marker}\\ntime.sleep(60)'])\n"
        "    os._exit(0)\n"
        "time.sleep(0.3)\n"
    )
    res = run_program(program, LIMITS)
    assert res.passed, res
    assert _processes_with(marker) == []


def test_kill_running_stops_every_sandbox_at_once() -> None:
    """What Ctrl-C / SIGTERM in the evaluator does: sleeping programs die well before their timeout."""
    marker = "pingce_interrupt_marker_5521"
    limits = SandboxLimits(timeout_s=60.0)
    out: list = []
    t = threading.Thread(
        target=lambda: out.extend(
            run_programs([f"# {marker}\nimport time\ntime.sleep(60)\n"] * 2, limits, workers=2)
        )
    )
    t.start()
    for _ in range(200):
        if len(_processes_with(marker)) >= 2:
            break
        time.sleep(0.05)
    assert kill_running() == 2
    t.join(timeout=30)
    assert not t.is_alive() and [r.passed for r in out] == [False, False]
    assert _processes_with(marker) == []


def test_none_layer_needs_explicit_consent() -> None:
    with pytest.raises(PingceError, match="allow-unsafe-code"):
        resolve_layer("none", allow_unsafe=False)
    assert resolve_layer("none", allow_unsafe=True) == "none"
    res = run_program(GOOD, LIMITS, layer="none")
    assert res.passed and res.isolation == "none+rlimit"
    assert run_program("import os\nos._exit(0)\n", LIMITS, layer="none").reason == "early_exit"


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_containers_are_checked_not_pulled(engine: str) -> None:
    """docker/podman are used only where the engine answers and has the image locally."""
    try:
        resolve_layer(engine, allow_unsafe=False)
    except SandboxUnavailable as exc:
        assert engine in exc.message  # refused with a reason, before any program runs
        pytest.skip(f"{engine} layer not available here: {exc.message}")
    res = run_program(GOOD, SandboxLimits(timeout_s=60.0), layer=engine)
    assert res.passed and res.isolation == f"{engine}+rlimit", res
    exit_early = run_program(
        "import os\nos._exit(0)\n", SandboxLimits(timeout_s=60.0), layer=engine
    )
    assert exit_early.reason == "early_exit"


def test_tests_run_on_their_own_so_a_completion_cannot_swallow_them() -> None:
    """A completion that opens a string closed inside the tests turns them into a string.

    As one piece the program is valid and never runs its `assert False`; compiled apart (what
    code tasks do), the completion's part is a syntax error.
    """
    completion, tests = '_ = """', '\n\nassert False  # """\n'
    assert run_program(completion + tests, LIMITS).passed  # why the split exists
    res = run_program((completion, tests), LIMITS)
    assert res.reason == "test_failed" and "SyntaxError" in res.stderr
    # Line numbers of the tests stay those of the whole program.
    res = run_program(("def f():\n    return 1", "\n\nassert f() == 2\n"), LIMITS)
    assert 'program.py", line 4' in res.stderr


def test_code_tasks_split_their_templates_at_the_completion() -> None:
    from pingce.core.registry import task_types
    from pingce.core.spec import load_suite
    from pingce.llm.prompts import render
    from pingce.llm.tasks.base import RunSettings

    for name, solution in (("humaneval", "canonical_solution"), ("mbpp", "code")):
        suite = load_suite(f"llm/{name}-sample")
        task = task_types.get(name)(suite.spec.tasks[0], suite)
        (_, _, payload), *_ = task.prepare(RunSettings(num_fewshot=0))
        row = task.load_rows()[0][0]
        program = task._program(payload, row[solution], "t")
        full = render(
            payload["program_template"], {**payload["row"], "completion": row[solution]}, "t"
        )
        assert isinstance(program, tuple) and "".join(program) == full
        assert program[0].endswith(row[solution])
        assert run_program(program, LIMITS).passed, name


def test_programs_die_when_the_evaluator_is_killed() -> None:
    """SIGKILL of the evaluator (no chance to clean up): bwrap's --die-with-parent ends them."""
    import signal
    import subprocess
    import sys

    marker = "pingce_killed_parent_marker_6203"
    sleeper = (
        "import os, sys\nos.execv(sys.executable, [sys.executable, '-c', "
        f"'import time  # {marker}\\ntime.sleep(60)'])"
    )
    code = (
        "from pingce.llm.sandbox import SandboxLimits, run_programs\n"
        f"run_programs([{sleeper!r}] * 2, SandboxLimits(timeout_s=100), workers=2)\n"
    )
    evaluator = subprocess.Popen([sys.executable, "-c", code])

    def programs() -> list[int]:  # the evaluator's own command line names the marker too
        return [pid for pid in _processes_with(marker) if pid != evaluator.pid]

    try:
        for _ in range(300):
            if len(programs()) >= 2:
                break
            time.sleep(0.1)
        assert len(programs()) == 2
    finally:
        evaluator.send_signal(signal.SIGKILL)
        evaluator.wait()
    for _ in range(50):
        if not programs():
            break
        time.sleep(0.1)
    assert programs() == []
