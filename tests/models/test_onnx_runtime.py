"""The one ONNX Runtime session factory (`pingce.models.onnx_runtime.ort_session`).

Reference: a one-node Gemm graph built with onnx.helper, whose output numpy computes
independently (x @ W.T + b); ORT's own session options are read back to check the settings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from pingce.core.errors import ModelError  # noqa: E402
from pingce.models.onnx_runtime import SessionError, ort_session  # noqa: E402

W = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
B = np.array([0.5, -1.0, 2.0], dtype=np.float32)


def _gemm(path: Path) -> Path:
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W", "B"], ["y"], transB=1)],
        "gemm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        [numpy_helper.from_array(W, "W"), numpy_helper.from_array(B, "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_session_runs_the_graph_like_numpy(tmp_path: Path) -> None:
    session = ort_session(_gemm(tmp_path / "g.onnx"), threads=2)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    (y,) = session.run(None, {"x": x})
    np.testing.assert_allclose(y, x @ W.T + B, rtol=1e-6, atol=1e-6)
    opts = session.get_session_options()
    assert opts.intra_op_num_threads == 2
    assert opts.inter_op_num_threads == 1
    assert session.get_providers() == ["CPUExecutionProvider"]


def test_serialized_bytes_and_optimisation_levels(tmp_path: Path) -> None:
    path = _gemm(tmp_path / "g.onnx")
    session = ort_session(path.read_bytes(), optimization="disable")
    level = session.get_session_options().graph_optimization_level
    assert level == ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    out = tmp_path / "optimised.onnx"
    ort_session(path, optimization="extended", optimized_model_path=out)
    assert onnx.load(str(out)).graph.node  # ORT wrote the graph it runs
    with pytest.raises(ModelError, match="unknown ONNX Runtime optimisation level 'max'"):
        ort_session(path, optimization="max")  # type: ignore[arg-type]


def test_bad_file_is_one_clear_model_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a protobuf")
    with pytest.raises(SessionError, match=r"^ONNX Runtime cannot load .*bad\.onnx: ") as info:
        ort_session(bad)
    assert isinstance(info.value, ModelError)
    assert info.value.reason and "\n" not in info.value.reason
    assert "\n" not in info.value.one_line()
    with pytest.raises(SessionError, match="cannot load my model"):
        ort_session(bad, what="my model")


def test_unknown_provider_names_what_is_available(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no execution provider NoSuchExecutionProvider") as info:
        ort_session(_gemm(tmp_path / "g.onnx"), providers=["NoSuchExecutionProvider"])
    assert "CPUExecutionProvider" in (info.value.hint or "")
