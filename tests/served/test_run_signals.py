"""SIGTERM ends a run `interrupted`, as Ctrl-C does, and `--resume` completes it (issue #14,
item 7). The suite is slow because the server (fault_server.py, on 127.0.0.1) waits before
each answer and pingce sends one request at a time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pingce.core.integrity import verify_run
from pingce.core.store import open_store

N = 40


def _suite(folder: Path) -> Path:
    data = folder / "slow.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": f"s{i}", "q": f"<<a{i}>>", "answer": f"a{i}"}) + "\n"
            for i in range(N)
        ),
        encoding="utf-8",
    )
    suite = folder / "slow.yaml"
    suite.write_text(
        "standard: llm\nname: slow\ntitle: slow\ntasks:\n"
        "  - id: gen\n    type: generative\n    dimension: generation\n"
        "    dataset: {path: slow.jsonl}\n"
        '    prompt: "{{ q }}"\n    target: answer\n'
        "    generation: {max_new_tokens: 8, until: []}\n    metrics: [exact_match]\n",
        encoding="utf-8",
    )
    return suite


@pytest.mark.parametrize("fault_server", [["--delay", "0.25"]], indirect=True)
def test_sigterm_marks_the_run_interrupted_and_resume_completes_it(
    fault_server: Any, tmp_path: Path, pingce_cli: Any
) -> None:
    db = tmp_path / "slow.db"
    subject = f"openai://127.0.0.1:{fault_server.port}/v1?model=fault-model"
    env = {**os.environ, "NO_COLOR": "1"}
    args = ["run", "--suite", str(_suite(tmp_path)), "--model", subject, "--db", str(db)]
    # One request at a time: the run takes N × 0.25 s.
    proc = subprocess.Popen(
        [sys.executable, "-m", "pingce.cli", *args, "--concurrency", "1", "-q", "--no-report"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            # Mid-run: the server has answered some requests, far from all of them.
            if sum(fault_server.get("/stats")["attempts"].values()) >= 3:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    store = open_store(f"sqlite:///{db}")
    (row,) = store.list_runs()
    assert row.status == "interrupted", (row.status, row.error)
    assert row.error == "interrupted by SIGTERM"
    assert store.count_records(row.id) < N

    resumed = pingce_cli(
        ["run", "--resume", row.id, "--db", str(db), "-q", "--no-report"], cwd=tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr
    row = store.get_run(row.id)
    assert row.status == "completed"
    assert store.count_records(row.id) == N
    assert row.results["tasks"][0]["metrics"]["exact_match"]["value"] == 1.0
    # The digest is stored when the resumed run completes, over all its records.
    found = verify_run(store, row)
    assert found.status == "verified" and f"{N} records" in found.detail
