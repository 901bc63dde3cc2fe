"""Numerical consistency between a source model's outputs and a converted model's outputs.

Per sample and per output, `compare_output` keeps the sufficient statistics from which every
dataset-level figure is recomputed (so reports come from stored records alone):

- absolute error |t - s| and relative error |t - s| / |s| (the source is the reference; like
  Polygraphy, a zero in the source gets 2.22e-16 added before dividing);
- an element passes the tolerance check when abs err <= atol OR rel err <= rtol (Polygraphy's
  `elemwise` rule, defaults 1e-5/1e-5); a sample is "allclose" when all its elements pass;
- cosine similarity, RMSE and relative Euclidean distance ||t - s|| / ||s||;
- for class-score outputs (1-D per sample): KL(softmax(s) || softmax(t)) in nats, top-1
  agreement and top-k overlap |topk(s) ∩ topk(t)| / k.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

EPSILON = 2.220446049250313e-16  # what Polygraphy adds to zero reference values
DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-5


def _as_float64(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.bool_:
        return arr.astype(np.float64)
    return np.asarray(arr, dtype=np.float64)


def compare_output(
    source: np.ndarray, target: np.ndarray, *, rtol: float, atol: float, topk: int = 5
) -> dict[str, Any]:
    """Error statistics of one sample's output (arrays without the batch axis)."""
    if source.shape != target.shape:
        return {"shape_mismatch": [list(source.shape), list(target.shape)], "allclose": 0}
    s = _as_float64(source).ravel()
    t = _as_float64(target).ravel()
    absdiff = np.abs(t - s)
    ref = s.copy()
    ref[ref == 0] += EPSILON
    reldiff = absdiff / np.abs(ref)
    finite = bool(np.all(np.isfinite(absdiff)))
    passed = bool(np.all((absdiff <= atol) | (reldiff <= rtol))) and finite
    s_sq, t_sq, dot = float(s @ s), float(t @ t), float(s @ t)
    denom = math.sqrt(s_sq * t_sq)
    cosine = dot / denom if denom > 0 else (1.0 if s_sq == t_sq == 0 else 0.0)
    stats: dict[str, Any] = {
        "n": int(s.size),
        "max_abs": float(absdiff.max()) if s.size else 0.0,
        "max_rel": float(reldiff.max()) if s.size else 0.0,
        "sum_abs": float(absdiff.sum()),
        "sum_rel": float(reldiff.sum()),
        "sse": float(absdiff @ absdiff),
        "ref_sq": s_sq,
        "cosine": float(cosine),
        "allclose": int(passed),
    }
    if source.ndim == 1 and source.size > 1 and np.issubdtype(source.dtype, np.floating):
        from scipy.special import log_softmax  # ~0.1 s to import: only when used

        log_p, log_q = log_softmax(s), log_softmax(t)
        stats["kl"] = float(np.sum(np.exp(log_p) * (log_p - log_q)))
        k = min(topk, s.size)
        top_s = np.argsort(-s, kind="stable")[:k]
        top_t = np.argsort(-t, kind="stable")[:k]
        stats["top1"] = int(top_s[0] == top_t[0])
        stats["topk"] = len(set(top_s.tolist()) & set(top_t.tolist())) / k
        stats["pred_source"] = int(top_s[0])
        stats["pred_target"] = int(top_t[0])
    return stats


def combine_outputs(per_output: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One sample's statistics over all its outputs (max of maxima, sums of sums)."""
    rows = [r for r in per_output.values() if "shape_mismatch" not in r]
    if len(rows) != len(per_output):
        return {"allclose": 0, "shape_mismatch": 1}
    out: dict[str, Any] = {
        "n": sum(r["n"] for r in rows),
        "max_abs": max(r["max_abs"] for r in rows),
        "max_rel": max(r["max_rel"] for r in rows),
        "sum_abs": sum(r["sum_abs"] for r in rows),
        "sum_rel": sum(r["sum_rel"] for r in rows),
        "sse": sum(r["sse"] for r in rows),
        "ref_sq": sum(r["ref_sq"] for r in rows),
        "cosine": float(np.mean([r["cosine"] for r in rows])),
        "allclose": int(all(r["allclose"] for r in rows)),
    }
    first = rows[0]  # class-score figures come from the first output (the logits)
    for key in ("kl", "top1", "topk", "pred_source", "pred_target"):
        if key in first:
            out[key] = first[key]
    return out


def compare_batch(
    source: Sequence[np.ndarray],
    target: Sequence[np.ndarray],
    names: Sequence[str],
    *,
    rtol: float,
    atol: float,
    topk: int = 5,
) -> list[dict[str, dict[str, Any]]]:
    """Per-sample, per-output statistics for one batch (outputs matched by position)."""
    n = len(source[0]) if source and np.ndim(source[0]) else 1
    samples: list[dict[str, dict[str, Any]]] = [{} for _ in range(n)]
    for name, s_arr, t_arr in zip(names, source, target, strict=False):
        batched = s_arr.ndim > 0 and t_arr.ndim > 0 and len(s_arr) == n and len(t_arr) == n
        for i in range(n):
            s_i = s_arr[i] if batched else s_arr
            t_i = t_arr[i] if batched else t_arr
            samples[i][name] = compare_output(s_i, t_i, rtol=rtol, atol=atol, topk=topk)
    return samples


# ---- dataset-level statistics over per-sample items (used as MetricDef.statistic) ----


def stat_max(items: Sequence[float]) -> float:
    return float(max(items))


def stat_ratio(items: Sequence[Sequence[float]]) -> float:
    """sum(a) / sum(b) over items [a, b] (e.g. mean relative error = Σ rel / Σ n)."""
    num = sum(i[0] for i in items)
    den = sum(i[1] for i in items)
    return num / den if den else 0.0


def stat_sqrt_ratio(items: Sequence[Sequence[float]]) -> float:
    """sqrt(Σa / Σb) over items [a, b] (RMSE = sqrt(Σ sse / Σ n), rel. L2 = sqrt(Σ sse / Σ s²))."""
    return math.sqrt(stat_ratio(items))


def stat_mean_delta(items: Sequence[Sequence[float]]) -> float:
    """mean(b) - mean(a) over items [a, b] (e.g. target accuracy minus source accuracy)."""
    return float(np.mean([i[1] for i in items]) - np.mean([i[0] for i in items]))
