"""Physical structured channel pruning (`prune-channels`, torch-pruning) on the digits CNN.

References: layer shapes, parameter counts and MACs hand-computed from the architecture
(Conv(1→8, 3×3) → ReLU → Conv(8→16, 3×3) → ReLU → MaxPool 2 → Linear(16·4·4 → 10) on 8×8
inputs) and the rounding rule kept = ⌊C·(1 − amount)⌋; the pruned model's logits against an
independent reference: a copy of the original whose channels are chosen and zeroed by torch's
own `torch.nn.utils.prune.ln_structured` (L2 norm of each output filter); ONNX Runtime for the
exported variant.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_pruning")
pytest.importorskip("onnxruntime")

from pingce.compression.channel_pruning import prune_conv_channels  # noqa: E402
from pingce.compression.compressors import compress, parse_recipes  # noqa: E402
from pingce.compression.size import size_report  # noqa: E402
from pingce.core.errors import SpecError  # noqa: E402
from pingce.models.datasets import load_data  # noqa: E402
from pingce.models.loaded import load_model  # noqa: E402

# amount → (conv1 kept of 8, conv2 kept of 16), by hand: ⌊8·0.75⌋=6, ⌊16·0.75⌋=12; ⌊8·0.5⌋=4, ⌊16·0.5⌋=8
KEPT = {0.25: (6, 12), 0.5: (4, 8)}
BASE_MACS = 8 * 64 * 9 + 16 * 64 * 8 * 9 + 256 * 10  # 80896 per sample


def _params(c1: int, c2: int) -> int:
    """Weights + biases of the pruned digits CNN, counted by hand from its layer shapes."""
    return (c1 * 1 * 9 + c1) + (c2 * c1 * 9 + c2) + (10 * c2 * 16 + 10)


def _macs(c1: int, c2: int) -> int:
    """Multiply-adds per 8×8 sample: each conv output position × (in channels · 3·3), then fc."""
    return c1 * 64 * (1 * 9) + c2 * 64 * (c1 * 9) + (c2 * 16) * 10


def _zeroed_reference(module: torch.nn.Module, amount: float) -> tuple[torch.nn.Module, dict]:
    """The original with the `amount` lowest-L2 filters of each conv zeroed by torch's pruning."""
    import torch.nn.utils.prune as prune

    ref = copy.deepcopy(module).eval()
    zeroed = {}
    for name in ("conv1", "conv2"):
        conv = getattr(ref, name)
        prune.ln_structured(conv, "weight", amount=amount, n=2, dim=0)
        prune.remove(conv, "weight")
        dead = conv.weight.detach().flatten(1).abs().sum(1) == 0
        conv.bias.data[dead] = 0.0  # a removed channel contributes nothing, bias included
        zeroed[name] = tuple(int(i) for i in torch.nonzero(dead).flatten())
    return ref, zeroed


@pytest.mark.parametrize("amount", [0.25, 0.5])
def test_pruned_shapes_params_and_outputs_match_zeroed_reference(
    tmp_path: Path, amount: float
) -> None:
    base = load_model("zoo:digits-cnn")
    data = load_data("zoo:digits", ["x"])
    x = torch.from_numpy(data.inputs["x"])
    c1, c2 = KEPT[amount]

    # in memory, before any fine-tune
    pruned = copy.deepcopy(base.module).eval()
    layers = prune_conv_channels(pruned, (x[:2],), amount)
    assert tuple(pruned.conv1.weight.shape) == (c1, 1, 3, 3)
    assert tuple(pruned.conv2.weight.shape) == (c2, c1, 3, 3)
    assert tuple(pruned.fc.weight.shape) == (10, c2 * 16)
    assert sum(p.numel() for p in pruned.parameters()) == _params(c1, c2)

    ref, zeroed = _zeroed_reference(base.module, amount)
    assert {la.name: la.removed for la in layers} == zeroed
    assert {la.name: (la.before, la.after) for la in layers} == {
        "conv1": (8, c1),
        "conv2": (16, c2),
    }
    with torch.no_grad():
        got, want = pruned(x), ref(x)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)

    # the saved variant (TorchScript) reloads with the small layers and identical outputs
    path = compress(base, parse_recipes(f"prune-channels:amount={amount}")[0], data, tmp_path)
    saved = load_model(f"torchscript:{path}")
    assert size_report(saved)["parameters"] == _params(c1, c2)
    assert size_report(base)["parameters"] == _params(8, 16)
    torch.testing.assert_close(saved.run({"x": data.inputs["x"]})[0], got.numpy(), rtol=0, atol=0)


