"""A results store with real runs for the dashboard tests, built once per session.

- two llm runs of the built-in quick suite on the tiny local model (`tiny_model_dir`), with
  different few-shot settings so their outputs differ;
- one data-quality run on a generated corpus (its report has standard-specific sections);
- an "attack" run: run A's records with model output, prompt and reference replaced by
  HTML/attribute-breaking text, and a subject holding a <script> tag;
- a "running" run holding part of run A's records, for the live progress view.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pingce.core.run import RunRequest, execute_run, new_run_id
from pingce.core.store import Store, open_store, records_as_dicts

ATTACK_OUTPUT = '<script>window.__pwned = 1</script>" onmouseover="window.__pwned = 2" x="'
ATTACK_DATASET = "<img src=x onerror=\"window.__pwned = 3\"> ' onmouseover='window.__pwned = 4'"
ATTACK_SUBJECT = 'hf:<script>window.__pwned = 5</script>" onmouseover="x'

LLM_OPTIONS: dict[str, Any] = {
    "device": "cpu",
    "dtype": "auto",
    "batch_size": 16,
    "seed": 1234,
    "num_fewshot": None,
    "limit": 2,
    "threads": None,
}


@dataclass
class DashStore:
    store: Store
    url: str
    run_a: str
    run_b: str
    data_run: str
    attack_run: str
    running_run: str
    attack_output: str = ATTACK_OUTPUT
    attack_dataset: str = ATTACK_DATASET
    attack_subject: str = ATTACK_SUBJECT

    def copy_run(self, source: str, *, subject: str, status: str) -> str:
        return copy_run(self.store, source, subject=subject, status=status)


def copy_run(store: Store, source: str, *, subject: str, status: str, **extra: Any) -> str:
    """A new run row with the source run's suite and configuration (so it summarizes)."""
    row = store.get_run(source)
    run_id = new_run_id()
    store.create_run(
        id=run_id,
        standard=row.standard,
        suite=row.suite,
        suite_title=row.suite_title,
        subject=subject,
        subject_fingerprint=row.subject_fingerprint,
        config=row.config,
        config_hash=row.config_hash,
        environment=row.environment,
        status=status,
        **extra,
    )
    return run_id


@pytest.fixture(scope="session")
def dash(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[DashStore]:
    from pingce.data.cli import evaluate_dataset
    from pingce.data.generator import CorpusConfig, generate, write_corpus

    root = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{root / 'dash.db'}"
    store = open_store(url)
    subject = f"hf:{tiny_model_dir}"
    run_a = execute_run(
        store,
        RunRequest(suite="llm/quick", subject=subject, options=dict(LLM_OPTIONS)),
        show_progress=False,
    )
    run_b = execute_run(
        store,
        RunRequest(suite="llm/quick", subject=subject, options={**LLM_OPTIONS, "num_fewshot": 0}),
        show_progress=False,
    )
    corpus = root / "corpus.jsonl.gz"
    write_corpus(generate(CorpusConfig(docs=80, seed=7)), corpus)
    data_run = evaluate_dataset(store, str(corpus), show_progress=False)

    records = records_as_dicts(store.records(run_a))
    attack_run = copy_run(store, run_a, subject=ATTACK_SUBJECT, status="completed")
    attacked = []
    for rec in records:
        data = dict(rec["data"])
        data.update(output=ATTACK_OUTPUT, prompt=ATTACK_DATASET, reference=ATTACK_DATASET)
        attacked.append({**rec, "data": data})
    store.add_records(attack_run, attacked)
    store.update_run(attack_run, status="completed", error=ATTACK_OUTPUT)

    running_run = copy_run(store, run_a, subject=subject, status="running")
    store.add_records(running_run, records[:3])
    yield DashStore(store, url, run_a, run_b, data_run, attack_run, running_run)
    store.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:  # started through the `live_server` fixture
    """uvicorn serving an app on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the dashboard server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server() -> Iterator[Any]:
    """`start(app) -> LiveServer`; every server started is stopped after the test."""
    started: list[LiveServer] = []

    def start(app: Any) -> LiveServer:
        server = LiveServer(app).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)


DEMO_STEPS = "perf,compression,conversion,data,voice,labeling,kg,steel,vision"


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict[str, str]]]:
    """A store with one demo run of every standard but llm, made by `pingce demo --only …` (the
    command a user runs), plus a data-quality run of a corpus with 30 % low-quality documents;
    `runs` maps each standard to its latest run."""
    root = tmp_path_factory.mktemp("sample-views")
    db = root / "store.db"
    env = {**os.environ, "PINGCE_DB": str(db)}
    pingce = str(Path(sys.executable).parent / "pingce")
    proc = subprocess.run(
        [pingce, "demo", "--only", DEMO_STEPS, "-q", "--db", str(db),
         "--report-dir", str(root / "reports")],
        cwd=root, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    # The data demo's corpus is clean; a generated one with 30 % low-quality documents gives
    # the data page documents that rules rejected.
    corpus = root / "junk.jsonl"
    for args in (
        [
            "data",
            "generate",
            "--docs",
            "80",
            "--low-quality-rate",
            "0.3",
            "--seed",
            "3",
            str(corpus),
        ],
        ["data", "evaluate", str(corpus), "--db", str(db), "--report-dir", str(root / "r2")],
    ):
        proc = subprocess.run([pingce, *args], cwd=root, env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    store = open_store(f"sqlite:///{db}", create=False)
    runs = {}
    for row in sorted(store.list_runs(limit=100), key=lambda r: r.created_at):
        runs[row.standard] = row.id  # the latest run of each standard
    yield store, runs
    store.close()
