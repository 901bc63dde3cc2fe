"""Task types of the labeling standard and how one image becomes one stored record.

- ``label.detection``: boxes (and transcriptions) against gold boxes;
- ``label.classification``: one image-level label against gold (a detection labeler's label
  for an image is the class of its largest non-text box);
- ``label.segmentation``: class-index masks against gold masks;
- ``label.effort``: predictions against the human-corrected final labels.

A record holds the image's gold and predicted rows, the match, and the labeler's latency, so
every number in the report is recomputed from stored records.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pingce.core.execute import Outcome
from pingce.labeling.metrics.classification import NO_LABEL
from pingce.labeling.metrics.effort import EffortCosts, image_effort
from pingce.labeling.metrics.matching import match_boxes
from pingce.labeling.metrics.text import edit_distance, normalize_text
from pingce.labeling.rows import LabelRow, label_rows
from pingce.labeling.task_types import TYPES, canonical

TASK_TYPES = TYPES  # the canonical names (older `label.*` names are aliases)


class TaskParams(BaseModel):
    """Fields every labeling task accepts (unknown fields are errors)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    type: Literal[
        "labeling.detection", "labeling.classification", "labeling.segmentation", "labeling.effort"
    ]
    title: str = ""
    title_zh: str = ""
    dimension: str = "quality"
    language: str = "en"
    weight: float = 1.0
    gold: str | None = None  # default: the run option `gold`
    gold_format: str = "auto"
    iou_threshold: float = Field(default=0.5, gt=0, le=1)
    low_overlap_threshold: float = Field(default=0.8, gt=0, le=1)
    cer_ignore_space: bool = True
    boundary_tolerance_px: float = Field(default=2.0, ge=0)
    kept_iou: float = Field(default=0.95, gt=0, le=1)
    costs: dict[str, float] = Field(default_factory=dict)
    gallery: int = Field(default=6, ge=0, le=50)

    @field_validator("type", mode="before")
    @classmethod
    def _namespaced(cls, value: Any) -> Any:
        return canonical(value) if isinstance(value, str) else value


def effort_costs(params: TaskParams) -> EffortCosts:
    return EffortCosts(**params.costs)


def image_class(rows: list[list[Any]]) -> str:
    """The image-level label of a row list: the tag, else the largest non-text box's label."""
    named = label_rows(rows)
    tags = [r.label for r in named if not r.is_box]
    if tags:
        return str(tags[0])
    boxes = [r for r in named if r.is_box and r.label != "text" and not r.crowd]
    if not boxes:
        return NO_LABEL
    return str(max(boxes, key=lambda r: (r.box_area, -r.x, -r.y)).label)


def detection_outcome(params: TaskParams, base: dict[str, Any], payload: Any = None) -> Outcome:
    gold, pred = base["gold"], base["pred"]
    gb = [r for r in gold if LabelRow.of(r).is_box]
    pb = [r for r in pred if LabelRow.of(r).is_box]
    g_rows, p_rows = label_rows(gb), label_rows(pb)
    m = match_boxes(
        [r.label for r in g_rows],
        [r.bbox for r in g_rows],
        [r.label for r in p_rows],
        [r.bbox for r in p_rows],
        params.iou_threshold,
        params.low_overlap_threshold,
        [r.crowd for r in g_rows],
    )
    edits = chars = 0
    for g, p, _ in m.valid:
        if g_rows[g].text is not None:
            ref = normalize_text(g_rows[g].text, params.cer_ignore_space)
            hyp = normalize_text(p_rows[p].text or "", params.cer_ignore_space)
            edits += edit_distance(ref, hyp)
            chars += len(ref)
    base.update(gold=gb, pred=pb, match=m.to_dict(), text=[edits, chars])
    n_valid = len(m.valid)
    n_pred, n_gold = len(pb) - len(m.ignored), len(gb) - len(m.crowd)  # crowd: COCO's ignore
    precision = n_valid / n_pred if n_pred else (1.0 if not n_gold else 0.0)
    recall = n_valid / n_gold if n_gold else (1.0 if not n_pred else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    scores = {
        "valid": n_valid,
        "mismatched": len(m.mismatched),
        "missing": len(m.missing),
        "extra": len(m.extra),
        "low_overlap": m.low_overlap,
        "image_f1": f1,
        "ignored": len(m.ignored),
    }
    return Outcome(scores=scores, data=base)


def classification_outcome(
    params: TaskParams, base: dict[str, Any], payload: Any = None
) -> Outcome:
    g, p = image_class(base["gold"]), image_class(base["pred"])
    base.update(gold_class=g, pred_class=p)
    return Outcome(scores={"correct": float(g == p)}, data=base)


def effort_outcome(params: TaskParams, base: dict[str, Any], payload: Any = None) -> Outcome:
    e = image_effort(
        base["pred"], base["gold"], effort_costs(params), params.iou_threshold, params.kept_iou
    )
    base["effort"] = e
    scores = {
        k: float(e[k]) for k in ("kept", "edited", "deleted", "added", "estimated_s", "scratch_s")
    }
    return Outcome(scores=scores, data=base)


def segmentation_outcome(params: TaskParams, base: dict[str, Any], payload: Any) -> Outcome:
    """`payload` carries the image's gold and predicted class-index masks and the class count."""
    import numpy as np

    gold_mask, pred_mask = payload["gold_mask"], payload["pred_mask"]
    n_classes = payload["n_classes"]

    from pingce.labeling.metrics.segmentation import image_stats

    if pred_mask is None:
        pred_mask = np.zeros_like(gold_mask)
    if pred_mask.shape != gold_mask.shape:
        base["problems"] = [
            *base.get("problems", []),
            {
                "kind": "malformed",
                "file": "",
                "image": base["image"],
                "detail": f"predicted mask {pred_mask.shape} differs from gold {gold_mask.shape}; scored as empty",
            },
        ]
        pred_mask = np.zeros_like(gold_mask)
    stats = image_stats(gold_mask, pred_mask, n_classes, params.boundary_tolerance_px)
    base["seg"] = stats
    inter = sum(v[0] for v in stats.values())
    return Outcome(
        scores={
            "pixel_accuracy": float((gold_mask == pred_mask).mean()),
            "classes": float(len(stats)),
            "intersection": float(inter),
        },
        data=base,
    )
