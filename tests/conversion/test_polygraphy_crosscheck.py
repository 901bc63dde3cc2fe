"""Cross-check against Polygraphy: for the same ONNX pair and inputs, pingce's max absolute and
relative errors and its pass/fail verdict equal those of `polygraphy run --onnxrt`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("polygraphy")
onnx = pytest.importorskip("onnx")

from pingce.conversion import numerics as nm  # noqa: E402
from pingce.models.datasets import load_data  # noqa: E402
from pingce.models.loaded import load_model  # noqa: E402


def _perturbed(src: Path, out: Path, scale: float) -> Path:
    """A copy of the model with the classifier weights scaled (a known numerical change)."""
    from onnx import numpy_helper

    model = onnx.load(str(src))
    for init in model.graph.initializer:
        if init.name.startswith("fc.weight"):
            arr = numpy_helper.to_array(init) * np.float32(scale)
            init.CopyFrom(numpy_helper.from_array(arr.astype(np.float32), init.name))
    onnx.save(model, str(out))
    return out


def _polygraphy(source: Path, target: Path, inputs: Path, workdir: Path, tol: float) -> dict:
    exe = shutil.which("polygraphy") or str(Path(sys.executable).parent / "polygraphy")
    common = ["--onnxrt", "--load-inputs", str(inputs)]
    saved = workdir / "source_outputs.json"
    subprocess.run(
        [exe, "run", str(source), *common, "--save-outputs", str(saved)],
        check=True,
        capture_output=True,
        text=True,
    )
    # The loaded (source) results are Polygraphy's reference: rel err = |t - s| / |s|.
    proc = subprocess.run(
        [
            exe,
            "run",
            str(target),
            *common,
            "--load-outputs",
            str(saved),
            "--atol",
            str(tol),
            "--rtol",
            str(tol),
            "--check-error-stat",
            "elemwise",
        ],
        capture_output=True,
        text=True,
    )
    log = proc.stdout + proc.stderr
    found = re.findall(
        r"Minimum Required Tolerance: elemwise error \| \[abs=([^\]]+)\] OR \[rel=([^\]]+)\]", log
    )
    assert found, log[-2000:]
    return {
        "max_abs": max(float(a) for a, _ in found),
        "max_rel": max(float(r) for _, r in found),
        "passed": proc.returncode == 0 and "PASSED" in log,
    }


@pytest.mark.parametrize(
    ("scale", "tol", "expected"), [(1.0 + 3e-7, 1e-5, True), (1.001, 1e-5, False)]
)
def test_errors_and_verdict_equal_polygraphy(
    digits_onnx: Path, tmp_path: Path, scale: float, tol: float, expected: bool
) -> None:
    from polygraphy.json import save_json

    target = _perturbed(digits_onnx, tmp_path / "target.onnx", scale)
    data = load_data("zoo:digits", ["x"]).take(16)
    batches = [data.batch(i, i + 8) for i in (0, 8)]  # two Polygraphy iterations
    save_json(batches, str(tmp_path / "inputs.json"))

    src, tgt = load_model(f"onnx:{digits_onnx}"), load_model(f"onnx:{target}")
    samples = []
    for feeds in batches:
        per = nm.compare_batch(src.run(feeds), tgt.run(feeds), tgt.output_names, rtol=tol, atol=tol)
        samples += [nm.combine_outputs(s) for s in per]
    ours = {
        "max_abs": max(s["max_abs"] for s in samples),
        "max_rel": max(s["max_rel"] for s in samples),
        "passed": all(s["allclose"] for s in samples),
    }
    theirs = _polygraphy(digits_onnx, target, tmp_path / "inputs.json", tmp_path, tol)
    # Polygraphy prints 5 significant digits
    assert ours["max_abs"] == pytest.approx(theirs["max_abs"], rel=1e-4)
    assert ours["max_rel"] == pytest.approx(theirs["max_rel"], rel=1e-4)
    assert ours["passed"] == theirs["passed"] == expected
