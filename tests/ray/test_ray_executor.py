"""The Ray executor (pingce.core.ray_executor) on a real local Ray with two CPUs.

References: the local executor on the same suite and model (every record's scores and every
task metric must be identical), and the store itself (one record per work unit, no key
twice) after an actor is killed with `ray.kill` in the middle of a run; for a served subject,
the fault server's own count of answers (a local rerun after the Ray run sends nothing). Ray
starts once for the module (it takes ~10 s); each run starts two actors, each with its own
replica of the subject.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray", reason="the Ray executor needs the ray extra (pip install ray)")

import pingce  # noqa: E402
from pingce.core.run import RunRequest, execute_run  # noqa: E402
from pingce.core.spec import suite_from_dict  # noqa: E402
from pingce.core.store import Store, open_store, records_as_dicts  # noqa: E402

DATA = Path(pingce.__file__).parent / "suites" / "llm" / "data"
# Rows per task; with batch_size 1 a chunk is 8 units, so every task has two chunks.
ROWS = {"arithmetic": 12, "knowledge_mc": 9, "perplexity": 9}


@pytest.fixture(scope="module")
def local_ray() -> Any:
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level=logging.WARNING,
        runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}},
    )
    yield ray
    ray.shutdown()


def _suite(tmp_path: Path):
    for name, n in ROWS.items():
        rows = (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()[:n]
        (tmp_path / f"{name}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    spec = {
        "standard": "llm",
        "name": "ray-check",
        "tasks": [
            {
                "id": "arithmetic",
                "type": "generative",
                "dataset": {"path": "arithmetic.jsonl"},
                "prompt": "Question: {{ question }}\nAnswer:",
                "target": "answer",
                "generation": {"max_new_tokens": 24, "until": []},
                "filters": [{"name": "last_number"}],
                "metrics": ["exact_match"],
            },
            {
                "id": "knowledge-mc",
                "type": "multiple_choice",
                "dataset": {"path": "knowledge_mc.jsonl"},
                "prompt": "Question: {{ question }}\nAnswer:",
                "choices": "choices",
                "target": "answer",
                "metrics": ["acc", "acc_norm"],
            },
            {
                "id": "perplexity",
                "type": "perplexity",
                "dataset": {"path": "perplexity.jsonl"},
                "prompt": "{{ text }}",
                "metrics": ["bits_per_byte", "token_perplexity"],
            },
        ],
    }
    return suite_from_dict(spec, "ray-check", tmp_path)


def _run(store: Store, tmp_path: Path, model: Path, **extra: Any) -> str:
    options = {"batch_size": 1, "seed": 1234, "threads": 1, **extra}
    request = RunRequest(suite=_suite(tmp_path), subject=f"hf:{model}", options=options)
    return execute_run(store, request, show_progress=False)


def _scores(store: Store, run_id: str) -> dict[str, Any]:
    return {r["key"]: r["scores"] for r in records_as_dicts(store.records(run_id))}


def _metrics(store: Store, run_id: str) -> dict[str, Any]:
    results = store.get_run(run_id).results
    return {t["id"]: t["metrics"] for t in results["tasks"]}


@pytest.fixture(scope="module")
def local_reference(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The local executor's records and metrics: what every Ray run must reproduce."""
    tmp = tmp_path_factory.mktemp("local")
    store = open_store(f"sqlite:///{tmp / 'local.db'}")
    run_id = _run(store, tmp, tiny_model_dir)
    return _scores(store, run_id), _metrics(store, run_id)


def test_ray_run_equals_local_run(local_ray, local_reference, tiny_model_dir, tmp_path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'ray.db'}")
    run_id = _run(store, tmp_path, tiny_model_dir, executor="ray")
    scores, metrics = local_reference
    assert store.get_run(run_id).status == "completed"
    assert _scores(store, run_id) == scores  # every record, bit for bit
    assert _metrics(store, run_id) == metrics
    assert json.dumps(metrics)  # the report numbers exist and are plain JSON


