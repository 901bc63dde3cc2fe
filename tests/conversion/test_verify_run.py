"""Conversion verification through the shared pipeline: zoo success rate, the divergence
point of a corrupted layer, dynamic-shape failures, converters, the CLI and its errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from pingce.conversion.suite import verify_suite  # noqa: E402
from pingce.core.registry import load_plugins  # noqa: E402
from pingce.core.reporting import build_report_doc  # noqa: E402
from pingce.core.run import RunRequest, execute_run  # noqa: E402
from pingce.core.spec import suite_from_dict  # noqa: E402
from pingce.core.store import open_store  # noqa: E402


def _run(suite: dict, subject: str, options: dict, tmp_path: Path) -> dict:
    load_plugins()
    store = open_store(os.environ["PINGCE_DB"])
    run_id = execute_run(
        store,
        RunRequest(
            suite=suite_from_dict(suite, "test", tmp_path), subject=subject, options=options
        ),
        show_progress=False,
    )
    return build_report_doc(store, store.get_run(run_id))


def _section(doc: dict, suffix: str) -> dict:
    return next(s for s in doc["sections"] if s["id"].endswith(suffix))


def test_zoo_success_rate_with_clear_custom_op_failure(tmp_path: Path) -> None:
    suite = {
        "standard": "conversion",
        "name": "zoo",
        "tasks": [{"id": "zoo", "type": "conversion-zoo", "exporter": "torchscript", "opset": 17}],
    }
    doc = _run(suite, "zoo:all", {"workdir": str(tmp_path / "exports")}, tmp_path)
    rows = {r[0]: r for r in _section(doc, "-zoo")["table"]["rows"]}
    assert set(rows) == {"digits-cnn", "small-resnet", "transformer-encoder", "lstm", "custom-op"}
    assert rows["custom-op"][3] == "FAIL" and rows["custom-op"][4] == "export"
    assert "pingce_zoo::soft_clip" in rows["custom-op"][7]
    for name in ("digits-cnn", "small-resnet", "lstm"):
        assert rows[name][3] == "ok", rows[name]
    # The TorchScript exporter bakes the sequence length of the example into the attention
    # reshapes: another sequence length cannot run. A real finding, reported as a failure row.
    assert rows["transformer-encoder"][3] == "FAIL"
    assert rows["transformer-encoder"][4] == "run"
    assert doc["overall"]["score"] == pytest.approx(3 / 5)


def _corrupt(src: Path, out: Path, prefix: str) -> Path:
    from onnx import numpy_helper

    model = onnx.load(str(src))
    for init in model.graph.initializer:
        if init.name.startswith(prefix):
            arr = numpy_helper.to_array(init).copy()
            arr.flat[::7] += np.float32(0.5)
            init.CopyFrom(numpy_helper.from_array(arr, init.name))
    onnx.save(model, str(out))
    return out


def test_divergence_point_is_the_corrupted_layer(digits_onnx: Path, tmp_path: Path) -> None:
    bad = _corrupt(digits_onnx, tmp_path / "bad.onnx", "conv2.weight")
    suite = verify_suite(limit=64, batch_sizes=[1, 3])
    doc = _run(suite, f"onnx:{bad}", {"source": "zoo:digits-cnn", "data": "zoo:digits"}, tmp_path)
    layers = _section(doc, "-layers")
    assert "First diverging layer: conv2" in layers["text"]
    statuses = {row[1]: row[6] for row in layers["table"]["rows"]}
    assert statuses["conv1"] == "pass" and statuses["conv2"] == "FAIL"
    assert doc["extra"]["verdict"]["pass"] is False
    allclose = next(i for i in doc["indicators"] if i["id"] == "conv_allclose_rate")
    assert allclose["verdict"] == "fail"


def test_good_conversion_passes_and_dynamic_shape_failure_is_reported(
    digits_onnx: Path, tmp_path: Path
) -> None:
    from pingce.models.converters import convert
    from pingce.models.loaded import load_model

    static = tmp_path / "static.onnx"
    convert(load_model("zoo:digits-cnn"), static, to="onnx", exporter="torchscript", dynamic=False)
    options = {"source": "zoo:digits-cnn", "data": "zoo:digits"}
    good = _run(
        verify_suite(limit=40, batch_sizes=[1, 2]), f"onnx:{digits_onnx}", options, tmp_path
    )
    assert good["extra"]["verdict"]["pass"] is True
    assert "All outputs agree" in _section(good, "-layers")["text"]
    acc = {t["id"]: t for t in good["tasks"]}["numerics"]["metrics"]
    assert acc["conv_accuracy_delta"]["value"] == 0.0
    assert acc["conv_accuracy_source"]["value"] > 0.8  # the trained digits CNN

    # exported with a fixed batch of 2: batch 1 and 3 must fail as rows, not crash
    fixed = _run(verify_suite(limit=40, batch_sizes=[1, 2, 3]), f"onnx:{static}", options, tmp_path)
    rows = {r[0]: r for r in _section(fixed, "-shapes")["table"]["rows"]}
    assert rows[2][2] == "pass" and rows[1][2] == "FAIL" and rows[3][2] == "FAIL"
    assert fixed["extra"]["verdict"]["checks"]["dynamic shapes"] is False


def test_opset_and_ort_optimised_conversions_verify(digits_onnx: Path, tmp_path: Path) -> None:
    from pingce.conversion import numerics as nm
    from pingce.models.converters import convert
    from pingce.models.datasets import load_data
    from pingce.models.loaded import load_model

    src = load_model(f"onnx:{digits_onnx}")
    up = convert(src, tmp_path / "o19.onnx", to="onnx", opset=19)
    opt = convert(src, tmp_path / "ort.onnx", to="ort", level="extended")
    assert onnx.load(str(up.path)).opset_import[0].version == 19
    data = load_data("zoo:digits", ["x"]).take(32).inputs
    for path in (up.path, opt.path):
        tgt = load_model(f"onnx:{path}")
        per = nm.compare_batch(src.run(data), tgt.run(data), tgt.output_names, rtol=1e-4, atol=1e-5)
        assert all(nm.combine_outputs(s)["allclose"] for s in per)


def test_cli_verify_with_npz_and_user_errors(
    digits_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pingce.cli import main
    from pingce.models.datasets import load_data

    d = load_data("zoo:digits", ["x"]).take(24)
    npz = tmp_path / "digits.npz"
    np.savez(npz, x=d.inputs["x"], labels=d.labels)
    argv = [
        "pingce",
        "convert",
        "verify",
        "--source",
        "zoo:digits-cnn",
        "--target",
        str(digits_onnx),
        "--data",
        str(npz),
        "--perf-batches",
        "1,8",
        "--repeats",
        "5",
        "--batch-sizes",
        "1,4",
        "--report-dir",
        str(tmp_path / "reports"),
        "-q",
    ]
    old = os.sys.argv
    os.sys.argv = argv
    try:
        main()
    except SystemExit as exc:
        assert exc.code in (None, 0)
    finally:
        os.sys.argv = old
    report = next((tmp_path / "reports").rglob("report.json"))
    doc = json.loads(report.read_text())
    perf = _section(doc, "-latency")
    assert len(perf["table"]["rows"]) == 2
    assert any("significant" in n for n in doc["notes"])

    for bad, expect in (
        (["--target", str(tmp_path / "missing.onnx")], "does not exist"),
        (["--target", str(digits_onnx), "--data", str(tmp_path / "nope.npz")], "does not exist"),
        (["--target", str(digits_onnx), "--repeats", "2"], "--repeats must be at least 5"),
    ):
        os.sys.argv = ["pingce", "convert", "verify", "--source", "zoo:digits-cnn", *bad]
        with pytest.raises(SystemExit) as info:
            main()
        os.sys.argv = old
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert expect in err and "Traceback" not in err
