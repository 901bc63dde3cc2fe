"""Shared fixtures: the digits CNN exported once per session (TorchScript exporter: fast)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def digits_onnx(tmp_path_factory: pytest.TempPathFactory, pingce_cache: Path) -> Path:
    pytest.importorskip("onnxruntime")
    mp = pytest.MonkeyPatch()
    mp.setenv("PINGCE_CACHE", str(pingce_cache))
    try:
        from pingce.models.converters import convert
        from pingce.models.loaded import load_model

        out = tmp_path_factory.mktemp("onnx") / "digits-cnn.onnx"
        convert(load_model("zoo:digits-cnn"), out, to="onnx", exporter="torchscript", opset=17)
        return out
    finally:
        mp.undo()
