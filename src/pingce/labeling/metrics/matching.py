"""Box IoU (pycocotools) and the greedy one-to-one matching of predicted to gold boxes.

Matching, per image, in two passes over candidate pairs sorted by IoU (highest first, ties by
prediction then gold index), each accepting a pair when neither side is matched yet:

1. same-label pairs with IoU >= ``iou_threshold``            -> **valid**
2. remaining predictions inside a same-label crowd region     -> **ignored**
3. remaining pairs of any label with IoU >= ``iou_threshold`` -> **mismatched label**

Unmatched gold boxes are **missing**, unmatched predictions **extra**; valid pairs with IoU
below ``low_overlap_threshold`` are also flagged **low overlap** (CVAT's weak matches; they
stay valid). The order does not use scores because auto-labels often carry none.

Crowd regions (COCO ``iscrowd = 1``) follow COCOeval: they are never matched as ordinary gold
and never missing; a prediction of the same label whose box lies in one (intersection over the
*prediction's* area >= ``iou_threshold``, COCO's crowd IoU) is ignored: neither a true nor a
false positive. Any number of predictions can fall in one crowd region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

BoxRow = Sequence[float]  # x, y, w, h


def box_iou(pred: Sequence[BoxRow], gold: Sequence[BoxRow]) -> np.ndarray:
    """IoU matrix (len(pred), len(gold)) of xywh boxes, by pycocotools' ``mask.iou``."""
    if len(pred) == 0 or len(gold) == 0:
        return np.zeros((len(pred), len(gold)))
    from pycocotools import mask as mask_utils

    d = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    g = np.asarray(gold, dtype=np.float64).reshape(-1, 4)
    return np.asarray(mask_utils.iou(d, g, [0] * len(g)), dtype=np.float64).reshape(len(d), len(g))


@dataclass
class ImageMatch:
    """Outcome of matching one image; indices point into that image's gold / pred lists."""

    valid: list[tuple[int, int, float]] = field(default_factory=list)  # (gold, pred, iou)
    mismatched: list[tuple[int, int, float]] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    extra: list[int] = field(default_factory=list)
    low_overlap: int = 0
    ignored: list[int] = field(default_factory=list)  # predictions inside a crowd region
    crowd: list[int] = field(default_factory=list)  # gold crowd regions (not counted as gold)

    def to_dict(self) -> dict[str, object]:
        return {
            "valid": [list(t) for t in self.valid],
            "mismatched": [list(t) for t in self.mismatched],
            "missing": self.missing,
            "extra": self.extra,
            "low_overlap": self.low_overlap,
            "ignored": self.ignored,
            "crowd": self.crowd,
        }


def _greedy(
    iou: np.ndarray, allowed: np.ndarray, threshold: float, used_p: set[int], used_g: set[int]
) -> list[tuple[int, int, float]]:
    ps, gs = np.nonzero(allowed & (iou >= threshold))
    order = sorted(zip(ps.tolist(), gs.tolist(), strict=True), key=lambda t: (-iou[t], t[0], t[1]))
    pairs = []
    for p, g in order:
        if p in used_p or g in used_g:
            continue
        used_p.add(p)
        used_g.add(g)
        pairs.append((g, p, float(iou[p, g])))
    return pairs


def match_boxes(
    gold_labels: Sequence[str],
    gold_boxes: Sequence[BoxRow],
    pred_labels: Sequence[str],
    pred_boxes: Sequence[BoxRow],
    iou_threshold: float = 0.5,
    low_overlap_threshold: float = 0.8,
    gold_crowd: Sequence[bool] | None = None,
) -> ImageMatch:
    """Greedy matching of one image's predictions to its gold boxes (see module docstring).

    `gold_crowd[i]` true marks gold box i as a crowd region."""
    iou = box_iou(pred_boxes, gold_boxes)
    same = np.asarray([[p == g for g in gold_labels] for p in pred_labels], dtype=bool).reshape(
        iou.shape
    )
    crowd = np.asarray(
        [bool(c) for c in gold_crowd] if gold_crowd is not None else [False] * len(gold_boxes),
        dtype=bool,
    )
    # Crowd regions take no part in ordinary matching: they are used up from the start.
    used_p: set[int] = set()
    used_g: set[int] = {int(g) for g in np.nonzero(crowd)[0]}
    valid = _greedy(iou, same, iou_threshold, used_p, used_g)
    ignored: list[int] = []
    if crowd.any() and len(pred_boxes):
        from pycocotools import mask as mask_utils

        d = np.asarray(pred_boxes, dtype=np.float64).reshape(-1, 4)
        g = np.asarray(gold_boxes, dtype=np.float64).reshape(-1, 4)
        ciou = np.asarray(mask_utils.iou(d, g, [1] * len(g)), dtype=np.float64).reshape(iou.shape)
        inside = same & crowd[None, :] & (ciou >= iou_threshold)
        ignored = [p for p in range(len(pred_boxes)) if p not in used_p and inside[p].any()]
        used_p.update(ignored)
    mismatched = _greedy(iou, ~same, iou_threshold, used_p, used_g)
    return ImageMatch(
        valid=valid,
        mismatched=mismatched,
        missing=[g for g in range(len(gold_boxes)) if g not in used_g],
        extra=[p for p in range(len(pred_boxes)) if p not in used_p],
        low_overlap=sum(1 for _, _, v in valid if v < low_overlap_threshold),
        ignored=ignored,
        crowd=[int(g) for g in np.nonzero(crowd)[0]],
    )
