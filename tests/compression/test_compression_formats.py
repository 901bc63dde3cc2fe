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
from pingce.conversion.data import load_data  # noqa: E402
from pingce.conversion.models import load_model  # noqa: E402
from pingce.core.errors import SpecError  # noqa: E402

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
    from pingce.conversion.models import ModelRef, TorchModel

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
