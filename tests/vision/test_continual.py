"""Continual-learning metrics on hand matrices, against hand-computed values and against a
re-implementation of Avalanche's bookkeeping (avalanche-lib cannot be installed here: it pulls
torch 2.14.1). Avalanche's `GenericStreamForgetting` keeps, per experience k, the accuracy at
its first evaluation after training on k (`initial`) and at the latest evaluation (`last`),
and reports mean(initial - last) over experiences other than the one trained last;
`forgetting_to_bwt` negates it; `StreamForwardTransfer` reports mean over k of (accuracy on
k evaluated right after training k-1) - (accuracy on k before any training)."""

from __future__ import annotations

import numpy as np
import pytest

from pingce.vision.continual import cl_metrics, make_stream

R = np.array([[0.9, 0.1, 0.2], [0.5, 0.8, 0.3], [0.4, 0.6, 0.7]])
B = np.array([0.1, 0.2, 0.3])


def test_hand_matrix() -> None:
    m = cl_metrics(R, B)
    assert m["cl_average_accuracy"] == pytest.approx((0.4 + 0.6 + 0.7) / 3)
    assert m["cl_avg_incremental_accuracy"] == pytest.approx((0.9 + 0.65 + 1.7 / 3) / 3)
    assert m["cl_forgetting"] == pytest.approx((0.5 + 0.2) / 2)
    assert m["cl_bwt"] == pytest.approx(-0.35)
    assert m["cl_fwt"] == pytest.approx(((0.1 - 0.2) + (0.3 - 0.3)) / 2)
    assert m["cl_plasticity"] == pytest.approx(0.8)


