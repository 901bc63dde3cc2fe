"""Physical structured channel pruning with torch-pruning (dependency-aware).

Each convolution's output channels with the smallest filter L2 norm are *removed*: torch-pruning
traces the model into a dependency graph and, for every removed channel, also slices every layer
that consumes it (the next convolution's input channels, BatchNorm statistics, the input
features a `Flatten` → `Linear` reads from that channel, residual additions coupled to it). The
result is an ordinary module with smaller layers: fewer parameters, fewer MACs, a smaller file.

Channel choice: per convolution (local, not global ranking), importance of output channel c =
Σ w[c]² over that filter (torch-pruning `GroupMagnitudeImportance(p=2, group_reduction="first",
normalizer=None)`: the root convolution's own filter only; the same ranking as
`torch.nn.utils.prune.ln_structured(n=2, dim=0)`). Rounding: a layer with C output channels keeps
⌊C·(1 − amount)⌋ (torch-pruning's rule, float64 arithmetic) and must keep at least one.
Linear layers are never roots (a classifier's outputs are the classes); their inputs shrink
only as a dependency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pingce.core.errors import SpecError


@dataclass(frozen=True)
class PrunedLayer:
    """One convolution's output channels before and after pruning, and the removed indices."""

    name: str
    before: int
    after: int
    removed: tuple[int, ...]


def kept_channels(channels: int, amount: float) -> int:
    """Output channels a layer keeps: ⌊channels·(1 − amount)⌋ (torch-pruning's rounding)."""
    return int(channels * (1 - amount))


def _torch_pruning() -> Any:
    try:
        import torch_pruning as tp
    except ModuleNotFoundError:
        raise SpecError(
            "prune-channels needs the torch-pruning package",
            hint="pip install 'pingce[compression]' or pip install torch-pruning",
        ) from None
    return tp


def torch_pruning_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch-pruning")
    except PackageNotFoundError:
        return "unknown"


def prune_conv_channels(module: Any, example: tuple[Any, ...], amount: float) -> list[PrunedLayer]:
    """Remove `amount` of every convolution's output channels from `module` in place.

    `example` is a tuple of input tensors used to trace the dependency graph (any batch size).
    Returns one `PrunedLayer` per convolution that lost channels. Raises a one-line SpecError
    when the model has no convolution, cannot be traced, would lose every channel of a layer,
    or when pruning would change the model's output shape (a convolution feeding the output).
    """
    import torch

    tp = _torch_pruning()
    if isinstance(module, torch.jit.ScriptModule):
        raise SpecError(
            "prune-channels needs an eager torch model, not TorchScript",
            hint="give a zoo model or a state dict with --arch (a registered architecture)",
        )
    convs = {m: n for n, m in module.named_modules() if isinstance(m, torch.nn.Conv2d)}
    if not convs:
        raise SpecError("prune-channels needs a model with Conv2d layers")
    for m, name in convs.items():
        if kept_channels(m.out_channels, amount) < 1:
            raise SpecError(
                f"prune-channels: amount={amount} would remove all {m.out_channels} output "
                f"channels of {name}",
                hint="lower the amount",
            )
    with torch.no_grad():
        before = module(*example)
    importance = tp.importance.GroupMagnitudeImportance(
        p=2, group_reduction="first", normalizer=None
    )
    try:
        pruner = tp.pruner.MetaPruner(
            module,
            example if len(example) > 1 else example[0],
            importance=importance,
            pruning_ratio=amount,
            ignored_layers=[m for m in module.modules() if isinstance(m, torch.nn.Linear)],
            root_module_types=[torch.nn.Conv2d],
        )
    except Exception as exc:  # a graph torch-pruning cannot trace is a property of the model
        raise SpecError(
            f"prune-channels: torch-pruning could not trace the model: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}"[:300]
        ) from None
    shapes = {name: m.out_channels for m, name in convs.items()}
    removed: dict[str, list[int]] = {}
    for group in pruner.step(interactive=True):
        for dep, idxs in group:
            target = dep.target.module
            if target in convs and dep.handler == tp.prune_conv_out_channels:
                removed.setdefault(convs[target], []).extend(int(i) for i in idxs)
        group.prune()
    with torch.no_grad():
        after = module(*example)
    if getattr(after, "shape", None) != getattr(before, "shape", None):
        raise SpecError(
            "prune-channels would change the model's output shape "
            f"({tuple(before.shape)} → {tuple(after.shape)}): a convolution feeds the output"
        )
    return [
        PrunedLayer(name, shapes[name], convs_out, tuple(sorted(set(removed.get(name, [])))))
        for m, name in convs.items()
        if (convs_out := m.out_channels) != shapes[name]
    ]
