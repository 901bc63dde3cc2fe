"""Conversion pairs from every torch source format: exit codes for CI gating, input names that
differ between source and converted model, the divergence report for TorchScript and .pt2
sources, and exporter errors that name the source format.

References: the corrupted layer is known (conv2's weights are changed by hand); Polygraphy's
`run` exits non-zero on a failed comparison, which `pingce convert verify` now mirrors.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")

from pingce.conversion.input_map import match_inputs, parse_input_map  # noqa: E402
from pingce.core.errors import SpecError  # noqa: E402


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


def _rename_input(src: Path, out: Path, new: str) -> Path:
    model = onnx.load(str(src))
    old = model.graph.input[0].name
    model.graph.input[0].name = new
    for node in model.graph.node:
        node.input[:] = [new if i == old else i for i in node.input]
    onnx.save(model, str(out))
    return out


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The digits CNN as TorchScript whose argument is named `input` (as a TorchScript archive
    saved from `forward(self, input)` is), and as a torch.export .pt2 program."""
    from pingce.models.datasets import load_data
    from pingce.models.loaded import load_model

    folder = tmp_path_factory.mktemp("sources")
    inner = load_model("zoo:digits-cnn").module

    class Named(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = inner

        def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 - the point
            return self.net(input)

    x = torch.from_numpy(load_data("zoo:digits", ["x"]).take(4).inputs["x"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.trace(Named().eval(), (x,)), str(folder / "digits.ts.pt"))
        batch = torch.export.Dim("batch", min=1, max=4096)
        program = torch.export.export(inner, (x,), dynamic_shapes={"x": {0: batch}})
    torch.export.save(program, str(folder / "digits.pt2"))
    return {
        "torchscript": f"torchscript:{folder / 'digits.ts.pt'}",
        "export": str(folder / "digits.pt2"),
    }


def _verify(pingce_cli, tmp_path: Path, source: str, target: Path, *extra: str):
    reports = tmp_path / "reports"
    proc = pingce_cli(
        [
            "convert",
            "verify",
            "--source",
            source,
            "--target",
            str(target),
            "--data",
            "zoo:digits",
            "--limit",
            "32",
            "--batch-sizes",
            "1,3",
            "--perf-batches",
            "",
            "--report-dir",
            str(reports),
            "-q",
            *extra,
        ],
        cwd=tmp_path,
    )
    docs = sorted(reports.glob("*/report.json"), key=lambda p: p.stat().st_mtime)
    return proc, (json.loads(docs[-1].read_text()) if docs else None)


def _layers(doc: dict) -> dict:
    return next(s for s in doc["sections"] if s["id"].endswith("-layers"))


def test_fail_verdict_exits_1_and_pass_exits_0(digits_onnx: Path, tmp_path: Path, pingce_cli):
    proc, doc = _verify(pingce_cli, tmp_path, "zoo:digits-cnn", digits_onnx)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert doc["extra"]["verdict"]["pass"] is True
    bad = _corrupt(digits_onnx, tmp_path / "bad.onnx", "conv2.weight")
    proc, doc = _verify(pingce_cli, tmp_path, "zoo:digits-cnn", bad)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert doc["extra"]["verdict"]["pass"] is False
    assert "verdict: FAIL (exit code 1)" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_single_input_pair_with_different_names_maps_by_position(
    sources: dict[str, str], digits_onnx: Path, tmp_path: Path, pingce_cli
) -> None:
    """TorchScript `input` vs ONNX `x` (the usual torch.onnx.export naming) used to be refused."""
    proc, doc = _verify(pingce_cli, tmp_path, sources["torchscript"], digits_onnx)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert any("Inputs matched by position" in n and "input → x" in n for n in doc["notes"])
    numerics = {t["id"]: t for t in doc["tasks"]}["numerics"]["metrics"]
    assert numerics["conv_allclose_rate"]["value"] == 1.0
    # ONNX → ONNX with renamed input, mapped explicitly
    renamed = _rename_input(digits_onnx, tmp_path / "renamed.onnx", "pixels")
    proc, doc = _verify(pingce_cli, tmp_path, str(digits_onnx), renamed, "--input-map", "x=pixels")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert any("Inputs matched by explicit" in n and "x → pixels" in n for n in doc["notes"])
    proc, _ = _verify(pingce_cli, tmp_path, str(digits_onnx), renamed, "--input-map", "x=nope")
    assert proc.returncode == 2
    assert "the converted model has no input 'nope'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_match_inputs_rules() -> None:
    assert match_inputs(["a", "b"], ["b", "a"]) == ({"b": "b", "a": "a"}, "names")
    assert match_inputs(["input"], ["x"]) == ({"x": "input"}, "position")
    with pytest.raises(SpecError, match="more than one input"):
        match_inputs(["a", "b"], ["x", "y"])
    got = match_inputs(["a", "b"], ["x", "y"], parse_input_map("a=y, b=x"))
    assert got == ({"y": "a", "x": "b"}, "explicit")
    # names shared on both sides need no entry; a missing one is an error
    assert match_inputs(["a", "m"], ["x", "m"], {"a": "x"})[0] == {"x": "a", "m": "m"}
    with pytest.raises(SpecError, match="nothing feeds"):
        match_inputs(["a", "b"], ["x", "y"], {"a": "x"})
    with pytest.raises(SpecError, match="not SRC=DST"):
        parse_input_map("a")
    with pytest.raises(SpecError, match="mapped twice"):
        parse_input_map("a=x,a=y")


def test_divergence_report_for_export_source_finds_the_corrupted_layer(
    sources: dict[str, str], digits_onnx: Path, tmp_path: Path, pingce_cli
) -> None:
    """A .pt2 source's module outputs come from torch.fx.Interpreter (no hooks to register)."""
    proc, doc = _verify(pingce_cli, tmp_path, sources["export"], digits_onnx)
    assert proc.returncode == 0, proc.stderr[-2000:]
    layers = _layers(doc)
    names = [row[1] for row in layers["table"]["rows"]]
    assert {"conv1", "conv2", "fc"} <= set(names)
    assert "All outputs agree" in layers["text"]
    bad = _corrupt(digits_onnx, tmp_path / "bad.onnx", "conv2.weight")
    proc, doc = _verify(pingce_cli, tmp_path, sources["export"], bad)
    assert proc.returncode == 1
    layers = _layers(doc)
    assert "First diverging layer: conv2" in layers["text"]
    statuses = {row[1]: row[6] for row in layers["table"]["rows"]}
    assert statuses["conv1"] == "pass" and statuses["conv2"] == "FAIL"


def test_divergence_report_for_torchscript_source_says_why_not(
    sources: dict[str, str], digits_onnx: Path, tmp_path: Path, pingce_cli
) -> None:
    proc, doc = _verify(pingce_cli, tmp_path, sources["torchscript"], digits_onnx)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = _layers(doc)["text"]
    assert text.startswith("No layer-by-layer comparison: the source is TorchScript")
    assert "register_forward_hook" not in json.dumps(doc)


def test_exporter_that_cannot_take_the_source_format_is_named(
    sources: dict[str, str], tmp_path: Path, pingce_cli
) -> None:
    """Not "the model uses an operator the exporter cannot translate"."""
    for source, exporter, expect in (
        (sources["torchscript"], "dynamo", "is a TorchScript archive"),
        (sources["export"], "torchscript", "is a torch.export program"),
    ):
        proc = pingce_cli(
            ["convert", source, "--exporter", exporter, "--out", str(tmp_path / "o.onnx")],
            cwd=tmp_path,
        )
        assert proc.returncode == 2
        assert expect in proc.stderr and "operator" not in proc.stderr
        assert "Traceback" not in proc.stderr
    # without --exporter, each format gets the exporter that can take it
    proc = pingce_cli(
        [
            "convert",
            sources["torchscript"],
            "--out",
            str(tmp_path / "ts.onnx"),
            "--data",
            "zoo:digits",
            "--no-verify",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "(torchscript)" in proc.stdout


def test_torchscript_source_names_its_input_input(sources: dict[str, str]) -> None:
    from pingce.models.loaded import load_model

    assert load_model(sources["torchscript"]).input_names == ["input"]
