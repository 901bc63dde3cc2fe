"""Calibration of multiple-choice answers from the choice probabilities.

A question's choice probabilities are the softmax of its choices' loglikelihoods; the
model's answer is the most probable choice and its confidence that probability.

- ECE (equal width): confidences in `n_bins` equal-width bins over [0, 1] (a confidence on
  an inner edge goes to the lower bin, as `sklearn.calibration.calibration_curve` bins);
  ECE = Σ_b (n_b / N) · |accuracy_b − mean confidence_b|.
- ECE (adaptive): the same over `n_bins` bins of (nearly) equal counts, items sorted by
  confidence (Nixon et al. 2019).
- Brier score: mean over questions of Σ_k (p_k − y_k)², y the one-hot gold (0 is perfect,
  2 the worst).
- Selective accuracy at coverage c: accuracy on the ceil(c·N) most confident answers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

COVERAGES = (0.25, 0.5, 0.8, 1.0)


def choice_probabilities(loglikelihoods: Sequence[float]) -> list[float]:
    top = max(loglikelihoods)
    exps = [math.exp(x - top) for x in loglikelihoods]
    total = sum(exps)
    return [e / total for e in exps]


def ece_equal_width(
    confidence: Sequence[float], correct: Sequence[float], n_bins: int = 10
) -> float:
    conf = np.asarray(confidence, dtype=float)
    corr = np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], conf, side="left")
    total = 0.0
    for b in range(n_bins):
        mask = ids == b
        if mask.any():
            total += mask.sum() / len(conf) * abs(corr[mask].mean() - conf[mask].mean())
    return float(total)


def ece_adaptive(confidence: Sequence[float], correct: Sequence[float], n_bins: int = 10) -> float:
    conf = np.asarray(confidence, dtype=float)
    corr = np.asarray(correct, dtype=float)
    order = np.argsort(conf, kind="stable")
    total = 0.0
    for chunk in np.array_split(order, min(n_bins, len(conf))):
        if len(chunk):
            total += len(chunk) / len(conf) * abs(corr[chunk].mean() - conf[chunk].mean())
    return float(total)


def brier(probabilities: Sequence[Sequence[float]], gold: Sequence[int]) -> float:
    scores = []
    for probs, g in zip(probabilities, gold, strict=True):
        onehot = np.zeros(len(probs))
        onehot[g] = 1.0
        scores.append(float(((np.asarray(probs) - onehot) ** 2).sum()))
    return float(np.mean(scores))


def selective_accuracy(
    confidence: Sequence[float], correct: Sequence[float], coverage: float
) -> float:
    order = np.argsort(-np.asarray(confidence, dtype=float), kind="stable")
    keep = max(1, math.ceil(coverage * len(order)))
    return float(np.asarray(correct, dtype=float)[order[:keep]].mean())


def reliability(
    confidence: Sequence[float], correct: Sequence[float], n_bins: int = 10
) -> list[dict[str, float]]:
    """Per non-empty equal-width bin: mean confidence, accuracy, count."""
    conf = np.asarray(confidence, dtype=float)
    corr = np.asarray(correct, dtype=float)
    ids = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], conf, side="left")
    return [
        {
            "confidence": float(conf[ids == b].mean()),
            "accuracy": float(corr[ids == b].mean()),
            "count": int((ids == b).sum()),
        }
        for b in range(n_bins)
        if (ids == b).any()
    ]


def calibration_report(
    records: Sequence[dict[str, Any]], n_bins: int = 10
) -> dict[str, Any] | None:
    """Calibration of a multiple-choice task from its stored records (None if not MC)."""
    probs, gold = [], []
    for rec in records:
        d = rec["data"]
        lls, g = d.get("loglikelihoods"), d.get("gold")
        if not lls or not isinstance(g, int) or len(lls) < 2:
            return None
        probs.append(choice_probabilities(lls))
        gold.append(g)
    if not probs:
        return None
    conf = [max(p) for p in probs]
    correct = [float(p.index(max(p)) == g) for p, g in zip(probs, gold, strict=True)]
    return {
        "n": len(probs),
        "accuracy": float(np.mean(correct)),
        "mean_confidence": float(np.mean(conf)),
        "ece": ece_equal_width(conf, correct, n_bins),
        "ece_adaptive": ece_adaptive(conf, correct, n_bins),
        "brier": brier(probs, gold),
        "selective": {f"{c:g}": selective_accuracy(conf, correct, c) for c in COVERAGES},
        "bins": reliability(conf, correct, n_bins),
    }
