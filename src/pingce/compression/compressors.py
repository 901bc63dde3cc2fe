"""Built-in compressors. Each takes the baseline (a loaded model), calibration/fine-tune data,
and parameters, and writes the compressed model as one file (TorchScript for torch results,
ONNX for ONNX Runtime results) so `pingce compress test` can load it like any user model.

Recipe syntax: `name[:key=value[:key=value]]`, several joined by commas, e.g.
`int8-dynamic,int8-static-ort,prune-magnitude:amount=0.5:finetune=50,weight-int4:group=32`.
"""

from __future__ import annotations

import difflib
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pingce.core.errors import SpecError
from pingce.models.datasets import Dataset
from pingce.models.loaded import LoadedModel, OnnxModel, TorchModel


@dataclass(frozen=True)
class Recipe:
    name: str
    params: dict[str, str]

    @property
    def label(self) -> str:
        extra = ":".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return self.name + (f":{extra}" if extra else "")

    @property
    def fits(self) -> str | None:
        """What the recipe learns from data: "calib" (activation ranges), "train"
        (fine-tuning steps) or None (data only gives example inputs)."""
        if self.name in ("int8-static", "int8-static-ort"):
            return "calib"
        if self.name.startswith("prune-"):
            try:
                steps = int(float(self.params.get("finetune", 0)))
            except ValueError:
                steps = 1  # a malformed value is reported by the compressor itself
            return "train" if steps > 0 else None
        return None


def parse_recipes(text: str) -> list[Recipe]:
    """Parse `name[:k=v...],name...`; unknown names and malformed parameters are user errors."""
    recipes = []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        name, *kvs = part.split(":")
        if name not in COMPRESSORS:
            raise SpecError(
                f"unknown compressor {name!r}", hint=f"one of: {', '.join(COMPRESSORS)}"
            )
        params = {}
        allowed = PARAMETERS.get(name, {})
        for kv in kvs:
            key, sep, value = kv.partition("=")
            if not sep or not key:
                raise SpecError(f"recipe {part!r}: parameter {kv!r} is not key=value")
            if key not in allowed:
                near = difflib.get_close_matches(key, list(allowed), n=1)
                raise SpecError(
                    f"recipe {part!r}: {name} takes no parameter {key!r}"
                    + (f" (did you mean {near[0]!r}?)" if near else ""),
                    hint=f"its parameters: {', '.join(allowed) or 'none'}",
                )
            params[key] = value
            # Checked here, before any output folder is made, not only when compressing.
            _float(params, key, 0.0, *allowed[key])
        recipes.append(Recipe(name, params))
    if not recipes:
        raise SpecError("the recipe names no compressor", hint=f"one of: {', '.join(COMPRESSORS)}")
    return recipes


def _float(params: dict[str, str], key: str, default: float, lo: float, hi: float) -> float:
    try:
        value = float(params.get(key, default))
    except ValueError:
        raise SpecError(f"compressor parameter {key}={params[key]!r} is not a number") from None
    if not lo <= value <= hi:
        raise SpecError(f"compressor parameter {key}={value} must be in [{lo}, {hi}]")
    return value


def _torch_module(model: LoadedModel, name: str) -> Any:
    if not isinstance(model, TorchModel):
        raise SpecError(f"compressor {name!r} needs a torch baseline, got {model.kind}")
    import copy

    return copy.deepcopy(model.module).eval()


# Recipes that swap or rewrite nn.Module layers (quantised Linear/Conv, pruning masks): a
# TorchScript archive or a torch.export program has no such layers to swap, so they would
# silently return the model unchanged (or crash deep inside torch).
_FROZEN_FORMATS = {"torchscript": "TorchScript", "export": "a torch.export program"}


