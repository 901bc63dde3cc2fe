"""MLPerf's early-stopping bound on a latency percentile, at 99% confidence.

Each query is a Bernoulli trial: "overlatency" when its latency exceeds a bound. If the
percentile target is p (0.90 for SingleStream), a run with t overlatency queries passes when
it also has at least h(t) queries under the bound, where h(t) is the smallest h with

    P(Binomial(h + t, p) >= h) = I_p(h, t + 1) <= 1 - confidence

(I is the regularised incomplete beta function). That is: were the system's true percentile
exactly p, seeing this many good queries would happen at most 1% of the time, so the observed
run supports "percentile >= p" at 99% confidence. For p = 0.90 and t = 1 this gives h = 63, the
"at least 64 queries" loadgen recommends.

The early-stopping *estimate* of the p-th percentile latency is then the t-th largest latency,
with t the largest number of overlatency queries the run's size n can absorb
(n >= h(t) + t), as in mlcommons loadgen's results.cc.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from scipy.special import betainc

CONFIDENCE = 0.99


def tail_probability(h: int, t: int, p: float) -> float:
    """P(Binomial(h + t, p) >= h) = I_p(h, t + 1); 1.0 for h = 0."""
    if h <= 0:
        return 1.0
    return float(betainc(h, t + 1, p))


@lru_cache(maxsize=4096)
def min_passing_queries(t: int, p: float, confidence: float = CONFIDENCE) -> int:
    """The smallest number h of under-bound queries that, with t overlatency queries, shows
    the p-th percentile is within the bound at `confidence`."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"percentile must be in (0, 1), got {p}")
    if t < 0:
        raise ValueError(f"overlatency count must be >= 0, got {t}")
    alpha = 1.0 - confidence
    # tail_probability decreases in h: bracket, then bisect.
    lo, hi = 0, max(1, t + 1)
    while tail_probability(hi, t, p) > alpha:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if tail_probability(mid, t, p) > alpha:
            lo = mid
        else:
            hi = mid
    return hi


def min_queries(p: float, confidence: float = CONFIDENCE) -> int:
    """Fewest queries for which an early-stopping estimate exists (h(1) + 1; 64 for p90)."""
    return min_passing_queries(1, p, confidence) + 1


@dataclass(frozen=True)
class BoundCheck:
    """Whether n queries with `overlatency` of them above the bound pass at `percentile`."""

    n: int
    overlatency: int
    needed: int  # h(t) + t queries are needed to pass with t = overlatency
    passed: bool


def check_bound(
    latencies_ms: Sequence[float], bound_ms: float, p: float, confidence: float = CONFIDENCE
) -> BoundCheck:
    """MLPerf's Server-scenario rule: does the run show the p-th percentile is <= bound_ms?"""
    n = len(latencies_ms)
    t = sum(1 for v in latencies_ms if v > bound_ms)
    needed = min_passing_queries(t, p, confidence) + t
    return BoundCheck(n=n, overlatency=t, needed=needed, passed=n >= needed)


def percentile_estimate(
    latencies_ms: Sequence[float], p: float, confidence: float = CONFIDENCE
) -> float | None:
    """Early-stopping estimate of the p-th percentile latency; None when n < min_queries(p)."""
    n = len(latencies_ms)
    if n < min_queries(p, confidence):
        return None
    t = 1
    # Walk t up while the run is large enough to absorb t overlatency queries. h(t) grows by
    # about 1/(1-p) per step, so the loop runs about n(1-p) times.
    while min_passing_queries(t + 1, p, confidence) + t + 1 <= n:
        t += 1
    ordered = sorted(latencies_ms)
    return float(ordered[n - t])
