"""Scores of model answers to generated logistics-park items, rolled up per indicator.

`score_item` turns one answer into the per-sample values of the item type's metrics (the
values a record stores); `indicator_rows` rolls many up with each metric's statistic and
bootstrap CI (`MetricDef.row`). A missing answer counts as a wrong one (a yes/no item as the
opposite answer, a count as no count, a box as no box).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from pingce.core.errors import DataError
from pingce.vlm import metrics as m
from pingce.vlm.logistics import ITEM_TYPES


def score_item(item: Mapping[str, Any], prediction: str | None) -> dict[str, Any]:
    """Per-sample values of one answer (None: no answer) to one generated item, by its metric."""
    answers = [str(a) for a in item["answers"]]
    metric = item["metric"]
    if prediction is None:  # a yes/no item takes the wrong side, so F1 and yes-ratio count it
        wrong_side = "no" if answers[0] == "yes" else "yes"
        prediction = wrong_side if metric == "pope_accuracy" else ""
    if metric == "count_accuracy":
        err = m.count_error(prediction, int(answers[0]))
        return {"count_accuracy": float(err == 0), "count_off_by_one": float(err <= 1), "count_mae": err if math.isfinite(err) else None}  # fmt: skip
    if metric == "grounding_acc_at_0_5":
        meta = item["meta"]
        box = tuple(float(v) for v in meta["box"])
        value = m.grounding_iou(prediction, (box[0], box[1], box[2], box[3]), meta["width"], meta["height"], "pixel")  # fmt: skip
        return {"grounding_iou": value, "grounding_acc_at_0_5": float(value >= 0.5)}
    if metric == "anls":
        return {"anls": m.anls(prediction, answers)}
    if metric == "pope_accuracy":
        said_yes, is_yes = m.pope_answer(prediction) == "yes", answers[0] == "yes"
        pair = [int(said_yes), int(is_yes)]
        return {"pope_accuracy": float(said_yes == is_yes), "pope_f1": pair, "pope_yes_ratio": pair}
    raise DataError(f"item {item.get('id')!r}: unknown metric {metric!r}")


def indicator_rows(
    items: Sequence[Mapping[str, Any]], predictions: Mapping[str, str], *, seed: int = 0
) -> list[dict[str, Any]]:
    """One row per item type present: indicator id, names, n, n_missing and each metric's
    report row (value, stderr, CI)."""
    rows = []
    for type_name, spec in ITEM_TYPES.items():
        mine = [it for it in items if it["item_type"] == type_name]
        if not mine:
            continue
        values: dict[str, list[Any]] = {}
        for it in mine:
            for name, v in score_item(it, predictions.get(str(it["id"]))).items():
                values.setdefault(name, []).append(v)
        metric_rows = {
            name: m.METRICS[name].row([v for v in vs if v is not None], seed=seed, n_resamples=200)
            for name, vs in values.items()
        }
        rows.append({
            "indicator": spec.indicator, "name": spec.name, "name_zh": spec.name_zh,
            "primary": spec.metric, "n": len(mine),
            "n_missing": sum(1 for it in mine if str(it["id"]) not in predictions),
            "metrics": metric_rows,
        })  # fmt: skip
    return rows
