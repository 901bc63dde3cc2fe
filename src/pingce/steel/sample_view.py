"""How a steel record looks in the dashboard: a heat's actual and predicted end-point values
per target with the error, or one resample's permutation importances."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pingce.core.sample_view import Block, Fields, SampleView, Table, get_dict, get_str, number

COLUMNS = ("Heat / resample", "Grade", "Result")


def view(data: Mapping[str, Any], scores: Mapping[str, Any]) -> SampleView:
    blocks: list[Block] = []
    targets = get_dict(data, "targets")
    result = None
    if targets:
        rows = []
        for name, t in targets.items():
            t = t if isinstance(t, Mapping) else {}
            y, pred = number(t.get("y")), number(t.get("pred"))
            err = None if y is None or pred is None else pred - y
            rows.append((name, y, pred, err, t.get("lo"), t.get("hi")))
        blocks.append(Table("end point", ("target", "actual", "predicted", "error (pred − actual)", "interval low", "interval high"), tuple(rows)))  # fmt: skip
        hits = [k for k, v in scores.items() if k.endswith("_hit_rate") and number(v) is not None]
        result = ", ".join(f"{k.removeprefix('steel_').removesuffix('_hit_rate')} {'hit' if scores[k] else 'miss'}" for k in hits) or None  # fmt: skip
    importance = get_dict(data, "importance")
    if importance:
        ranked = sorted(importance.items(), key=lambda kv: -(number(kv[1]) or 0.0))
        blocks.append(Table(f"permutation importance ({get_str(data, 'target') or 'target'})", ("feature", "importance"), tuple(ranked)))  # fmt: skip
        result = f"top feature {ranked[0][0]}" if ranked else None
    rest = tuple((k, v) for k, v in data.items() if k not in ("targets", "importance", "features"))
    if rest:
        blocks.append(Fields("heat", rest))
    if scores:
        blocks.append(Fields("scores", tuple(scores.items())))
    return SampleView((get_str(data, "heat") or get_str(data, "time"), get_str(data, "grade"), result), tuple(blocks))  # fmt: skip
