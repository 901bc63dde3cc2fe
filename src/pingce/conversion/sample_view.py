"""How a conversion record looks in the dashboard: one check's rows — per-output numeric
differences, per-layer agreement (the first diverging layer marked), structural checks,
shapes or the latency comparison."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pingce.core.sample_view import (
    Block,
    Fields,
    SampleView,
    Table,
    flatten,
    get_dict,
    get_list,
    side_by_side,
)

COLUMNS = ("Check", "Result")
TIMING = ("n", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "min_ms", "max_ms", "throughput")


def view(data: Mapping[str, Any], scores: Mapping[str, Any]) -> SampleView:
    blocks: list[Block] = []
    used = set()
    outputs = get_dict(data, "outputs")
    if outputs:
        used.add("outputs")
        keys = ("max_abs", "max_rel", "cosine", "allclose", "top1", "kl")
        rows = tuple(
            (name, *(o.get(k) for k in keys)) for name, o in outputs.items() if isinstance(o, dict)
        )
        kinds = tuple("pass" if r[4] in (1, True) else "fail" for r in rows)
        blocks.append(Table("outputs", ("output", *keys), rows, kinds))
    layers = get_list(data, "layers")
    if layers:
        used.add("layers")
        first = data.get("first_divergence")
        rows = tuple(
            (
                d.get("layer"),
                str(d.get("shape")),
                d.get("max_abs"),
                d.get("max_rel"),
                d.get("cosine"),
                d.get("pass"),
            )
            for d in layers
            if isinstance(d, dict)
        )
        kinds = tuple("pass" if r[5] else "fail" for r in rows)
        note = f"First diverging layer: {first}." if first else "No layer diverged."
        blocks.append(
            Table(
                "layers",
                ("layer", "shape", "max_abs", "max_rel", "cosine", "pass"),
                rows,
                kinds,
                note,
            )
        )
    table = side_by_side(
        "timing", ("source", "target"), data.get("source"), data.get("target"), TIMING
    )
    if table is not None:
        used.update({"source", "target"})
        blocks.append(table)
    rest = {k: v for k, v in data.items() if k not in used}
    if rest:
        blocks.append(Fields("details", tuple(flatten(rest))))
    if scores:
        blocks.append(Fields("scores", tuple(scores.items())))
    check = (
        "outputs"
        if outputs
        else "layers"
        if layers
        else "latency"
        if table
        else next(iter(data), None)
    )
    result = "; ".join(
        f"{k}={v:.4g}"
        for k, v in scores.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    )
    return SampleView((check, result or None), tuple(blocks))
