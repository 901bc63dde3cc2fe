"""Semantic segmentation against gold masks: IoU, Dice and boundary F1 per class.

Masks hold a class index per pixel. Per image and class the module keeps the sufficient
statistics (intersection, union, predicted and gold pixel counts, boundary hits), so a data
set's numbers are sums over stored per-image records:

- IoU_c = Σ intersection / Σ union; mIoU = mean over classes present in gold or prediction.
- Dice_c = 2 Σ intersection / (Σ |pred| + Σ |gold|); mean Dice likewise.
- Boundary F1 (Csurka et al., BMVC 2013): a class's boundary pixels are mask pixels with a
  4-neighbour outside the mask (the image edge is not a boundary); boundary precision is the
  share of predicted boundary pixels within ``tolerance`` pixels (Euclidean) of a gold boundary
  pixel, recall the reverse; F1 per (image, class), averaged over the images where the class
  occurs, then over classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from scipy import ndimage

_CROSS = ndimage.generate_binary_structure(2, 1)


def boundary(mask: np.ndarray) -> np.ndarray:
    """Boundary pixels of a boolean mask (edge-padded so the image border is not a boundary)."""
    padded = np.pad(mask, 1, mode="edge")
    eroded = ndimage.binary_erosion(padded, structure=_CROSS)[1:-1, 1:-1]
    return mask & ~eroded


def _hits(src: np.ndarray, dst: np.ndarray, tolerance: float) -> int:
    """How many `src` boundary pixels lie within `tolerance` px of a `dst` boundary pixel."""
    if not src.any() or not dst.any():
        return 0
    dist = ndimage.distance_transform_edt(~dst)
    return int((dist[src] <= tolerance).sum())


def image_stats(
    gold: np.ndarray, pred: np.ndarray, n_classes: int, tolerance: float = 2.0
) -> dict[str, list[int]]:
    """Per class index (as str) present in either mask: [inter, union, pred px, gold px,
    pred boundary px, pred boundary hits, gold boundary px, gold boundary hits]."""
    if gold.shape != pred.shape:
        raise ValueError(f"mask shapes differ: gold {gold.shape}, pred {pred.shape}")
    out: dict[str, list[int]] = {}
    present = set(np.unique(gold).tolist()) | set(np.unique(pred).tolist())
    for c in sorted(present):
        if c >= n_classes:
            continue
        g, p = gold == c, pred == c
        bg, bp = boundary(g), boundary(p)
        out[str(c)] = [
            int((g & p).sum()),
            int((g | p).sum()),
            int(p.sum()),
            int(g.sum()),
            int(bp.sum()),
            _hits(bp, bg, tolerance),
            int(bg.sum()),
            _hits(bg, bp, tolerance),
        ]
    return out


def _f1(p_total: int, p_hits: int, g_total: int, g_hits: int) -> float:
    precision = p_hits / p_total if p_total else 0.0
    recall = g_hits / g_total if g_total else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def summarize_segmentation(
    per_image: Iterable[Mapping[str, list[int]]], classes: list[str]
) -> dict[str, Any]:
    """mIoU, mean Dice, mean boundary F1 and the per-class values from per-image stats."""
    sums: dict[str, np.ndarray] = {}
    bf: dict[str, list[float]] = {}
    for stats in per_image:
        for c, row in stats.items():
            sums[c] = sums.get(c, np.zeros(8, dtype=np.int64)) + np.asarray(row, dtype=np.int64)
            bf.setdefault(c, []).append(_f1(row[4], row[5], row[6], row[7]))
    per_class = {}
    for c in sorted(sums, key=int):
        s = sums[c]
        name = classes[int(c)] if int(c) < len(classes) else c
        per_class[name] = {
            "iou": s[0] / s[1] if s[1] else 0.0,
            "dice": 2 * s[0] / (s[2] + s[3]) if s[2] + s[3] else 0.0,
            "boundary_f1": float(np.mean(bf[c])),
            "gold_pixels": int(s[3]),
            "pred_pixels": int(s[2]),
        }

    def mean(key: str) -> float:  # noqa: E306
        vals = [float(v[key]) for v in per_class.values()]
        return float(np.mean(vals)) if vals else 0.0

    return {
        "miou": mean("iou"),
        "dice": mean("dice"),
        "boundary_f1": mean("boundary_f1"),
        "per_class": per_class,
    }
