"""Model size in several labelled forms, and FLOPs counted on the model graphs.

Forms: file bytes (the model file as stored: TorchScript archive, ONNX file + external data;
a zoo model in memory counts as its `torch.save(state_dict)` bytes), gzip bytes (that content
gzip-compressed at level 6, which exposes sparsity and low entropy), parameters (elements of
every weight tensor, quantised and packed ones included; scales, zero points and int64
shape/counter tensors excluded) and non-zero parameters.
"""

from __future__ import annotations

import gzip
import io
from typing import Any

import numpy as np

from pingce.models.loaded import LoadedModel, OnnxModel, TorchModel


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
    return _torch_tensors(model.module)


def _torch_tensors(module: Any) -> dict[str, np.ndarray]:
    """Weight tensors of a torch module, packed quantised weights included.

    Eager quantised layers keep their packed weights in `state_dict()` (a tuple under
    `_packed_params._packed_params`, or quantised `weight` tensors); a TorchScript archive keeps
    them in `_packed_params` ScriptObjects that `state_dict()` does not list, so for a
    ScriptModule every attribute is walked and each ScriptObject is unpacked by its
    `__getstate__` (whose integer config tensors, e.g. a conv's stride/padding, are skipped).
    """
    import torch

    out: dict[str, np.ndarray] = {}

    def add(name: str, value: Any, packed: bool = False) -> None:
        if isinstance(value, torch.Tensor):
            if packed and not (value.is_quantized or value.is_floating_point()):
                return  # packed-params bookkeeping (conv stride/padding/groups as int16)
            t = value.int_repr() if value.is_quantized else value
            if t.is_floating_point():
                t = t.float()
            out[name] = t.detach().cpu().numpy()
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                add(f"{name}.{i}", v, packed)
        elif (
            isinstance(value, torch.ScriptObject)
            and not isinstance(value, torch._C.ScriptModule)  # submodules are walked already
            and value._has_method("__getstate__")
        ):
            add(name, value.__getstate__(), True)

    if isinstance(module, torch.jit.ScriptModule):
        found = torch._C._jit_debug_module_iterators(module._c)["named_attributes_r"]
        for name, value in found:
            add(name, value)
    else:
        for name, value in module.state_dict().items():
            add(name, value)
    return _count_weight_only(out)


def _count_weight_only(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """pingce's WeightOnlyLinear stores INT4 codes two per uint8 byte and a float scale per
    group: count its codes as the weight elements they stand for, and its scales as
    bookkeeping like a quantised tensor's scale and zero point."""
    out = {}
    for name, arr in tensors.items():
        if name.endswith(".scales") and f"{name[: -len('scales')]}codes" in tensors:
            continue
        if name.endswith(".codes") and arr.dtype == np.uint8:
            arr = np.stack([arr & 0xF, arr >> 4], axis=-1).reshape(*arr.shape[:-1], -1)
        out[name] = arr
    return out


def size_report(model: LoadedModel) -> dict[str, Any]:
    raw = _model_bytes(model)
    tensors = _tensors(model)
    # scales/zero points are bookkeeping, not parameters; int64 tensors are shapes, axes or
    # counters (an ONNX Reshape's target shape, BatchNorm's num_batches_tracked), never weights
    weights = {k: v for k, v in tensors.items() if v.size > 1 and v.dtype != np.int64}
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
