"""Semantic segmentation quality: per-class IoU, mIoU, Dice and boundary F1.

Masks are (H, W) integer class maps; `ignore_index` pixels of the ground truth are left out
(as mmsegmentation and torchmetrics do). IoU and Dice are dataset-level (summed confusion over
all images, the Cityscapes/mmseg convention); mIoU averages over classes that occur in the
ground truth or the prediction. Boundary F1 (Csurka et al., BMVC 2013): a boundary pixel of a
class counts as matched when the other mask's boundary of that class lies within `tolerance`
pixels (Euclidean); precision over predicted, recall over true boundary pixels, summed over
images per class and averaged over classes.
"""

from __future__ import annotations

import numpy as np


def confusion(
    gt: np.ndarray, pred: np.ndarray, n_classes: int, ignore_index: int | None = 255
) -> np.ndarray:
    """(C, C) pixel counts: row true class, column predicted class."""
    g = np.asarray(gt, dtype=np.int64).ravel()
    p = np.asarray(pred, dtype=np.int64).ravel()
    if g.shape != p.shape:
        raise ValueError(f"prediction has {p.size} pixels, ground truth {g.size}")
    keep = (g >= 0) & (g < n_classes)
    if ignore_index is not None:
        keep &= g != ignore_index
    p = np.clip(p[keep], 0, n_classes)  # out-of-range predictions: an extra 'wrong' column
    cm = np.bincount(g[keep] * (n_classes + 1) + p, minlength=n_classes * (n_classes + 1))
    return cm.reshape(n_classes, n_classes + 1)[:, :n_classes]


def iou_dice(
    cm: np.ndarray, pred_pixels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-class IoU and Dice from a confusion matrix (NaN where a class never occurs)."""
    tp = np.diag(cm).astype(np.float64)
    fp = (cm.sum(axis=0) if pred_pixels is None else pred_pixels).astype(np.float64) - tp
    fn = cm.sum(axis=1).astype(np.float64) - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(tp + fp + fn > 0, tp / (tp + fp + fn), np.nan)
        dice = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
    return iou, dice


def _boundary(mask: np.ndarray) -> np.ndarray:
    """Pixels of `mask` with a 4-neighbour outside it (image borders are not boundaries)."""
    m = mask.astype(bool)
    pad = np.pad(m, 1, mode="edge")
    inner = pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:]
    return m & ~inner


def boundary_counts(
    gt: np.ndarray, pred: np.ndarray, n_classes: int, tolerance: float = 2.0
) -> np.ndarray:
    """(C, 4) per class: [matched predicted, predicted, matched true, true] boundary pixels."""
    from scipy.ndimage import distance_transform_edt

    out = np.zeros((n_classes, 4), dtype=np.int64)
    for c in range(n_classes):
        bg, bp = _boundary(gt == c), _boundary(pred == c)
        if not bg.any() and not bp.any():
            continue
        dist_to_g = distance_transform_edt(~bg) if bg.any() else np.full(bg.shape, np.inf)
        dist_to_p = distance_transform_edt(~bp) if bp.any() else np.full(bp.shape, np.inf)
        out[c] = [
            int((dist_to_g[bp] <= tolerance).sum()),
            int(bp.sum()),
            int((dist_to_p[bg] <= tolerance).sum()),
            int(bg.sum()),
        ]
    return out


def boundary_f1(counts: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-class boundary F1 from summed `boundary_counts`, and their mean over classes with
    any boundary."""
    mp, p, mt, t = (counts[:, i].astype(np.float64) for i in range(4))
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(p > 0, mp / p, 0.0)
        rec = np.where(t > 0, mt / t, 0.0)
        f1 = np.where(prec + rec > 0, 2 * prec * rec / (prec + rec), 0.0)
    f1 = np.where((p > 0) | (t > 0), f1, np.nan)
    seen = ~np.isnan(f1)
    return f1, float(f1[seen].mean()) if seen.any() else float("nan")
