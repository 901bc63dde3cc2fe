"""Model subjects: pickle (only when trusted), ONNX, a Python callable and an HTTP endpoint
all give the same predictions as the scikit-learn model they wrap."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from pingce.core.errors import ModelError, SpecError
from pingce.core.spec import parse_subject
from pingce.steel.generator import FEATURES, TARGETS
from pingce.steel.models import open_model


def _expected(models, frame):  # type: ignore[no-untyped-def]
    return {t: m.predict(frame[list(FEATURES)]) for t, m in models.items()}


def _clean(heats):  # type: ignore[no-untyped-def]
    return heats.dropna(subset=list(FEATURES)).head(40).reset_index(drop=True)


def test_pickle_is_refused_unless_trusted(linear_pickle: Path, linear_models, heats) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpecError, match="refusing without --trust-pickle"):
        open_model(parse_subject(f"pickle:{linear_pickle}"), {})
    model = open_model(parse_subject(f"pickle:{linear_pickle}"), {"trust_pickle": True})
    frame = _clean(heats)
    got, want = model.predict(frame), _expected(linear_models, frame)
    for t in TARGETS:
        np.testing.assert_allclose(got[t], want[t])
    trusted_by_param = open_model(parse_subject(f"pickle:{linear_pickle}?trust=yes"), {})
    assert trusted_by_param.feature_names() == list(FEATURES)


def test_pickle_of_something_else_is_one_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.pkl"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(ModelError, match="not a readable pickle"):
        open_model(parse_subject(f"pickle:{bad}"), {"trust_pickle": True})


def _onnx_linear(models, path: Path) -> None:  # type: ignore[no-untyped-def]
    """A linear model as ONNX by hand: Y = X·W + b, one column per target."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.column_stack([models[t].coef_ for t in TARGETS]).astype(np.float32)
    b = np.array([models[t].intercept_ for t in TARGETS], dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["X", "W"], ["XW"]),
            helper.make_node("Add", ["XW", "B"], ["Y"]),
        ],
        "linear",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, len(FEATURES)])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, len(TARGETS)])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, {"features": ",".join(FEATURES), "targets": ",".join(TARGETS)})
    model.ir_version = 8
    onnx.save(model, path)


def test_onnx_matches_sklearn(tmp_path: Path, linear_models, heats) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("onnxruntime")
    path = tmp_path / "linear.onnx"
    _onnx_linear(linear_models, path)
    model = open_model(parse_subject(f"onnx:{path}"), {})
    frame = _clean(heats)
    got, want = model.predict(frame), _expected(linear_models, frame)
    np.testing.assert_allclose(got["endpoint_temp_c"], want["endpoint_temp_c"], atol=0.05)
    np.testing.assert_allclose(got["endpoint_c_pct"], want["endpoint_c_pct"], atol=1e-3)


def test_python_callable_from_a_file_with_intervals(tmp_path: Path, heats) -> None:  # type: ignore[no-untyped-def]
    code = (
        "def predict(frame):\n"
        "    t = 1650.0 + 0.0 * frame['hm_temp_c']\n"
        "    return {'endpoint_temp_c': t, 'endpoint_temp_c_lo': t - 5, 'endpoint_temp_c_hi': t + 5}\n"
    )
    (tmp_path / "mymodel.py").write_text(code, encoding="utf-8")
    model = open_model(parse_subject(f"python:{tmp_path / 'mymodel.py'}:predict"), {})
    got = model.predict(_clean(heats))
    assert set(got) == {"endpoint_temp_c", "endpoint_temp_c_lo", "endpoint_temp_c_hi"}
    assert got["endpoint_temp_c_hi"][0] == 1655.0
    with pytest.raises(ModelError, match="has no function 'nope'"):
        open_model(parse_subject(f"python:{tmp_path / 'mymodel.py'}:nope"), {})


class _Handler(BaseHTTPRequestHandler):
    models: dict = {}
    mode = "ok"

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        import pandas as pd

        frame = pd.DataFrame(body["heats"], columns=body["features"])
        if self.mode == "ok":
            preds = {t: m.predict(frame).tolist() for t, m in self.models.items()}
            answer = {"predictions": [{t: preds[t][i] for t in preds} for i in range(len(frame))]}
        elif self.mode == "short":
            answer = {"predictions": [{"endpoint_temp_c": 1650.0}]}
        else:
            answer = {"predictions": [{"endpoint_temp_c": "hot"} for _ in range(len(frame))]}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server(linear_models) -> Iterator[tuple[str, type[_Handler]]]:  # type: ignore[no-untyped-def]
    handler = type("H", (_Handler,), {"models": linear_models, "mode": "ok"})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/predict", handler
    finally:
        srv.shutdown()
        thread.join(timeout=10)


def test_http_endpoint_matches_sklearn_and_bad_answers_are_errors(
    server, linear_models, heats
) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("httpx")
    url, handler = server
    model = open_model(parse_subject(url + "?timeout=20"), {})
    frame = _clean(heats)
    got, want = model.predict(frame), _expected(linear_models, frame)
    np.testing.assert_allclose(got["endpoint_temp_c"], want["endpoint_temp_c"])
    handler.mode = "short"
    with pytest.raises(ModelError, match="has 1 values for 40 heats"):
        model.predict(frame)
    handler.mode = "text"
    with pytest.raises(ModelError, match="'hot' is not a number"):
        model.predict(frame)


@pytest.mark.parametrize("package", ["lightgbm", "xgboost"])
def test_gradient_boosting_packages_load_from_pickles(package: str, tmp_path: Path, heats) -> None:  # type: ignore[no-untyped-def]
    """LightGBM/XGBoost are optional: the test runs where the package is installed."""
    lib = pytest.importorskip(package)
    import pickle

    frame = heats.dropna(subset=list(FEATURES))
    est = (
        lib.LGBMRegressor(n_estimators=20, verbose=-1)
        if package == "lightgbm"
        else lib.XGBRegressor(n_estimators=20)
    )
    est.fit(frame[list(FEATURES)], frame["endpoint_temp_c"])
    path = tmp_path / "gb.pkl"
    path.write_bytes(pickle.dumps({"endpoint_temp_c": est}))
    model = open_model(parse_subject(f"pickle:{path}"), {"trust_pickle": True})
    np.testing.assert_allclose(
        model.predict(frame.head(10))["endpoint_temp_c"],
        est.predict(frame[list(FEATURES)].head(10)),
        rtol=1e-5,
    )
