"""Compression recipes on every torch baseline format, and size figures against hand counts.

References: the digits CNN's parameters counted by hand (conv1 8·1·3·3 + 8, conv2 16·8·3·3 + 16,
fc 10·256 + 10 = 3,818), file sizes from `os.path.getsize`, non-zero counts from numpy on the
weights torch itself unpacks (`torch.ops.quantized.*_unpack`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from pingce.compression.compressors import compress, parse_recipes  # noqa: E402
from pingce.compression.size import size_report  # noqa: E402
from pingce.core.errors import SpecError  # noqa: E402
from pingce.models.datasets import load_data  # noqa: E402
from pingce.models.loaded import load_model  # noqa: E402

DIGITS_PARAMS = (8 * 1 * 3 * 3 + 8) + (16 * 8 * 3 * 3 + 16) + (10 * 256 + 10)


@pytest.fixture(scope="module")
def digits() -> tuple:
    return load_model("zoo:digits-cnn"), load_data("zoo:digits", ["x"])


@pytest.fixture(scope="module")
def frozen_baselines(digits: tuple, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The digits CNN saved as TorchScript and as a torch.export program."""
    base, data = digits
    folder = tmp_path_factory.mktemp("frozen")
    x = torch.from_numpy(data.take(4).inputs["x"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.trace(base.module, (x,)), str(folder / "digits.ts.pt"))
        batch = torch.export.Dim("batch", min=1, max=4096)
        program = torch.export.export(base.module, (x,), dynamic_shapes={"x": {0: batch}})
    torch.export.save(program, str(folder / "digits.pt2"))
    return {
        "torchscript": f"torchscript:{folder / 'digits.ts.pt'}",
        "export": str(folder / "digits.pt2"),
    }


def _load(path: Path) -> object:
    return load_model(str(path) if path.suffix == ".onnx" else f"torchscript:{path}")


def test_digits_parameters_hand_count(digits: tuple) -> None:
    base, _ = digits
    sizes = size_report(base)
    assert sizes["parameters"] == DIGITS_PARAMS == 3818


@pytest.mark.parametrize(
    "recipe",
    [
        "int8-dynamic",
        "int8-static",
        "int8-dynamic-ort",
        "int8-static-ort",
        "fp16",
        "weight-int8",
        "weight-int4:group=32",
        "prune-magnitude:amount=0.5",
    ],
)
def test_parameter_count_survives_every_recipe(digits: tuple, tmp_path: Path, recipe: str) -> None:
    """Quantising or zeroing weights keeps their number: the params ratio is 1.0 (it was 14.95×
    for dynamic INT8 and 3,818× for static INT8 when packed weights went uncounted)."""
    base, data = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = compress(base, parse_recipes(recipe)[0], data, tmp_path)
    sizes = size_report(_load(path))
    assert sizes["parameters"] == DIGITS_PARAMS
    assert sizes["file_bytes"] == os.path.getsize(path)
    assert 0 < sizes["nonzero_parameters"] <= DIGITS_PARAMS


def test_static_int8_torchscript_nonzero_matches_unpacked_weights(
    digits: tuple, tmp_path: Path
) -> None:
    """Non-zero count against the integer codes torch itself unpacks from the packed params."""
    base, data = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = compress(base, parse_recipes("int8-static")[0], data, tmp_path)
    m = _load(path).module
    conv = [
        torch.ops.quantized.conv2d_unpack(getattr(m, c)._packed_params) for c in ("conv1", "conv2")
    ]
    fc = torch.ops.quantized.linear_unpack(m.fc._packed_params._packed_params)
    expected = sum(
        int(np.count_nonzero(w.int_repr().numpy())) + int(np.count_nonzero(b.detach().numpy()))
        for w, b in [*conv, fc]
    )
    assert size_report(_load(path))["nonzero_parameters"] == expected


@pytest.mark.parametrize("fmt", ["torchscript", "export"])
@pytest.mark.parametrize(
    "recipe", ["int8-dynamic", "int8-static", "prune-magnitude", "prune-channels", "weight-int8"]
)
def test_layer_recipes_refuse_frozen_baselines(
    frozen_baselines: dict[str, str], digits: tuple, tmp_path: Path, fmt: str, recipe: str
) -> None:
    """They used to return the unquantised model ("score 1.000, budget pass") or crash."""
    _, data = digits
    model = load_model(frozen_baselines[fmt])
    with pytest.raises(SpecError, match="needs an eager torch model") as info:
        compress(model, parse_recipes(recipe)[0], data, tmp_path)
    assert "int8-dynamic-ort" in (info.value.hint or "")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("fmt", ["torchscript", "export"])
def test_ort_recipes_quantise_frozen_baselines(
    frozen_baselines: dict[str, str], digits: tuple, tmp_path: Path, fmt: str
) -> None:
    """The hinted alternative really works from a frozen baseline and changes the model."""
    _, data = digits
    model = load_model(frozen_baselines[fmt])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = compress(model, parse_recipes("int8-dynamic-ort")[0], data, tmp_path)
    sizes = size_report(_load(path))
    assert sizes["parameters"] == DIGITS_PARAMS
    assert sizes["file_bytes"] < size_report(model)["file_bytes"]


def test_int8_dynamic_without_linear_layers_is_an_error(digits: tuple, tmp_path: Path) -> None:
    from pingce.models.loaded import ModelRef, TorchModel

    _, data = digits
    convs = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten())
    model = TorchModel(convs.eval(), ModelRef("zoo", "convs", raw="zoo:convs"), ["x"])
    with pytest.raises(SpecError, match="quantised nothing"):
        compress(model, parse_recipes("int8-dynamic")[0], data, tmp_path)
    with pytest.raises(SpecError, match="quantised nothing"):
        compress(model, parse_recipes("weight-int8")[0], data, tmp_path)
    flat = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.ReLU())
    model = TorchModel(flat.eval(), ModelRef("zoo", "flat", raw="zoo:flat"), ["x"])
    with pytest.raises(SpecError, match="nothing to prune"):
        compress(model, parse_recipes("prune-magnitude")[0], data, tmp_path)