def _eager_module(model: LoadedModel, name: str) -> Any:
    """A copy of an eager (nn.Module-layered) torch baseline, or an error naming why not."""
    import torch

    frozen = _FROZEN_FORMATS.get(model.ref.kind) if isinstance(model, TorchModel) else None
    if isinstance(model, TorchModel) and isinstance(model.module, torch.jit.ScriptModule):
        frozen = _FROZEN_FORMATS["torchscript"]
    if frozen:
        raise SpecError(
            f"compressor {name!r} needs an eager torch model, not {frozen}: the layers of "
            f"{model.ref.raw} are compiled and cannot be swapped for quantised or pruned ones",
            hint="give the eager model (state:WEIGHTS.pt?arch=NAME or zoo:NAME), or use "
            "int8-dynamic-ort / int8-static-ort, which quantise the ONNX export",
        )
    return _torch_module(model, name)


def _count_quantized(module: Any) -> int:
    """Modules that torch.ao replaced with quantised kernels."""
    return sum(
        type(m).__module__.startswith(("torch.ao.nn.quantized", "torch.nn.quantized"))
        for m in module.modules()
    )


def _cast_wrapper(module: Any, dtype: Any) -> Any:
    """Run `module` in `dtype` but take and return float32 (so callers feed the usual data)."""
    import torch

    class CastIO(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = module

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.inner(x.to(dtype) if x.is_floating_point() else x)
            return y.float()

    return CastIO().eval()


def _save_torchscript(
    module: Any, example: dict[str, np.ndarray], names: list[str], out: Path
) -> Path:
    import torch

    args = tuple(torch.from_numpy(example[n]) for n in names)
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module, args, check_trace=False)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    torch.jit.save(traced, str(tmp))
    os.replace(tmp, out)
    return out


def _onnx_baseline(model: LoadedModel, data: Dataset, workdir: Path) -> Path:
    """The baseline as ONNX (exported once with the TorchScript exporter if it is torch)."""
    if isinstance(model, OnnxModel):
        return model.path
    from pingce.core.fingerprint import content_hash
    from pingce.models.converters import convert

    # named by the baseline's identity, so another baseline in the same folder is not reused
    out = workdir / f"baseline-{content_hash(model.fingerprint(), length=12)}.onnx"
    if not out.exists():
        # a torch.export program's module cannot be re-traced by the TorchScript exporter
        exporter = "dynamo" if model.ref.kind == "export" else "torchscript"
        convert(model, out, to="onnx", exporter=exporter, opset=17, example=data.take(2).inputs)
    return out


def int8_dynamic_torch(
    model: LoadedModel, data: Dataset, params: dict[str, str], out: Path
) -> Path:
    """torch.ao dynamic INT8: Linear/LSTM weights int8, activations quantised per call."""
    import torch
    from torch.ao.quantization import quantize_dynamic

    module = quantize_dynamic(
        _eager_module(model, "int8-dynamic"), {torch.nn.Linear, torch.nn.LSTM}, dtype=torch.qint8
    )
    if not _count_quantized(module):
        raise SpecError(
            f"compressor 'int8-dynamic' quantised nothing in {model.ref.raw}: dynamic INT8 "
            "covers only nn.Linear and nn.LSTM layers and the model has none",
            hint="use int8-static (convolutions too) or int8-static-ort",
        )
    return _save_torchscript(module, data.take(2).inputs, model.input_names, out)