def _avalanche_style(r: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Stream forgetting and forward transfer by Avalanche's update protocol."""
    initial: dict[int, float] = {}
    last: dict[int, float] = {}
    before: dict[int, float] = dict(enumerate(b))  # evaluation at init
    previous: dict[int, float] = {}
    trained = -1
    for i in range(r.shape[0]):
        trained = i
        for k in range(r.shape[1]):
            acc = r[i, k]
            if k == trained and k not in initial:
                initial[k] = acc
            last[k] = acc
            if k == trained + 1:
                previous[k] = acc
    forgetting = np.mean([initial[k] - last[k] for k in initial if k != trained])
    fwt = np.mean([previous[k] - before[k] for k in previous])
    return float(forgetting), float(fwt)


@pytest.mark.parametrize("seed", range(5))
def test_matches_avalanche_bookkeeping_on_random_matrices(seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = int(rng.integers(2, 7))
    r, b = rng.random((t, t)), rng.random(t)
    forgetting, fwt = _avalanche_style(r, b)
    m = cl_metrics(r, b)
    assert m["cl_forgetting"] == pytest.approx(forgetting)
    assert m["cl_bwt"] == pytest.approx(-forgetting)
    assert m["cl_fwt"] == pytest.approx(fwt)


def test_streams_are_seeded_and_split_as_specified() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((200, 3, 8, 8)).astype(np.float32)
    y = np.repeat(np.arange(10), 20)
    a = make_stream(x, y, "class-incremental", 5, seed=3)
    b = make_stream(x, y, "class-incremental", 5, seed=3)
    assert [e.classes for e in a] == [e.classes for e in b]
    assert sorted(c for e in a for c in e.classes) == list(range(10))
    assert all(set(np.unique(e.train_y)) == set(e.classes) for e in a)
    assert sum(len(e.test_y) for e in a) == 60  # 30 % of 20 per class
    d = make_stream(x, y, "domain-incremental", 4, seed=3)
    assert all(e.classes == tuple(range(10)) for e in d)
    assert sum(len(e.train_y) + len(e.test_y) for e in d) == 200
    with pytest.raises(Exception, match="only 10 classes"):
        make_stream(x, y, "class-incremental", 11, seed=0)


def test_label_budget_curves(tmp_path) -> None:
    """Active-learning curves: each budget learns from round(budget x n) labels per experience
    (a hand count over the stored split sizes); label efficiency recomputed from the record."""
    import yaml

    from pingce.core.errors import SpecError
    from pingce.core.reporting import build_report_doc
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.store import open_store, records_as_dicts
    from pingce.vision.continual import label_efficiency

    task = {
        "id": "al",
        "type": "vision.continual",
        "n_experiences": 2,
        "limit": 400,
        "label_budgets": [0.3, 0.1],
    }
    suite = tmp_path / "al.yaml"
    suite.write_text(yaml.safe_dump({"standard": "vision", "name": "al", "tasks": [task]}))
    store = open_store()
    run_id = execute_run(
        store, RunRequest(suite=str(suite), subject="learner:replay"), show_progress=False
    )
    rec = records_as_dicts(store.records(run_id))[0]
    curves = rec["data"]["budgets"]
    assert [(c["strategy"], c["budget"]) for c in curves] == [
        ("margin", 0.1),
        ("margin", 0.3),
        ("random", 0.1),
        ("random", 0.3),
    ]
    for c in curves:
        assert c["labels"] == sum(max(1, round(c["budget"] * n)) for n in rec["data"]["n_train"])
        assert c["used"] == c["strategy"]  # the reference learner gives scores: margin is used
    expected = label_efficiency(curves, rec["scores"]["cl_average_accuracy"], "margin")
    assert rec["scores"]["cl_label_efficiency"] == pytest.approx(expected)
    doc = build_report_doc(store, store.get_run(run_id))
    assert doc["tasks"][0]["metrics"]["cl_label_efficiency"]["value"] == pytest.approx(expected)
    assert any(s["id"] == "al-label-budget" for s in doc["sections"])
    suite.write_text(
        yaml.safe_dump(
            {"standard": "vision", "name": "al", "tasks": [{**task, "label_budgets": [1.5]}]}
        )
    )
    with pytest.raises(SpecError, match="label_budgets: Value error, label budgets are shares"):
        execute_run(
            store, RunRequest(suite=str(suite), subject="learner:replay"), show_progress=False
        )


def test_http_learner_gives_the_in_process_figures(tmp_path) -> None:
    """The reference naive learner behind a real HTTP server on 127.0.0.1 (/setup, /learn,
    /predict): the same accuracy matrix as learner:naive in process."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import yaml

    from pingce.core.run import RunRequest, execute_run
    from pingce.core.store import open_store, records_as_dicts
    from pingce.vision.continual import SoftmaxLearner

    state: dict[str, SoftmaxLearner] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == "/setup":
                state["l"] = SoftmaxLearner()
                state["l"].setup(body["n_classes"], body["input_shape"], body["seed"])
                out: dict = {}
            elif self.path == "/learn":
                state["l"].learn(np.asarray(body["x"], dtype=np.float32), np.asarray(body["y"]))
                out = {}
            else:
                out = {
                    "labels": state["l"]
                    .predict(np.asarray(body["x"], dtype=np.float32))
                    .argmax(1)
                    .tolist()
                }
            data = json.dumps(out).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    suite = tmp_path / "h.yaml"
    task = {
        "id": "h",
        "type": "vision.continual",
        "n_experiences": 2,
        "limit": 200,
        "image_size": [16, 16],
    }
    suite.write_text(yaml.safe_dump({"standard": "vision", "name": "h", "tasks": [task]}))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    store = open_store()
    try:
        remote = execute_run(
            store,
            RunRequest(
                suite=str(suite), subject=f"learner:http://127.0.0.1:{server.server_address[1]}"
            ),
            show_progress=False,
        )
    finally:
        server.shutdown()
        thread.join(timeout=10)
    local = execute_run(
        store, RunRequest(suite=str(suite), subject="learner:naive"), show_progress=False
    )
    a, b = (records_as_dicts(store.records(r))[0]["data"] for r in (remote, local))
    np.testing.assert_allclose(a["matrix"], b["matrix"], atol=1e-6)
    np.testing.assert_allclose(a["initial"], b["initial"], atol=1e-6)
