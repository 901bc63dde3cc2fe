"""Model size in several labelled forms, and FLOPs counted on the model graphs.

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
        "weight_elements": {k: int(v.size) for k, v in weights.items() if k.endswith("weight")},
    }


def module_flops(model: TorchModel, feeds: dict[str, np.ndarray]) -> dict[str, int]:
    """FLOPs per leaf module for one forward pass, from torch.utils.flop_counter (a convolution
    or matmul counts 2 FLOPs per multiply-add); `__total__` is the whole graph. TorchScript
    modules report only `__total__` (module hooks do not reach inside them)."""
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


def _float_graph(model: LoadedModel) -> bool:
    """True for a torch model whose compute FlopCounterMode sees in full: no quantised kernels
    (`quantized::` ops run outside aten and would count as zero FLOPs)."""
    if not isinstance(model, TorchModel):
        return False
    import torch

    module = model.module
    if isinstance(module, torch.jit.ScriptModule):
        try:
            return "quantized::" not in str(module.inlined_graph)
        except Exception:  # a graph that cannot be printed: do not trust a count on it
            return False
    return not any(
        type(m).__module__.startswith(("torch.ao.nn.quantized", "torch.nn.quantized"))
        for m in module.modules()
    ) and not any(
        t.is_quantized for t in module.state_dict().values() if hasattr(t, "is_quantized")
    )


def flops_report(
    baseline: LoadedModel,
    compressed_sizes: dict[str, Any],
    feeds: dict[str, np.ndarray],
    compressed: LoadedModel | None = None,
) -> dict[str, Any]:
    """FLOPs of the baseline and of the compressed model for one sample.

    The compressed model's FLOPs are counted on its own graph when it is a float torch model
    (so physically pruned layers count at their real, smaller size); otherwise (quantised or
    ONNX) its op count is taken as the baseline's (precision changes keep the multiply-adds).
    Then each layer whose weight has zeros (unstructured pruning keeps them in dense kernels) is
    sparsity-adjusted: its FLOPs, scaled by its weight elements compressed / baseline, times
    (1 − density) are subtracted. `sparsity_adjusted` says whether that changed anything.
    """
    if not isinstance(baseline, TorchModel):
        return {"available": False, "reason": "FLOPs are counted on torch baselines"}
    import torch

    one = {k: v[:1] for k, v in feeds.items()}
    try:
        per = module_flops(baseline, one)
    except Exception as exc:
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"[:200]}
    total = per.pop("__total__")
    dense, counted_on = total, "baseline graph"
    if compressed is not None and _float_graph(compressed):
        try:
            dense = module_flops(compressed, one)["__total__"]
            counted_on = "compressed graph"
        except Exception:  # noqa: S110 - fall back to the baseline's op count
            pass
    dens = compressed_sizes.get("densities", {})
    elements = compressed_sizes.get("weight_elements", {})
    base_elements = {
        f"{name}.weight": int(m.weight.numel())
        for name, m in baseline.module.named_modules()
        if isinstance(getattr(m, "weight", None), torch.Tensor)
    }
    zeroed = 0.0
    for name, f in per.items():
        key = f"{name}.weight"
        scale = elements.get(key, 1) / base_elements[key] if base_elements.get(key) else 1.0
        zeroed += f * scale * (1 - dens.get(key, 1.0))
    effective = dense - zeroed
    extra: dict[str, Any] = {}
    if not per and any(d < 1 for d in dens.values()):
        # module hooks do not reach inside a TorchScript baseline: no per-layer counts to adjust
        extra["not_sparsity_adjusted"] = "no per-layer FLOPs for a TorchScript baseline"
    return {
        **extra,
        "available": True,
        "baseline_flops": total,
        "baseline_macs": total / 2,
        "compressed_dense_flops": dense,
        "compressed_effective_flops": effective,
        "counted_on": counted_on,
        "sparsity_adjusted": zeroed > 0,
        "reduction": 1 - effective / total if total else 0.0,
    }
