"""COCO detection metrics through pycocotools' COCOeval (the reference implementation).

AP@[.5:.95], AP50, AP75, AP small/medium/large, AR@1/10/100 and AP per class. Gold boxes keep
the source's own ``area`` (a mask's area for segmented objects; ``w * h`` when the source gave
none) and ``iscrowd``, so size ranges and crowd regions are those of the gold file; a prediction
without a score gets score 1, so its AP is that of a single operating point (the report says so).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pingce.labeling.rows import label_rows

STAT_NAMES = (
    "ap",
    "ap50",
    "ap75",
    "ap_small",
    "ap_medium",
    "ap_large",
    "ar1",
    "ar10",
    "ar100",
    "ar_small",
    "ar_medium",
    "ar_large",
)


@dataclass(frozen=True)
class CocoImage:
    """One image's boxes: gold [(label, x, y, w, h[, score, text, area|None, iscrowd])],
    pred [(label, x, y, w, h, score|None, ...)] (the rows of `pingce.labeling.pairing.row`)."""

    width: int
    height: int
    gold: Sequence[Sequence[Any]]
    pred: Sequence[Sequence[Any]]


def coco_metrics(images: Sequence[CocoImage], categories: Sequence[str]) -> dict[str, Any]:
    """The 12 COCO summary numbers (None where COCOeval reports -1, i.e. no gold in range)
    and ``per_class`` AP@[.5:.95] / AP50 (None for classes without gold boxes)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    cat_ids = {c: i for i, c in enumerate(categories, start=1)}
    gt: dict[str, Any] = {
        "images": [
            {"id": i, "width": im.width, "height": im.height} for i, im in enumerate(images, 1)
        ],
        "categories": [{"id": v, "name": k} for k, v in cat_ids.items()],
        "annotations": [],
    }
    dets: list[dict[str, Any]] = []
    for i, im in enumerate(images, start=1):
        for g in label_rows(im.gold):
            area = g.area if g.area is not None else g.box_area
            crowd = int(g.crowd)
            gt["annotations"].append(
                {
                    "id": len(gt["annotations"]) + 1,
                    "image_id": i,
                    "category_id": cat_ids[g.label],
                    "bbox": g.bbox,
                    "area": float(area),
                    "iscrowd": crowd,
                }
            )
        for p in label_rows(im.pred):
            dets.append(
                {
                    "image_id": i,
                    "category_id": cat_ids[p.label],
                    "bbox": p.bbox,
                    "score": 1.0 if p.score is None else float(p.score),
                }
            )
    empty = {name: (0.0 if gt["annotations"] else None) for name in STAT_NAMES}
    if not dets or not gt["annotations"]:
        return {**empty, "per_class": {c: None for c in categories}}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(dets)
        ev = COCOeval(coco_gt, coco_dt, iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats = {
        name: (float(v) if v >= 0 else None) for name, v in zip(STAT_NAMES, ev.stats, strict=True)
    }
    precision = ev.eval[
        "precision"
    ]  # [T iou thresholds, R recall points, K classes, A areas, M maxDets]
    per_class: dict[str, Any] = {}
    for k, cat in enumerate(categories):
        p = precision[:, :, k, 0, -1]
        valid = p[p > -1]
        p50 = precision[0, :, k, 0, -1]
        per_class[cat] = (
            {"ap": float(valid.mean()), "ap50": float(p50[p50 > -1].mean())} if valid.size else None
        )
    stats["per_class"] = per_class
    return stats


def stat_array(stats: dict[str, Any]) -> np.ndarray:
    """The 12 numbers in COCOeval.stats order (-1 for None), for comparisons."""
    return np.asarray([-1.0 if stats[n] is None else stats[n] for n in STAT_NAMES])
