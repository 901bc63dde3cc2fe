"""`pingce compare` on runs that do not cover the same items: it says what it left out and
shows each run's own full score beside the paired one.

References: hand-computed means over the hand-written 0/1 scores below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pingce.core.compare import compare_runs_with_coverage
from pingce.core.registry import load_plugins
from pingce.core.store import open_store

# run A: t1 has s0..s3 (acc 1,1,0,0), t2 has s0..s1;  run B: t1 has s1..s4 (acc 1,1,1,1), t3
A = {"t1": {"s0": 1, "s1": 1, "s2": 0, "s3": 0}, "t2": {"s0": 1, "s1": 0}}
B = {"t1": {"s1": 1, "s2": 1, "s3": 1, "s4": 1}, "t3": {"s0": 0}}


@pytest.fixture()
def runs(tmp_path: Path) -> tuple[str, object]:
    load_plugins()
    url = f"sqlite:///{tmp_path / 'c.db'}"
    store = open_store(url)
    for run_id, tasks in (("run-a", A), ("run-b", B)):
        store.create_run(
            id=run_id,
            standard="llm",
            suite="s",
            subject=run_id,
            subject_fingerprint={},
            config={},
            config_hash="h",
            environment={},
            status="completed",
        )
        store.add_records(
            run_id,
            [
                {
                    "task": task,
                    "key": f"{task}-{sid}",
                    "sample_id": sid,
                    "position": i,
                    "scores": {"acc": float(v)},
                    "data": {},
                }
                for task, items in tasks.items()
                for i, (sid, v) in enumerate(items.items())
            ],
        )
    return url, store


def test_coverage_and_full_scores(runs) -> None:
    _, store = runs
    deltas, coverage = compare_runs_with_coverage(
        store, store.get_run("run-a"), store.get_run("run-b")
    )
    (d,) = deltas
    assert (d.task, d.n) == ("t1", 3)  # s1, s2, s3 paired
    assert d.value_a == pytest.approx(1 / 3) and d.value_b == pytest.approx(1.0)
    assert d.full_a == pytest.approx(0.5) and d.n_a == 4  # all of A's t1: 1,1,0,0
    assert d.full_b == pytest.approx(1.0) and d.n_b == 4
    cov = {c.task: c for c in coverage}
    assert list(cov) == ["t1", "t2", "t3"]
    assert (cov["t1"].n_a, cov["t1"].n_b, cov["t1"].n_paired) == (4, 4, 3)
    assert "left out 1 of A's 4 and 1 of B's 4" in cov["t1"].describe()
    assert cov["t2"].describe() == "t2: only in run A (2 samples) — not compared"
    assert cov["t3"].describe() == "t3: only in run B (1 samples) — not compared"


def test_cli_prints_what_it_left_out(runs, tmp_path: Path, pingce_cli) -> None:
    url, _ = runs
    proc = pingce_cli(["compare", "run-a", "run-b", "--db", url], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "left out of the comparison:" in proc.stdout
    assert "t2: only in run A (2 samples) — not compared" in proc.stdout
    assert "t3: only in run B (1 samples) — not compared" in proc.stdout
    assert "0.5000 (n=4)" in proc.stdout  # A's own t1 score beside the paired 0.3333
