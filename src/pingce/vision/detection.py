"""Object detection quality: the COCO AP family through pycocotools' COCOeval, and
precision/recall/F1 at one IoU threshold (greedy one-to-one matching by descending score,
per class, as COCOeval matches).

An image's boxes are rows `[label, x, y, w, h]` (gold) and `[label, x, y, w, h, score]`
(predictions), in pixels, x/y the top-left corner.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

COCO_KEYS = ("ap", "ap50", "ap75", "ap_small", "ap_medium", "ap_large", "ar1", "ar10", "ar100")


@dataclass(frozen=True)
class DetImage:
    width: int
    height: int
    gold: list[list[Any]]
    pred: list[list[Any]]


def coco_ap(images: Sequence[DetImage], classes: Sequence[str]) -> dict[str, float | None]:
    """COCOeval's 12 summary numbers (the 9 in COCO_KEYS), None where COCO says -1."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    cat_id = {c: i + 1 for i, c in enumerate(classes)}
    gt: dict[str, Any] = {
        "images": [],
        "annotations": [],
        "categories": [{"id": i, "name": c} for c, i in cat_id.items()],
    }
    dets = []
    for img_id, im in enumerate(images, start=1):
        gt["images"].append({"id": img_id, "width": im.width, "height": im.height})
        for row in im.gold:
            x, y, w, h = (float(v) for v in row[1:5])
            gt["annotations"].append(
                {
                    "id": len(gt["annotations"]) + 1,
                    "image_id": img_id,
                    "category_id": cat_id[row[0]],
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
        for row in im.pred:
            if row[0] in cat_id:
                dets.append(
                    {
                        "image_id": img_id,
                        "category_id": cat_id[row[0]],
                        "bbox": [float(v) for v in row[1:5]],
                        "score": float(row[5]),
                    }
                )
    if not gt["annotations"]:
        return dict.fromkeys(COCO_KEYS)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(dets) if dets else COCO()
        if not dets:
            return dict.fromkeys(COCO_KEYS, 0.0)
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    idx = (0, 1, 2, 3, 4, 5, 6, 7, 8)
    return {
        k: (None if ev.stats[i] < 0 else float(ev.stats[i]))
        for k, i in zip(COCO_KEYS, idx, strict=True)
    }


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def match_counts(
    im: DetImage, iou_threshold: float = 0.5, min_score: float = 0.0
) -> tuple[int, int, int]:
    """(true positives, predictions, gold boxes) for one image at `iou_threshold`."""
    preds = sorted((p for p in im.pred if float(p[5]) >= min_score), key=lambda p: -float(p[5]))
    used = [False] * len(im.gold)
    tp = 0
    for p in preds:
        best, best_iou = -1, iou_threshold
        for gi, g in enumerate(im.gold):
            if used[gi] or g[0] != p[0]:
                continue
            iou = box_iou(g[1:5], p[1:5])
            if iou >= best_iou:
                best, best_iou = gi, iou
        if best >= 0:
            used[best] = True
            tp += 1
    return tp, len(preds), len(im.gold)


def prf(counts: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall, F1 from summed (tp, predicted, gold) counts."""
    tp, npred, ngold = (float(v) for v in np.asarray(counts).sum(axis=0))
    p = tp / npred if npred else 0.0
    r = tp / ngold if ngold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