class _Messages(logging.Handler):
    """The pool's log lines, from whatever thread runs the pool."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_killed_actor_is_replaced_without_duplicate_records(
    local_ray, local_reference, tiny_model_dir, tmp_path
) -> None:
    outcome: dict[str, Any] = {}
    store = open_store(f"sqlite:///{tmp_path / 'kill.db'}")

    def run() -> None:
        try:
            outcome["run_id"] = _run(store, tmp_path, tiny_model_dir, executor="ray")
        except BaseException as exc:  # reported by the assertion below
            outcome["error"] = exc

    pool_log = logging.getLogger("pingce.ray")
    messages = _Messages()
    pool_log.addHandler(messages)
    pool_log.setLevel(logging.DEBUG)
    try:
        worker = threading.Thread(target=run)
        worker.start()
        killed = None
        deadline = time.monotonic() + 120
        while killed is None and worker.is_alive() and time.monotonic() < deadline:
            # Kill an actor as soon as it holds a chunk (a generation chunk takes ~1 s).
            sent = [m.split(" <- ")[0] for m in list(messages.lines) if " <- " in m]
            if sent:
                killed = sent[0]
                ray.kill(ray.get_actor(killed))
            time.sleep(0.01)
        worker.join(timeout=180)
    finally:
        pool_log.removeHandler(messages)
        pool_log.setLevel(logging.NOTSET)
    assert "error" not in outcome, outcome.get("error")
    assert killed is not None, "the run ended before an actor could be killed"
    assert any(m.startswith(f"{killed} died") for m in messages.lines), messages.lines
    # Its chunk was sent again, to another actor.
    assert sum(" <- " in m and "arithmetic" in m for m in messages.lines) > 2, messages.lines
    run_id = outcome["run_id"]
    scores, metrics = local_reference
    rows = records_as_dicts(store.records(run_id))
    assert store.get_run(run_id).status == "completed"
    assert len(rows) == len(scores) == store.count_records(run_id)
    assert len({r["key"] for r in rows}) == len(rows)  # no record twice
    assert _scores(store, run_id) == scores
    assert _metrics(store, run_id) == metrics


@pytest.fixture
def fault_server() -> Any:
    """tests/served/fault_server.py: answers each prompt with the text between << and >>."""
    import socket
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = Path(__file__).parents[1] / "served" / "fault_server.py"
    proc = subprocess.Popen([sys.executable, str(script), str(port)], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"

    def stats() -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/stats", timeout=10) as r:
            return json.loads(r.read())

    yield port, stats
    proc.terminate()
    proc.wait(timeout=10)


def test_served_subject_on_ray_shares_the_request_cache(local_ray, fault_server, tmp_path) -> None:
    """One API client per actor; the actors fill the driver's request cache, so a local
    rerun sends nothing (the server counts every answer it gives)."""
    port, stats = fault_server
    rows = [{"id": f"s{i}", "q": f"item {i} <<a{i}>>", "answer": f"a{i}"} for i in range(40)]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = {"standard": "llm", "name": "served", "tasks": [{
        "id": "gen", "type": "generative", "dataset": {"path": "d.jsonl"}, "prompt": "{{ q }}",
        "target": "answer", "generation": {"max_new_tokens": 4, "until": []}}]}  # fmt: skip
    store = open_store(f"sqlite:///{tmp_path / 'served.db'}")
    subject = f"openai://127.0.0.1:{port}/v1?model=m"
    runs = {}
    for executor in ("ray", "local"):
        request = RunRequest(
            suite=suite_from_dict(spec, "served", tmp_path), subject=subject,
            options={"concurrency": 2, "executor": executor},
        )  # fmt: skip
        runs[executor] = execute_run(store, request, show_progress=False)
    assert _scores(store, runs["ray"]) == _scores(store, runs["local"])
    assert all(s["exact_match"] == 1.0 for s in _scores(store, runs["ray"]).values())
    local = records_as_dicts(store.records(runs["local"]))
    assert len(local) == 40 and all(r["data"]["cached"] for r in local)
    assert set(stats()["successes"].values()) == {1}  # each prompt answered exactly once
