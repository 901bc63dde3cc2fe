"""Image classification quality from per-image labels and class scores.

All functions take `labels` (n,) int class indices and `probs` (n, C) class probabilities
(rows summing to 1; `to_probs` turns logits into probabilities). Conventions follow
scikit-learn (precision of a never-predicted class is 0) and, for ECE, Guo et al. 2017 /
torchmetrics' `MulticlassCalibrationError(norm="l1")`: equal-width confidence bins over (0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def to_probs(scores: np.ndarray) -> np.ndarray:
    """`scores` (n, C) as probabilities: kept when every row is a distribution, else softmax."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"class scores must be (n, classes); got shape {s.shape}")
    if s.size and (s >= 0).all() and np.allclose(s.sum(axis=1), 1.0, atol=1e-3):
        return s
    z = s - s.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def topk_correct(labels: np.ndarray, probs: np.ndarray, k: int) -> np.ndarray:
    """(n,) bool: the true class is among the k highest scores (ties broken by class index,
    as `torch.topk`/timm's accuracy do on distinct scores)."""
    k = min(k, probs.shape[1])
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return (order == np.asarray(labels)[:, None]).any(axis=1)


def confusion_matrix(labels: np.ndarray, preds: np.ndarray, n_classes: int) -> np.ndarray:
    """(C, C) counts: row = true class, column = predicted class (scikit-learn's layout)."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(labels, dtype=np.int64), np.asarray(preds, dtype=np.int64)), 1)
    return cm


@dataclass(frozen=True)
class PerClass:
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray  # true images per class

    @property
    def macro_f1(self) -> float:
        """Mean F1 over classes with support or predictions (sklearn's `labels=` present)."""
        seen = (self.support > 0) | (self.precision > 0)
        return float(self.f1[seen].mean()) if seen.any() else float("nan")


def per_class(cm: np.ndarray) -> PerClass:
    """Precision, recall, F1 per class from a confusion matrix (0 where undefined, as
    scikit-learn's `zero_division=0`)."""
    tp = np.diag(cm).astype(np.float64)
    pred = cm.sum(axis=0).astype(np.float64)
    true = cm.sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(pred > 0, tp / pred, 0.0)
        r = np.where(true > 0, tp / true, 0.0)
        f = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    return PerClass(p, r, f, true.astype(np.int64))


def expected_calibration_error(labels: np.ndarray, probs: np.ndarray, n_bins: int = 15) -> float:
    """ECE: sum over equal-width confidence bins of |accuracy - mean confidence| x bin share.

    Confidence is the top-1 probability; a confidence c falls in bin i when
    edges[i] < c <= edges[i+1] (torchmetrics' bucketize(right=True) convention).
    """
    labels = np.asarray(labels)
    if len(labels) == 0:
        return float("nan")
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        sel = idx == b
        if sel.any():
            total += abs(correct[sel].mean() - conf[sel].mean()) * sel.sum()
    return float(total / len(labels))


def reliability(labels: np.ndarray, probs: np.ndarray, n_bins: int = 15) -> list[list[float]]:
    """Per non-empty bin: [low edge, high edge, images, accuracy, mean confidence]."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        sel = idx == b
        if sel.any():
            rows.append(
                [
                    float(edges[b]),
                    float(edges[b + 1]),
                    int(sel.sum()),
                    float(correct[sel].mean()),
                    float(conf[sel].mean()),
                ]
            )
    return rows
