"""The run lifecycle on the tiny local model: a full run, resume after `kill -9` and after
Ctrl-C, and user errors that surface before any run exists.

The interrupted runs are real `python -m pingce.cli run` child processes writing to a real
SQLite file; the test polls that file and kills the child once some, but not all, records are
stored.
"""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pingce.core.errors import DataError
from pingce.core.run import RunRequest, execute_run, summarize_run
from pingce.core.spec import builtin_suites_dir
from pingce.core.store import Store, open_store

QUICK = builtin_suites_dir() / "llm" / "quick.yaml"
# Options as `pingce run --batch-size 1 --threads 1` stores them. Batch size 1 makes chunks of
# 8 samples (so a run commits many small chunks); one thread makes the numbers reproducible
# across processes.
OPTIONS: dict[str, Any] = {
    "device": "auto",
    "dtype": "auto",
    "batch_size": 1,
    "seed": 1234,
    "num_fewshot": None,
    "limit": None,
    "threads": 1,
}


@pytest.fixture(autouse=True)
def _restore_torch_threads() -> Iterator[None]:
    """In-process runs call torch.set_num_threads; leave the session as it was."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pingce.cli", *args]


@pytest.fixture(scope="module")
def resume_suite(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """llm/quick with absolute dataset paths plus a second copy of two tasks (more chunks)."""
    raw = yaml.safe_load(QUICK.read_text(encoding="utf-8"))
    data_dir = QUICK.parent
    tasks = raw["tasks"]
    for task in tasks:
        for key in ("path", "fewshot_path"):
            if key in task["dataset"]:
                task["dataset"][key] = str(data_dir / task["dataset"][key])
    extra = [dict(t, id=f"{t['id']}-again") for t in tasks if t["type"] == "multiple_choice"][:2]
    raw["tasks"] = tasks + extra
    raw["name"] = "test/resume"
    path = tmp_path_factory.mktemp("resume-suite") / "resume.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    total = 0
    for task in raw["tasks"]:
        lines = Path(task["dataset"]["path"]).read_text(encoding="utf-8").splitlines()
        total += sum(1 for line in lines if line.strip())
    return path, total


@pytest.fixture(scope="module")
def reference(
    resume_suite: tuple[Path, int], tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The results of an uninterrupted run of the resume suite (in this process)."""
    import torch

    before = torch.get_num_threads()
    path, total = resume_suite
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('reference') / 'ref.db'}")
    try:
        run_id = execute_run(
            store,
            RunRequest(suite=str(path), subject=f"hf:{tiny_model_dir}", options=dict(OPTIONS)),
            show_progress=False,
        )
        row = store.get_run(run_id)
        assert row.status == "completed"
        assert store.count_records(run_id) == total
        return row.results
    finally:
        store.close()
        torch.set_num_threads(before)


def comparable(results: dict[str, Any]) -> dict[str, Any]:
    """Everything in a summary that must not depend on timing (efficiency is wall time)."""
    return {
        "tasks": results["tasks"],
        "dimensions": results["dimensions"],
        "overall": results["overall"],
        "samples": [
            {**s, "data": {k: v for k, v in s["data"].items() if k != "usage"}}
            for s in results["samples"]
        ],
        "score_indicators": [i for i in results["indicators"] if i["scope"] != "run"],
    }