def int8_static_torch(model: LoadedModel, data: Dataset, params: dict[str, str], out: Path) -> Path:
    """torch.ao FX static INT8 (x86 backend), calibrated on `calib` samples (default 128)."""
    import torch
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    n = int(_float(params, "calib", 128, 1, 1e6))
    calib = data.take(n)
    example = tuple(torch.from_numpy(calib.take(2).inputs[k]) for k in model.input_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_fx(
            _eager_module(model, "int8-static"), get_default_qconfig_mapping("x86"), example
        )
        with torch.no_grad():
            for start in range(0, len(calib), 32):
                batch = calib.batch(start, start + 32)
                prepared(*[torch.from_numpy(batch[k]) for k in model.input_names])
        module = convert_fx(prepared)
    if not _count_quantized(module):
        raise SpecError(
            f"compressor 'int8-static' quantised nothing in {model.ref.raw}: FX found no "
            "Linear/Conv layer it can quantise",
            hint="try int8-static-ort",
        )
    return _save_torchscript(module, data.take(2).inputs, model.input_names, out)


def int8_dynamic_ort(model: LoadedModel, data: Dataset, params: dict[str, str], out: Path) -> Path:
    """ONNX Runtime quantize_dynamic: int8 weights of MatMul/Gemm (and others ORT supports)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src = _onnx_baseline(model, data, out.parent)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8)
    os.replace(tmp, out)
    return out


def int8_static_ort(model: LoadedModel, data: Dataset, params: dict[str, str], out: Path) -> Path:
    """ONNX Runtime quantize_static (QDQ, int8) calibrated by MinMax on `calib` samples."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    n = int(_float(params, "calib", 128, 1, 1e6))
    calib = data.take(n)
    src = _onnx_baseline(model, data, out.parent)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(
                [
                    {
                        k: v.astype(np.float32) if v.dtype == np.float64 else v
                        for k, v in calib.batch(i, i + 16).items()
                    }
                    for i in range(0, len(calib), 16)
                ]
            )

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    quantize_static(
        str(src),
        str(tmp),
        Reader(),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
    )
    os.replace(tmp, out)
    return out


def fp16(model: LoadedModel, data: Dataset, params: dict[str, str], out: Path) -> Path:
    """All weights and compute in float16 (inputs cast in, outputs cast back to float32)."""
    import torch

    module = _cast_wrapper(_torch_module(model, "fp16").half(), torch.float16)
    return _save_torchscript(module, data.take(2).inputs, model.input_names, out)


def bf16(model: LoadedModel, data: Dataset, params: dict[str, str], out: Path) -> Path:
    """All weights and compute in bfloat16."""
    import torch

    module = _cast_wrapper(_torch_module(model, "bf16").to(torch.bfloat16), torch.bfloat16)
    return _save_torchscript(module, data.take(2).inputs, model.input_names, out)


def _prunable(module: Any) -> list[tuple[Any, str]]:
    import torch

    return [
        (m, "weight") for m in module.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)
    ]


