"""Model size in several labelled forms, and FLOPs (dense and sparsity-adjusted).

Forms: file bytes (the model file as stored: TorchScript archive, ONNX file + external data;
a zoo model in memory counts as its `torch.save(state_dict)` bytes), gzip bytes (that content
gzip-compressed at level 6, which exposes sparsity and low entropy), parameters (elements of
every weight tensor, quantised ones included) and non-zero parameters.
"""

from __future__ import annotations

import gzip
import io
from typing import Any

import numpy as np

from pingce.conversion.models import LoadedModel, OnnxModel, TorchModel


def _model_bytes(model: LoadedModel) -> bytes:
    files = model.size_files()
    if files:
        return b"".join(p.read_bytes() for p in files)
    import torch

    buf = io.BytesIO()
    torch.save(model.module.state_dict(), buf)
    return buf.getvalue()


def _tensors(model: LoadedModel) -> dict[str, np.ndarray]:
    """Every weight tensor by name, quantised tensors as their integer codes."""
    if isinstance(model, OnnxModel):
        import onnx
        from onnx import numpy_helper

        proto = onnx.load(str(model.path))
        return {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    assert isinstance(model, TorchModel)
    import torch

    out: dict[str, np.ndarray] = {}

    def add(name: str, value: Any) -> None:
        if isinstance(value, torch.Tensor):
            t = value.int_repr() if value.is_quantized else value
            if t.is_floating_point():
                t = t.float()
            out[name] = t.detach().cpu().numpy()
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                add(f"{name}.{i}", v)

    for name, value in model.module.state_dict().items():
        add(name, value)
    # dynamic/static quantised linear layers keep their packed weights outside state_dict()
    for mod_name, mod in model.module.named_modules():
        weight = getattr(mod, "weight", None)
        if callable(weight) and not isinstance(weight, torch.Tensor):
            try:
                add(f"{mod_name}.weight", weight())
            except Exception:  # noqa: S112 - not a packed module after all
                continue
    return out


def size_report(model: LoadedModel) -> dict[str, Any]:
    raw = _model_bytes(model)
    tensors = _tensors(model)
    # scales/zero points are bookkeeping, not parameters
    weights = {k: v for k, v in tensors.items() if v.size > 1}
    return {
        "file_bytes": len(raw),
        "gzip_bytes": len(gzip.compress(raw, compresslevel=6)),
        "parameters": int(sum(v.size for v in weights.values())),
        "nonzero_parameters": int(sum(np.count_nonzero(v) for v in weights.values())),
        "densities": {
            k: float(np.count_nonzero(v) / v.size)
            for k, v in weights.items()
            if k.endswith("weight")
        },
    }


def module_flops(model: TorchModel, feeds: dict[str, np.ndarray]) -> dict[str, int]:
    """FLOPs per leaf module for one forward pass, from torch.utils.flop_counter."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    args = [torch.from_numpy(feeds[n]) for n in model.input_names]
    counter = FlopCounterMode(display=False, depth=None)
    with counter, torch.no_grad():
        model.module(*args)
    counts = counter.get_flop_counts()
    leaves = {name for name, m in model.module.named_modules() if name and not list(m.children())}
    out: dict[str, int] = {}
    for key, ops in counts.items():
        name = key.split(".", 1)[1] if "." in key else ""
        if name in leaves:
            out[name] = int(sum(ops.values()))
    out["__total__"] = int(sum(counts.get("Global", {}).values()))
    return out


def flops_report(
    baseline: LoadedModel, compressed_sizes: dict[str, Any], feeds: dict[str, np.ndarray]
) -> dict[str, Any]:
    """Dense FLOPs of the baseline, and effective FLOPs of the compressed model where each
    layer's FLOPs scale with the density (non-zero fraction) of its weight; precision changes
    keep the operation count (reduction 0)."""
    if not isinstance(baseline, TorchModel):
        return {"available": False, "reason": "FLOPs are counted on torch baselines"}
    try:
        per = module_flops(baseline, {k: v[:1] for k, v in feeds.items()})
    except Exception as exc:
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"[:200]}
    total = per.pop("__total__")
    dens = compressed_sizes.get("densities", {})
    effective = total - sum(f * (1 - dens.get(f"{name}.weight", 1.0)) for name, f in per.items())
    return {
        "available": True,
        "baseline_flops": total,
        "compressed_effective_flops": effective,
        "reduction": 1 - effective / total if total else 0.0,
    }