# ---- calibration / fine-tuning data never scored ----


def test_fit_split_is_seeded_disjoint_and_complete() -> None:
    from pingce.compression.data import fit_split

    fit, scored = fit_split(400)
    again, _ = fit_split(400)
    assert np.array_equal(fit, again)  # deterministic
    assert len(fit) == 100 and len(scored) == 300
    assert not set(fit.tolist()) & set(scored.tolist())
    assert sorted([*fit.tolist(), *scored.tolist()]) == list(range(400))
    # not simply the first quarter: a seeded draw over the whole set
    assert fit.max() > 300


def test_fitting_data_takes_the_split_or_the_given_file(digits: tuple, tmp_path: Path) -> None:
    from pingce.compression.data import fit_split, fitting_data

    base, data = digits
    fit_sets, split = fitting_data({"calib", "train"}, data, base)
    fit_idx, _ = fit_split(len(data))
    assert split is not None and sorted(split["used_for"]) == ["calib", "train"]
    assert np.array_equal(fit_sets["calib"].inputs["x"], data.inputs["x"][fit_idx])
    assert np.array_equal(fit_sets["train"].labels, data.labels[fit_idx])
    npz = tmp_path / "calib.npz"
    np.savez(npz, x=data.inputs["x"][:10])
    fit_sets, split = fitting_data({"calib"}, data, base, calib_ref=str(npz))
    assert split is None and len(fit_sets["calib"]) == 10
    assert fitting_data(set(), data, base) == ({}, None)


def test_compress_run_never_scores_calibration_samples(tmp_path: Path, pingce_cli) -> None:
    """The scored sample ids (s<index in the evaluation data>) and the ids calibration and
    fine-tuning used are disjoint, and the report says how the data was split."""
    import json

    from pingce.compression.data import fit_split
    from pingce.core.store import open_store

    reports = tmp_path / "reports"
    proc = pingce_cli(
        [
            "compress",
            "run",
            "--model",
            "zoo:digits-cnn",
            "--data",
            "zoo:digits",
            "--recipe",
            "int8-static-ort:calib=64,prune-magnitude:amount=0.3:finetune=3",
            "--repeats",
            "5",
            "--batch-sizes",
            "1",
            "--out-dir",
            str(tmp_path / "out"),
            "--report-dir",
            str(reports),
            "--quiet",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "split off the evaluation data" in proc.stdout
    (doc_path,) = reports.glob("*/report.json")
    doc = json.loads(doc_path.read_text())
    run_id = doc["run"]["id"]
    store = open_store(os.environ["PINGCE_DB"])
    n = len(load_data("zoo:digits", ["x"]))
    fit_idx, scored_idx = fit_split(n)
    fit_ids = {f"s{i:06d}" for i in fit_idx}
    for variant in ("int8-static-ort_calib-64", "prune-magnitude_amount-0.3_finetune-3"):
        task = next(
            t["id"]
            for t in doc["tasks"]
            if t["id"].endswith(".accuracy") and t["id"].startswith(variant.split("_")[0])
        )
        scored = {r.sample_id for r in store.records(run_id, task)}
        assert scored == {f"s{i:06d}" for i in scored_idx}
        assert not scored & fit_ids
    note = doc["notes"][0]
    assert f"{len(fit_idx)} samples split off" in note and f"other {len(scored_idx)}" in note
