"""MLPerf early stopping: checked against scipy's binomial/beta distributions and by hand."""

from __future__ import annotations

import pytest
from scipy import stats

from pingce.perf.early_stopping import (
    check_bound,
    min_passing_queries,
    min_queries,
    percentile_estimate,
    tail_probability,
)


def _brute_min_passing(t: int, p: float) -> int:
    # Independent reference: scipy's binomial survival function, searched upward.
    h = 1
    while stats.binom.sf(h - 1, h + t, p) > 0.01:
        h += 1
    return h


def test_tail_probability_is_the_incomplete_beta() -> None:
    for h, t, p in [(63, 1, 0.9), (459, 0, 0.99), (100, 5, 0.9), (700, 3, 0.99)]:
        assert tail_probability(h, t, p) == pytest.approx(stats.beta.cdf(p, h, t + 1))
        assert tail_probability(h, t, p) == pytest.approx(stats.binom.sf(h - 1, h + t, p))


def test_min_passing_matches_scipy_search() -> None:
    for p in (0.9, 0.99):
        for t in (0, 1, 2, 5, 13):
            assert min_passing_queries(t, p) == _brute_min_passing(t, p)


def test_hand_computed_minimums() -> None:
    # p90, t=1: 0.9^63 * (0.9 + 64*0.1) = 0.00968 <= 0.01 while h=62 gives 0.0106: 63 + 1 = 64,
    # loadgen's "at least 64 queries". p99, t=0: 0.99^h <= 0.01 first at h = 459.
    assert min_queries(0.9) == 64
    assert min_passing_queries(0, 0.99) == 459
    assert 0.9**63 * (0.9 + 64 * 0.1) <= 0.01 < 0.9**62 * (0.9 + 63 * 0.1)


def test_percentile_estimate_walks_to_the_largest_t() -> None:
    lat = [float(i) for i in range(1, 301)]
    est = percentile_estimate(lat, 0.9)
    # Reference: the largest t with n >= h(t) + t from scipy, then the t-th largest latency.
    t = 1
    while _brute_min_passing(t + 1, 0.9) + t + 1 <= 300:
        t += 1
    assert est == lat[300 - t]
    assert est > 270.0  # conservative: above the plain p90
    assert percentile_estimate(lat[:63], 0.9) is None
    assert percentile_estimate(lat[:64], 0.9) == 64.0  # t = 1: the largest latency


def test_check_bound_server_rule() -> None:
    assert check_bound([1.0] * 459, 10.0, 0.99).passed
    assert not check_bound([1.0] * 458, 10.0, 0.99).passed
    one_over = [1.0] * 700 + [50.0]
    chk = check_bound(one_over, 10.0, 0.99)
    assert chk.overlatency == 1 and chk.needed == _brute_min_passing(1, 0.99) + 1
    assert chk.passed == (chk.needed <= 701)


def test_matches_mlcommons_loadgen_discard_count() -> None:
    # Anchor: mlcommons-loadgen 6.0.17's SingleStream summary for a run of 9,380 queries read
    # "Would discard 869 highest latency queries" and gave the next one as the p90 estimate.
    lat = [float(i) for i in range(9380)]
    est = percentile_estimate(lat, 0.9)
    assert sum(1 for v in lat if v > est) == 869