def test_finetune_keeps_shapes_and_onnx_export_matches(tmp_path: Path) -> None:
    from pingce.models.converters import convert

    base = load_model("zoo:digits-cnn")
    data = load_data("zoo:digits", ["x"])
    path = compress(base, parse_recipes("prune-channels:amount=0.5:finetune=30")[0], data, tmp_path)
    tuned = load_model(f"torchscript:{path}")
    sd = tuned.module.state_dict()
    assert tuple(sd["conv1.weight"].shape) == (4, 1, 3, 3)
    assert tuple(sd["fc.weight"].shape) == (10, 128)
    out = tmp_path / "pruned.onnx"
    convert(tuned, out, to="onnx", exporter="torchscript", opset=17, example=data.take(2).inputs)
    onnx_model = load_model(str(out))
    feeds = {"x": data.inputs["x"][:64]}
    np.testing.assert_allclose(
        onnx_model.run(feeds)[0], tuned.run(feeds)[0], rtol=1e-4, atol=1e-5
    )  # ORT vs torch float32: summation order only


def test_prune_channels_errors_are_one_line(tmp_path: Path) -> None:
    base = load_model("zoo:digits-cnn")
    data = load_data("zoo:digits", ["x"])
    with pytest.raises(SpecError, match="would remove all 8 output channels of conv1"):
        compress(base, parse_recipes("prune-channels:amount=0.9")[0], data, tmp_path)
    script = compress(base, parse_recipes("fp16")[0], data, tmp_path)
    with pytest.raises(SpecError, match="eager torch model, not TorchScript"):
        compress(
            load_model(f"torchscript:{script}"),
            parse_recipes("prune-channels")[0],
            data,
            tmp_path,
        )


def test_compress_run_reports_hand_computed_macs_reduction(tmp_path: Path, pingce_cli) -> None:
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
            "prune-channels:amount=0.5",
            "--repeats",
            "5",
            "--batch-sizes",
            "1,8",
            "--limit",
            "100",
            "--out-dir",
            str(tmp_path / "out"),
            "--report-dir",
            str(reports),
            "--quiet",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (doc_path,) = reports.glob("*/report.json")
    doc = json.loads(doc_path.read_text())
    values = {i["id"]: i["value"] for i in doc["indicators"]}
    c1, c2 = KEPT[0.5]
    assert values["cmp_flops_reduction"] == pytest.approx(1 - _macs(c1, c2) / BASE_MACS, abs=1e-9)
    assert values["cmp_ratio_params"] == pytest.approx(_params(8, 16) / _params(c1, c2))
    assert any("counted on the compressed graph" in n for n in doc["notes"])
    assert not any("sparsity-adjusted" in n for n in doc["notes"])
    lat = next(s for s in doc["sections"] if s["id"] == "latency")
    assert len(lat["table"]["rows"]) == 2  # batch 1 and 8 timed for the pruned variant


def test_residual_batchnorm_model_is_pruned_consistently() -> None:
    """torch-pruning couples the channels a residual addition joins and slices BatchNorm."""
    from pingce.models.zoo import zoo_entry

    model = load_model("zoo:small-resnet")
    x = torch.from_numpy(zoo_entry("small-resnet").inputs(4, 0, 0)["x"])
    module = copy.deepcopy(model.module).eval()
    layers = {la.name: la.after for la in prune_conv_channels(module, (x[:2],), 0.5)}
    # the stem's output is added to layer1's output: both keep the same ⌊16·0.5⌋ = 8 channels
    assert layers["stem.0"] == layers["layer1.conv2"] == 8
    bns = [m for m in module.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(bn.num_features == bn.running_mean.numel() for bn in bns)
    with torch.no_grad():
        assert module(x).shape == model.module(x).shape
