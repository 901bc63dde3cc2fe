"""`pingce perf infer` end to end: torch, ONNX Runtime, Python callable and HTTP SUTs through
the shared pipeline (store, resume, report), plus the demo step."""

from __future__ import annotations

import json
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pingce.cli import app
from pingce.core.errors import PingceError
from pingce.core.run import RunRequest, execute_run
from pingce.core.spec import parse_subject, suite_from_dict
from pingce.core.store import open_store
from pingce.perf.cli import infer_suite
from pingce.perf.sut import OnnxSUT, open_sut
from pingce.perf.workloads import digits_model

torch = pytest.importorskip("torch")

QUICK = {"min_duration_s": 0.2, "min_query_count": 64}


def _run(subject: str, suite: dict, options: dict | None = None) -> tuple[str, dict]:
    from pingce.core.reporting import build_report_doc

    store = open_store()
    s = suite_from_dict(suite, "test", Path.cwd())
    req = RunRequest(suite=s, subject=subject, standard="server-perf", options=options or {})
    run_id = execute_run(store, req, show_progress=False)
    return run_id, build_report_doc(store, store.get_run(run_id))


def _conformance(doc: dict) -> dict[str, list]:
    return {row[0]: row for row in doc["extra"]["conformance"]}


def test_builtin_digits_accuracy_offline_single_stream_and_resume() -> None:
    model, data = digits_model()
    suite = infer_suite(["offline", "single-stream"], **QUICK)
    run_id, doc = _run("builtin:digits", suite, {"batch_size": 64})
    conf = _conformance(doc)
    assert conf["accuracy"][5] == "VALID"
    assert conf["offline"][5] == "VALID" and conf["single-stream"][5] == "VALID"
    # Reference for the accuracy run: the same torch model evaluated directly.
    with torch.inference_mode():
        direct = (model(torch.from_numpy(data.inputs)).argmax(1).numpy() == data.labels).mean()
    acc = next(t for t in doc["tasks"] if t["id"] == "accuracy")
    assert acc["metrics"]["perf_accuracy"]["value"] == pytest.approx(direct)
    ids = {s["id"] for s in doc["sections"]}
    assert {"conformance", "latency", "energy", "inventory"} <= ids
    from pingce.core.report.render import validate_report

    validate_report(doc)
    # Resume recomputes nothing: the record count stays the same.
    store = open_store()
    before = store.count_records(run_id)
    assert execute_run(store, resume=run_id, show_progress=False) == run_id
    assert store.count_records(run_id) == before == 3