def start_child(suite: Path, model: Path, db_url: str, tmp: Path) -> subprocess.Popen[bytes]:
    cmd = cli(
        "run",
        "--suite",
        str(suite),
        "--model",
        f"hf:{model}",
        "--db",
        db_url,
        "--batch-size",
        "1",
        "--threads",
        "1",
        "--no-report",
        "-q",
    )
    return subprocess.Popen(
        cmd,
        stdout=(tmp / "child.out").open("wb"),
        stderr=(tmp / "child.err").open("wb"),
        # A shell starts background jobs with SIGINT ignored, and Python then never raises
        # KeyboardInterrupt; give the child the default disposition a terminal would.
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_partial(
    store: Store, child: subprocess.Popen[bytes], total: int, tmp: Path, timeout: float = 120
) -> str:
    """Poll the store until the child's run has stored at least one chunk but not all."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            err = (tmp / "child.err").read_text(errors="replace")
            pytest.fail(f"the run ended (rc {child.returncode}) before it was interrupted: {err}")
        runs = store.list_runs()
        if runs:
            count = store.count_records(runs[0].id)
            if 8 <= count < total:
                return runs[0].id
        time.sleep(0.02)
    child.kill()
    pytest.fail("no partial records appeared in time")


# ---- (a) a full run ----------------------------------------------------------------------------
def test_full_run_of_quick(tiny_model_dir: Path, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'full.db'}")
    options = {**OPTIONS, "batch_size": 16, "limit": 2, "threads": None}
    run_id = execute_run(
        store,
        RunRequest(suite="llm/quick", subject=f"hf:{tiny_model_dir}", options=options),
        show_progress=False,
    )
    row = store.get_run(run_id)
    assert row.status == "completed"
    assert row.error is None and row.finished_at is not None
    assert row.suite == "llm/quick" and row.standard == "llm"
    assert row.config["suite_ref"] == "llm/quick"
    assert row.config["options"] == options
    assert row.config["settings"]["limit"] == 2
    assert row.subject_fingerprint["backend"] == "hf"
    assert row.environment
    assert store.count_records(run_id) == 6 * 2
    results = row.results
    assert [t["id"] for t in results["tasks"]] == [
        "knowledge-mc",
        "reasoning-mc",
        "arithmetic",
        "reading-zh",
        "generation",
        "perplexity",
    ]
    for task in results["tasks"]:
        assert task["n_samples"] == 2
        primary = task["metrics"][task["primary_metric"]]
        assert primary["n"] == 2
        assert isinstance(primary["value"], float) and math.isfinite(primary["value"])
    assert 0.0 <= results["overall"]["score"] <= 1.0
    assert {d["id"] for d in results["dimensions"]} >= {"knowledge", "reasoning"}
    assert len(results["samples"]) == 12
    assert results["extra"]["efficiency"]["requests"] > 0
    # The stored summary is what the stored records give.
    assert comparable(summarize_run(store, row)) == comparable(results)

    # Resuming a completed run recomputes nothing and rewrites nothing.
    before = {r.key: (r.id, r.created_at) for r in store.records(run_id)}
    assert execute_run(store, resume=run_id, show_progress=False) == run_id
    after = {r.key: (r.id, r.created_at) for r in store.records(run_id)}
    assert after == before
    assert store.get_run(run_id).status == "completed"
    store.close()


# ---- (b) kill -9, then resume ------------------------------------------------------------------
@pytest.mark.slow
def test_resume_after_kill_9(
    resume_suite: tuple[Path, int],
    reference: dict[str, Any],
    tiny_model_dir: Path,
    tmp_path: Path,
) -> None:
    suite, total = resume_suite
    db_url = f"sqlite:///{tmp_path / 'killed.db'}"
    store = open_store(db_url)  # tables exist before the child starts
    child = start_child(suite, tiny_model_dir, db_url, tmp_path)
    try:
        run_id = wait_for_partial(store, child, total, tmp_path)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL

    row = store.get_run(run_id)
    assert row.status == "running"  # nobody could mark it
    assert row.finished_at is None and row.results is None
    stored = store.records(run_id)
    assert 8 <= len(stored) < total
    before = {r.key: (r.id, r.created_at, r.scores, r.data) for r in stored}

    proc = subprocess.run(
        cli("run", "--resume", run_id, "--db", db_url, "--no-report", "-q"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert run_id in proc.stdout

    row = store.get_run(run_id)
    assert row.status == "completed" and row.error is None and row.finished_at is not None
    records = store.records(run_id)
    assert len(records) == total
    assert len({r.key for r in records}) == total
    after = {r.key: (r.id, r.created_at, r.scores, r.data) for r in records}
    for key, old in before.items():
        assert after[key] == old, f"record {key} was rewritten by the resume"
    assert comparable(row.results) == comparable(reference)
    assert [t["n_samples"] for t in row.results["tasks"]] == [
        t["n_samples"] for t in reference["tasks"]
    ]
    assert [r.id for r in store.list_runs()] == [run_id]
    store.close()


# ---- (c) Ctrl-C, then resume -------------------------------------------------------------------
@pytest.mark.slow
def test_ctrl_c_marks_interrupted_and_resumes(
    resume_suite: tuple[Path, int],
    reference: dict[str, Any],
    tiny_model_dir: Path,
    tmp_path: Path,
) -> None:
    suite, total = resume_suite
    db_url = f"sqlite:///{tmp_path / 'interrupted.db'}"
    store = open_store(db_url)
    child = start_child(suite, tiny_model_dir, db_url, tmp_path)
    try:
        run_id = wait_for_partial(store, child, total, tmp_path)
        child.send_signal(signal.SIGINT)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    err = (tmp_path / "child.err").read_text(errors="replace")
    assert child.returncode == 130, err
    assert "Traceback" not in err
    assert "resume with `pingce run --resume RUN_ID`" in err

    row = store.get_run(run_id)
    assert row.status == "interrupted"
    assert row.error == "interrupted by the user"
    assert row.finished_at is not None
    partial = store.count_records(run_id)
    assert 8 <= partial < total
    before = {r.key: r.id for r in store.records(run_id)}

    assert execute_run(store, resume=run_id, show_progress=False) == run_id
    row = store.get_run(run_id)
    assert row.status == "completed" and row.error is None
    assert store.count_records(run_id) == total
    after = {r.key: r.id for r in store.records(run_id)}
    assert {k: after[k] for k in before} == before
    assert comparable(row.results) == comparable(reference)
    store.close()


# ---- (d) user errors while planning create no run -----------------------------------------------
def test_planning_error_creates_no_run(tiny_model_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text(
        '{"id": "1", "question": "q", "choices": ["a", "b"], "answer": 0}\n'
        '{"id": "2", "choices": ["a", "b"], "answer": 1}\n',
        encoding="utf-8",
    )
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "standard: llm\nname: t\ntasks:\n"
        "  - id: ok\n    type: perplexity\n"
        f"    dataset: {{path: {QUICK.parent / 'data' / 'perplexity.jsonl'}}}\n"
        '    prompt: "{{ text }}"\n'
        "  - id: mc\n    type: multiple_choice\n"
        f"    dataset: {{path: {data}}}\n"
        '    prompt: "Q: {{ question }}"\n',
        encoding="utf-8",
    )
    store = open_store(f"sqlite:///{tmp_path / 'plan.db'}")
    with pytest.raises(DataError) as info:
        execute_run(
            store,
            RunRequest(suite=str(suite), subject=f"hf:{tiny_model_dir}", options=dict(OPTIONS)),
            show_progress=False,
        )
    assert "row 2 (id 2)" in info.value.message and "'question'" in info.value.message
    assert store.list_runs() == []
    assert store.count_records("anything") == 0
    store.close()


def test_unknown_run_to_resume(tmp_path: Path) -> None:
    from pingce.core.errors import StoreError

    store = open_store(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(StoreError, match="no run 'nope'"):
        execute_run(store, resume="nope", show_progress=False)
    store.close()


def test_resume_refuses_a_changed_suite(
    resume_suite: tuple[Path, int], tiny_model_dir: Path, tmp_path: Path
) -> None:
    """A run resumes only against the suite it started with (same bytes)."""
    from pingce.core.errors import SpecError

    src, _ = resume_suite
    suite = tmp_path / "copy.yaml"
    suite.write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'changed.db'}")
    options = {**OPTIONS, "limit": 1, "batch_size": 16}
    run_id = execute_run(
        store,
        RunRequest(suite=str(suite), subject=f"hf:{tiny_model_dir}", options=options),
        show_progress=False,
    )
    suite.write_text(suite.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    with pytest.raises(SpecError, match="changed since run"):
        execute_run(store, resume=run_id, show_progress=False)
    assert store.get_run(run_id).status == "completed"
    store.close()


# ---- (d) Ctrl-C landing inside a record INSERT ------------------------------------------------
def test_interrupt_inside_an_insert_still_marks_the_run(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """A KeyboardInterrupt raised while a records INSERT holds SQLite's write lock.

    SQLAlchemy invalidates the connection on an interrupt, but the aborted statement (held by
    the traceback's frames) keeps the lock until it is collected. The run must still end up
    `interrupted`, not fail with 'database is locked' after the busy timeout. Fault injection:
    a real SQLAlchemy event hook raises the interrupt right after the first records INSERT.
    """
    from sqlalchemy import event

    store = open_store(f"sqlite:///{tmp_path / 'insert.db'}")
    fired: list[bool] = []

    def interrupt(conn, cursor, statement, params, context, executemany) -> None:  # noqa: ANN001
        if not fired and statement.lstrip().upper().startswith("INSERT INTO RECORDS"):
            fired.append(True)
            raise KeyboardInterrupt

    event.listen(store.engine, "after_cursor_execute", interrupt)
    options = {**OPTIONS, "batch_size": 16, "limit": 2, "threads": None}
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        execute_run(
            store,
            RunRequest(suite="llm/quick", subject=f"hf:{tiny_model_dir}", options=options),
            show_progress=False,
        )
    event.remove(store.engine, "after_cursor_execute", interrupt)
    assert fired
    assert time.monotonic() - started < 25  # well under the 30 s busy timeout
    (row,) = store.list_runs()
    assert row.status == "interrupted" and row.error == "interrupted by the user"
    assert store.count_records(row.id) == 0  # the interrupted chunk was rolled back
