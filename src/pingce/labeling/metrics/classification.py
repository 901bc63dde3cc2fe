"""Image classification against gold: confusion matrix, accuracy, macro/micro F1, Cohen's κ.

Labels are the union of gold and predicted labels (as scikit-learn does by default); an
image without a prediction counts under the label ``(none)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

NO_LABEL = "(none)"


@dataclass(frozen=True)
class ClassificationScores:
    labels: list[str]
    confusion: np.ndarray  # rows gold, columns predicted
    accuracy: float
    macro_f1: float
    micro_f1: float
    kappa: float
    per_class: dict[str, dict[str, float]]  # precision, recall, f1, support


def confusion_matrix(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(labels)}
    cm = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for g, p in zip(gold, pred, strict=True):
        cm[index[g], index[p]] += 1
    return cm


def classification_scores(gold: Sequence[str], pred: Sequence[str]) -> ClassificationScores:
    """Scores of `pred` against `gold` (same length, one label per image)."""
    labels = sorted(set(gold) | set(pred))
    cm = confusion_matrix(gold, pred, labels).astype(np.float64)
    n = cm.sum()
    tp = np.diag(cm)
    col, row = cm.sum(axis=0), cm.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(col > 0, tp / col, 0.0)
        recall = np.where(row > 0, tp / row, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    accuracy = float(tp.sum() / n) if n else 0.0
    # Micro F1 over single-label predictions: micro precision = micro recall = accuracy.
    micro = accuracy
    expected = float((row * col).sum() / (n * n)) if n else 0.0
    kappa = (
        (accuracy - expected) / (1 - expected) if expected < 1 else (1.0 if accuracy == 1 else 0.0)
    )
    per_class = {
        c: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": float(row[i]),
        }
        for i, c in enumerate(labels)
    }
    return ClassificationScores(
        labels,
        cm.astype(np.int64),
        accuracy,
        float(f1.mean()) if len(labels) else 0.0,
        micro,
        float(kappa),
        per_class,
    )