def test_onnx_runtime_sut_matches_torch(tmp_path: Path) -> None:
    model, data = digits_model()
    path = tmp_path / "digits.onnx"
    x = torch.from_numpy(data.inputs[:2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (x,),
            str(path),
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
            dynamo=False,
        )
    sut = OnnxSUT(path, batch_size=64, threads=1)
    with torch.inference_mode():
        ref = model(torch.from_numpy(data.inputs)).numpy()
    # Reference: torch's own outputs on the same inputs.
    assert np.allclose(sut.predict(data.inputs), ref, atol=1e-4)
    suite = infer_suite(["server"], target_qps=100, latency_bound_ms=300, **QUICK)
    suite["tasks"][1]["min_query_count"] = 459
    _, doc = _run(f"onnx:{path}?data=digits&threads=1", suite)
    conf = _conformance(doc)
    assert conf["accuracy"][5] == "VALID" and conf["server"][5] == "VALID", conf
    assert any(s["id"] == "scheduling" for s in doc["sections"])
    with pytest.raises(PingceError, match="no execution provider"):
        OnnxSUT(path, providers=["NoSuchExecutionProvider"])


def _digits_http_server() -> tuple[ThreadingHTTPServer, str]:
    model, _ = digits_model()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with torch.inference_mode():
                out = model(torch.tensor(body["inputs"], dtype=torch.float32)).tolist()
            payload = json.dumps({"outputs": out}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/predict"


def test_http_endpoint_sut() -> None:
    server, url = _digits_http_server()
    try:
        suite = infer_suite(["single-stream"], **QUICK)
        _, doc = _run(f"{url}?data=digits", suite, {"batch_size": 128})
        conf = _conformance(doc)
        assert conf["accuracy"][5] == "VALID" and conf["single-stream"][5] == "VALID"
        ss = next(t for t in doc["tasks"] if t["id"] == "single-stream")
        assert ss["metrics"]["perf_latency_p90_ms"]["n"] >= 64
    finally:
        server.shutdown()


def test_python_callable_sut_and_wrong_model_is_invalid(tmp_path: Path) -> None:
    mod = tmp_path / "always_zero.py"
    mod.write_text(
        "import numpy as np\n"
        "def predict(batch):\n"
        "    out = np.zeros((len(batch), 10)); out[:, 0] = 1.0; return out\n"
    )
    suite = infer_suite(["offline"], min_duration_s=0.1)
    _, doc = _run(f"python:{mod}:predict?data=digits", suite)
    conf = _conformance(doc)
    # Always predicting 0 scores about 10% on digits: far below 99% of the reference.
    assert conf["accuracy"][5] == "INVALID"
    assert conf["offline"][5] == "INVALID" and "accuracy gate failed" in conf["offline"][6]


def test_server_qps_search_finds_a_valid_rate() -> None:
    # A generous bound: the test machine is shared and busy; the search logic is what is tested.
    suite = infer_suite(
        [],
        accuracy=False,
        latency_bound_ms=200.0,
        search=True,
        min_duration_s=0.3,
        min_query_count=64,
    )
    suite["tasks"][0].update(steps=2, qps_low=100, qps_high=800, percentile=0.9)
    _, doc = _run("builtin:digits", suite)
    task = doc["tasks"][0]
    assert task["metrics"]["perf_max_valid_qps"]["value"] >= 100
    load = next(s for s in doc["sections"] if s["id"] == "load")
    assert [r[1] for r in load["table"]["rows"]] == sorted(r[1] for r in load["table"]["rows"])
    assert len(load["table"]["rows"]) == 3


def test_bad_subjects_are_one_line_errors(tmp_path: Path) -> None:
    for spec, msg in [
        ("nosuch:thing", "no 'nosuch' SUT"),
        ("builtin:alexnet", "unknown built-in workload"),
        (f"onnx:{tmp_path / 'missing.onnx'}", "does not exist"),
        ("python:nomodule_xyz:fn", "cannot import"),
        ("builtin:digits?data=x.npz", None),
    ]:
        if msg is None:
            continue
        with pytest.raises(PingceError, match=msg):
            open_sut(parse_subject(spec), {})
    bad = tmp_path / "bad.npz"
    np.savez(bad, labels=np.zeros(3))
    with pytest.raises(PingceError, match="no 'inputs' array"):
        open_sut(parse_subject(f"python:numpy:asarray?data={bad}"), {})


def test_cli_infer_and_user_error(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "perf",
            "infer",
            "--model",
            "builtin:digits",
            "-s",
            "offline",
            "--min-duration",
            "0.2",
            "--report-dir",
            str(tmp_path),
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    assert list(tmp_path.glob("*/report.html"))
    res = runner.invoke(app, ["perf", "infer", "-s", "server", "--report-dir", str(tmp_path)])
    # pingce.cli.main prints a PingceError as one line and exits 2; the runner hands it back.
    assert isinstance(res.exception, PingceError), repr(res.exception)
    assert "target_qps" in res.exception.one_line()


def test_demo_step(tmp_path: Path) -> None:
    from rich.console import Console

    from pingce.core.demo import DemoContext
    from pingce.perf.demo import run_perf_demo

    ctx = DemoContext(open_store(), tmp_path, Console(quiet=True), quiet=True)
    run_id = run_perf_demo(ctx)
    row = open_store().get_run(run_id)
    assert row.status == "completed"
    assert {r["task"] for r in [{"task": x.task} for x in open_store().records(run_id)]} == {
        "accuracy",
        "offline",
        "single-stream",
    }
