"""Industrial defect (anomaly) detection metrics, following the MVTec AD protocol.

- image AUROC: ROC AUC of per-image anomaly scores against good/defective labels;
- pixel AUROC: ROC AUC of every pixel's anomaly score against the ground-truth masks;
- AUPRO: area under the per-region-overlap curve up to a false-positive rate of 30 %,
  divided by 0.3 (Bergmann et al., MVTec AD, IJCV 2021; the official `compute_pro` /
  anomalib's `AUPRO(fpr_limit=0.3)`): for a threshold t, PRO(t) is the mean over every
  connected defect region (8-connectivity) of the share of its pixels scored >= t, and
  FPR(t) the share of all defect-free pixels scored >= t; the curve is computed exactly at
  every distinct score and interpolated linearly at the limit;
- F1 at the best threshold: the largest F1 over all thresholds of the image scores
  (anomalib's F1Max / F1AdaptiveThreshold).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FPR_LIMIT = 0.3


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney U with midranks for ties); NaN when one class is absent."""
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    ranks = np.empty(len(s), dtype=np.float64)
    # Midranks: positions of equal scores share the mean of their 1-based ranks.
    uniq_start = np.r_[0, np.flatnonzero(np.diff(sorted_s)) + 1]
    uniq_end = np.r_[uniq_start[1:], len(s)]
    mid = (uniq_start + uniq_end + 1) / 2.0
    ranks[order] = np.repeat(mid, uniq_end - uniq_start)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def f1_max(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """(best F1, its threshold): predicting defective for score >= threshold."""
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan"), float("nan")
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    tp = np.cumsum(y_sorted)
    fp = np.cumsum(~y_sorted)
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), len(s) - 1]  # last index of each score
    tp, fp = tp[last], fp[last]
    f1 = 2 * tp / (tp + fp + n_pos)
    best = int(np.argmax(f1))
    return float(f1[best]), float(s_sorted[last][best])


def _regions(mask: np.ndarray) -> tuple[np.ndarray, int]:
    from scipy.ndimage import label

    return label(mask.astype(bool), structure=np.ones((3, 3), dtype=int))


def pro_curve(
    masks: Sequence[np.ndarray], maps: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, pro) at every distinct score, fpr ascending from 0 (the official exact curve).

    `masks[i]` is a (H, W) 0/1 defect mask, `maps[i]` the anomaly map of the same shape.
    """
    scores, fpr_step, pro_step = [], [], []
    n_regions = 0
    ok_pixels = 0
    region_pixels: list[tuple[np.ndarray, np.ndarray]] = []
    for mask, amap in zip(masks, maps, strict=True):
        amap = np.asarray(amap, dtype=np.float64)
        m = np.asarray(mask).astype(bool)
        if amap.shape != m.shape:
            raise ValueError(f"anomaly map {amap.shape} and mask {m.shape} differ")
        lab, n = _regions(m)
        ok_pixels += int((~m).sum())
        n_regions += n
        region_pixels.append((lab, amap))
    if n_regions == 0 or ok_pixels == 0:
        return np.array([0.0]), np.array([0.0])
    for lab, amap in region_pixels:
        flat_lab = lab.ravel()
        flat = amap.ravel()
        scores.append(flat)
        fpr_step.append(np.where(flat_lab == 0, 1.0 / ok_pixels, 0.0))
        sizes = np.bincount(flat_lab)
        w = np.zeros_like(flat)
        inside = flat_lab > 0
        w[inside] = 1.0 / (n_regions * sizes[flat_lab[inside]])
        pro_step.append(w)
    s = np.concatenate(scores)
    order = np.argsort(-s, kind="mergesort")
    s = s[order]
    fpr = np.cumsum(np.concatenate(fpr_step)[order])
    pro = np.cumsum(np.concatenate(pro_step)[order])
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    fpr = np.r_[0.0, np.clip(fpr[last], 0.0, 1.0)]
    pro = np.r_[0.0, np.clip(pro[last], 0.0, 1.0)]
    return fpr, pro


def aupro(
    masks: Sequence[np.ndarray], maps: Sequence[np.ndarray], fpr_limit: float = FPR_LIMIT
) -> float:
    """Normalized area under the PRO curve for FPR in [0, fpr_limit] (1.0 is perfect)."""
    fpr, pro = pro_curve(masks, maps)
    if len(fpr) < 2:
        return float("nan")
    if fpr[-1] < fpr_limit:  # cannot happen with every pixel counted, kept for safety
        fpr, pro = np.r_[fpr, fpr_limit], np.r_[pro, pro[-1]]
    i = int(np.searchsorted(fpr, fpr_limit, side="right"))
    x, y = fpr[:i], pro[:i]
    if x[-1] < fpr_limit:
        x0, x1, y0, y1 = fpr[i - 1], fpr[i], pro[i - 1], pro[i]
        y_lim = y0 + (y1 - y0) * (fpr_limit - x0) / (x1 - x0) if x1 > x0 else y1
        x, y = np.r_[x, fpr_limit], np.r_[y, y_lim]
    return float(np.trapezoid(y, x) / fpr_limit)