def _finetune(module: Any, data: Dataset, steps: int, names: list[str]) -> None:
    """A short fine-tune (Adam, lr 1e-3, batch 32) on the labelled data; masks stay applied."""
    import torch

    if steps <= 0:
        return
    if data.labels is None:
        raise SpecError(
            "fine-tuning after pruning needs labelled data", hint="add 'labels' to the NPZ"
        )
    rng = np.random.default_rng(0)
    opt = torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=1e-3)
    module.train()
    for _ in range(steps):
        idx = rng.integers(0, len(data), size=32)
        args = [torch.from_numpy(data.inputs[k][idx]) for k in names]
        loss = torch.nn.functional.cross_entropy(module(*args), torch.from_numpy(data.labels[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    module.eval()


def prune_magnitude(model: LoadedModel, data: Dataset, params: dict[str, str], out: Path) -> Path:
    """Global unstructured L1 (magnitude) pruning of conv/linear weights (`amount`, default 0.5),
    optionally followed by `finetune` steps; masks are then made permanent."""
    import torch.nn.utils.prune as prune

    amount = _float(params, "amount", 0.5, 0.0, 0.99)
    module = _eager_module(model, "prune-magnitude")
    targets = _prunable(module)
    if not targets:
        raise SpecError(
            f"compressor 'prune-magnitude' found nothing to prune in {model.ref.raw}: it prunes "
            "nn.Conv2d and nn.Linear weights and the model has none"
        )
    prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=amount)
    _finetune(module, data, int(_float(params, "finetune", 0, 0, 1e6)), model.input_names)
    for m, name in targets:
        prune.remove(m, name)
    return _save_torchscript(module, data.take(2).inputs, model.input_names, out)


def prune_channels(model: LoadedModel, data: Dataset, params: dict[str, str], out: Path) -> Path:
    """Physical structured pruning: the `amount` (default 0.25) of each Conv2d's output channels
    with the smallest filter L2 norm are removed with torch-pruning, together with every input
    slice that depends on them (`pingce.compression.channel_pruning`); optional `finetune` steps
    then train the smaller model. The saved TorchScript has the smaller layers, so parameters,
    file bytes, MACs and latency all fall."""
    import torch

    from pingce.compression.channel_pruning import prune_conv_channels

    amount = _float(params, "amount", 0.25, 0.0, 0.99)
    module = _eager_module(model, "prune-channels")
    example = data.take(2).inputs
    args = tuple(torch.from_numpy(example[n]) for n in model.input_names)
    prune_conv_channels(module, args, amount)
    _finetune(module, data, int(_float(params, "finetune", 0, 0, 1e6)), model.input_names)
    return _save_torchscript(module, example, model.input_names, out)


def weight_only(bits: int) -> Callable[[LoadedModel, Dataset, dict[str, str], Path], Path]:
    def compress(model: LoadedModel, data: Dataset, params: dict[str, str], out: Path) -> Path:
        from pingce.models.weight_only import quantize_linears

        group = int(_float(params, "group", 32 if bits == 4 else 0, 0, 1 << 20))
        module = quantize_linears(
            _eager_module(model, f"weight-int{bits}"), bits=bits, group_size=group
        )
        if not any(type(m).__name__ == "WeightOnlyLinear" for m in module.modules()):
            raise SpecError(
                f"compressor 'weight-int{bits}' quantised nothing in {model.ref.raw}: it "
                "covers nn.Linear layers and the model has none"
            )
        return _save_torchscript(module, data.take(2).inputs, model.input_names, out)

    compress.__doc__ = (
        f"Weight-only INT{bits} for every nn.Linear (symmetric, per output channel"
        f"{' and group of `group` inputs, default 32' if bits == 4 else '; `group` > 0 for groups'}); "
        "activations stay float."
    )
    return compress


Compressor = Callable[[LoadedModel, Dataset, dict[str, str], Path], Path]

COMPRESSORS: dict[str, Compressor] = {
    "int8-dynamic": int8_dynamic_torch,
    "int8-static": int8_static_torch,
    "int8-dynamic-ort": int8_dynamic_ort,
    "int8-static-ort": int8_static_ort,
    "fp16": fp16,
    "bf16": bf16,
    "prune-magnitude": prune_magnitude,
    "prune-channels": prune_channels,
    "weight-int8": weight_only(8),
    "weight-int4": weight_only(4),
}

# The parameters each compressor reads, with their allowed ranges (inclusive).
PARAMETERS: dict[str, dict[str, tuple[float, float]]] = {
    "int8-static": {"calib": (1, 1e6)},
    "int8-static-ort": {"calib": (1, 1e6)},
    "prune-magnitude": {"amount": (0.0, 0.99), "finetune": (0, 1e6)},
    "prune-channels": {"amount": (0.0, 0.99), "finetune": (0, 1e6)},
    "weight-int8": {"group": (0, 1 << 20)},
    "weight-int4": {"group": (0, 1 << 20)},
}

SUFFIX = {"int8-dynamic-ort": ".onnx", "int8-static-ort": ".onnx"}


def compress(model: LoadedModel, recipe: Recipe, data: Dataset, workdir: Path) -> Path:
    """Apply one recipe; returns the compressed model's file."""
    workdir.mkdir(parents=True, exist_ok=True)
    safe = recipe.label.replace(":", "_").replace("=", "-")
    out = workdir / f"{safe}{SUFFIX.get(recipe.name, '.ts.pt')}"
    return COMPRESSORS[recipe.name](model, data, recipe.params, out)
