"""How a compression record looks in the dashboard: one check's rows — sizes before and after,
a sample's baseline and compressed predictions, or the latency comparison."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pingce.core.sample_view import Block, Fields, SampleView, flatten, get_dict, side_by_side

COLUMNS = ("Check", "Result")
TIMING = ("n", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "min_ms", "max_ms", "throughput")


def view(data: Mapping[str, Any], scores: Mapping[str, Any]) -> SampleView:
    blocks: list[Block] = []
    table = side_by_side(
        "timing", ("source", "target"), data.get("source"), data.get("target"), TIMING
    )
    if table is not None:
        blocks.append(table)
    base, comp = get_dict(data, "baseline"), get_dict(data, "compressed")
    size = side_by_side("size", ("baseline", "compressed"), base, comp)
    if size is not None:
        blocks.append(size)
    rest = {
        k: v for k, v in data.items() if k not in ("source", "target", "baseline", "compressed")
    }
    if rest:
        blocks.append(Fields("details", tuple(flatten(rest))))
    if scores:
        blocks.append(Fields("scores", tuple(scores.items())))
    check = "latency" if table is not None else "size" if base else "sample" if rest else None
    result = "; ".join(
        f"{k}={v:.4g}"
        for k, v in scores.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    )
    return SampleView((check, result or None), tuple(blocks))
