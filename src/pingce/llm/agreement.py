"""Agreement between judges: Cohen's kappa (two raters) and Krippendorff's alpha (any number,
missing ratings allowed).

Both follow their textbook definitions (Cohen 1960 / Fleiss-Cohen weights; Krippendorff
2011, "Computing Krippendorff's Alpha-Reliability", coincidence matrices); tests check them
against scikit-learn's `cohen_kappa_score` and the `krippendorff` package.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

Weights = Literal["linear", "quadratic"] | None
Level = Literal["nominal", "ordinal", "interval", "ratio"]


def cohen_kappa(a: Sequence[object], b: Sequence[object], weights: Weights = None) -> float:
    """Cohen's kappa of two raters' labels over the same items (NaN when undefined)."""
    if len(a) != len(b):
        raise ValueError("both raters must rate the same items")
    if not a:
        return math.nan
    labels = sorted(set(a) | set(b), key=lambda x: (str(type(x)), x))  # type: ignore[arg-type]
    index = {lab: i for i, lab in enumerate(labels)}
    k = len(labels)
    observed = np.zeros((k, k))
    for x, y in zip(a, b, strict=True):
        observed[index[x], index[y]] += 1
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    if weights is None:
        w = 1.0 - np.eye(k)
    else:
        grid = np.abs(np.subtract.outer(np.arange(k), np.arange(k))).astype(float)
        w = grid if weights == "linear" else grid**2
    denom = float((w * expected).sum())
    if denom == 0:
        return math.nan
    return 1.0 - float((w * observed).sum()) / denom


def krippendorff_alpha(data: Sequence[Sequence[float | None]], level: Level = "interval") -> float:
    """Krippendorff's alpha of a raters x units matrix (None or NaN = missing rating)."""
    matrix = np.array(
        [[math.nan if v is None else float(v) for v in row] for row in data], dtype=float
    )
    if matrix.ndim != 2:
        raise ValueError("expected a raters x units matrix")
    values = np.unique(matrix[~np.isnan(matrix)])
    if values.size == 0:
        return math.nan
    pos = {v: i for i, v in enumerate(values)}
    k = values.size
    coincidence = np.zeros((k, k))
    for unit in matrix.T:
        present = unit[~np.isnan(unit)]
        m = present.size
        if m < 2:
            continue  # a unit rated once pairs with nothing
        counts = np.zeros(k)
        for v in present:
            counts[pos[v]] += 1
        pairs = np.outer(counts, counts) - np.diag(counts)
        coincidence += pairs / (m - 1)
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    if n <= 1:
        return math.nan
    delta = _distance(values, n_c, level)
    observed = float((coincidence * delta).sum())
    expected = float((np.outer(n_c, n_c) * delta).sum()) / (n - 1)
    if expected == 0:
        return math.nan
    return 1.0 - observed / expected


def _distance(values: np.ndarray, n_c: np.ndarray, level: Level) -> np.ndarray:
    """Squared difference function delta^2(c, k) of the measurement level."""
    if level == "nominal":
        return 1.0 - np.eye(values.size)
    if level == "interval":
        return np.subtract.outer(values, values) ** 2
    if level == "ratio":
        s = np.add.outer(values, values)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = (np.subtract.outer(values, values) / s) ** 2
        return np.nan_to_num(d)
    if level == "ordinal":
        cum = np.cumsum(n_c)
        k = values.size
        d = np.zeros((k, k))
        for i in range(k):
            for j in range(k):
                lo, hi = min(i, j), max(i, j)
                between = cum[hi] - (cum[lo - 1] if lo > 0 else 0.0)
                d[i, j] = (between - (n_c[i] + n_c[j]) / 2.0) ** 2
        return d
    raise ValueError(f"unknown level of measurement {level!r}")
