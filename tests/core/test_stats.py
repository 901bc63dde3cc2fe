"""Tests for pingce.core.stats, each checked against an independent reference."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats as sps

from pingce.core.stats import (
    Estimate,
    PairedResult,
    bootstrap_ci,
    estimate,
    mcnemar,
    mean_stderr,
    paired_bootstrap,
    paired_test,
)


@pytest.fixture(scope="module")
def normal_sample() -> np.ndarray:
    return np.random.default_rng(12345).normal(loc=5.0, scale=2.0, size=400)


def ratio_of_sums(pairs):
    return sum(num for num, _ in pairs) / sum(den for _, den in pairs)


def binary_pairs(n11: int, n10: int, n01: int, n00: int) -> tuple[list[int], list[int]]:
    """Scores (a, b) for a 2x2 table: n10 = a right & b wrong, n01 = a wrong & b right."""
    a = [1] * n11 + [1] * n10 + [0] * n01 + [0] * n00
    b = [1] * n11 + [0] * n10 + [1] * n01 + [0] * n00
    return a, b


# --- mean_stderr -------------------------------------------------------------------------


def test_mean_stderr_matches_scipy_sem(normal_sample):
    # Reference: numpy.mean and scipy.stats.sem (ddof=1 by default).
    mean, se = mean_stderr(normal_sample.tolist())
    assert mean == pytest.approx(float(np.mean(normal_sample)), rel=1e-12)
    assert se == pytest.approx(float(sps.sem(normal_sample)), rel=1e-12)


def test_mean_stderr_small_inputs():
    # Reference: by definition, the ddof=1 std of one value is undefined.
    mean, se = mean_stderr([3.5])
    assert mean == 3.5
    assert math.isnan(se)
    with pytest.raises(ValueError):
        mean_stderr([])


# --- bootstrap_ci ------------------------------------------------------------------------


def test_bootstrap_ci_agrees_with_t_interval(normal_sample):
    # Reference: the normal-theory interval mean ± t_{0.975, n-1} · sem from scipy.stats.t.
    # For n = 400 normal data the percentile bootstrap should be close to it; the tolerance
    # (20% of a stderr, ~10% of the half-width) is about 4x the Monte Carlo error of the
    # 2.5%/97.5% quantiles with 5000 resamples (~0.05 stderr, measured over seeds).
    mean = float(np.mean(normal_sample))
    sem = float(sps.sem(normal_sample))
    t_low, t_high = sps.t.interval(0.95, df=normal_sample.size - 1, loc=mean, scale=sem)
    low, high, boot_se = bootstrap_ci(normal_sample, n_resamples=5000, seed=1)
    assert low == pytest.approx(t_low, abs=0.2 * sem)
    assert high == pytest.approx(t_high, abs=0.2 * sem)
    assert boot_se == pytest.approx(sem, rel=0.05)


def test_bootstrap_ci_agrees_with_scipy_percentile_bootstrap(normal_sample):
    # Reference: scipy.stats.bootstrap(method="percentile"). It uses its own RNG stream,
    # so the two agree only up to Monte Carlo error (~0.07 stderr for the difference of two
    # 5000-resample runs); the tolerance is about 3.5x that.
    sem = float(sps.sem(normal_sample))
    ref = sps.bootstrap(
        (normal_sample,),
        np.mean,
        n_resamples=5000,
        confidence_level=0.95,
        method="percentile",
        rng=np.random.default_rng(2),
    )
    low, high, boot_se = bootstrap_ci(normal_sample, n_resamples=5000, seed=3)
    assert low == pytest.approx(ref.confidence_interval.low, abs=0.25 * sem)
    assert high == pytest.approx(ref.confidence_interval.high, abs=0.25 * sem)
    assert boot_se == pytest.approx(ref.standard_error, rel=0.05)


def test_bootstrap_ci_is_deterministic_per_seed(normal_sample):
    # Reference: numpy.random.default_rng is reproducible for a seed and differs across seeds.
    first = bootstrap_ci(normal_sample, n_resamples=500, seed=7)
    again = bootstrap_ci(normal_sample, n_resamples=500, seed=7)
    other = bootstrap_ci(normal_sample, n_resamples=500, seed=8)
    assert first == again
    assert first != other


def test_vectorised_mean_matches_per_item_statistic(normal_sample):
    # Reference: the generic per-resample path with statistic=numpy.mean must draw the same
    # indices as the vectorised mean path, so the two results coincide.
    sample = normal_sample[:60]
    fast = bootstrap_ci(sample, n_resamples=300, seed=5)
    slow = bootstrap_ci(list(sample), lambda xs: float(np.mean(xs)), n_resamples=300, seed=5)
    assert fast == pytest.approx(slow, rel=1e-12)


def test_bootstrap_ci_single_item_and_errors():
    # Reference: every resample of one item is that item, so the interval collapses.
    assert bootstrap_ci([2.0], n_resamples=50) == (2.0, 2.0, 0.0)
    with pytest.raises(ValueError):
        bootstrap_ci([])
    with pytest.raises(ValueError):
        bootstrap_ci([], ratio_of_sums)
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, 2.0], confidence=95)


# --- estimate ----------------------------------------------------------------------------


def test_estimate_mean(normal_sample):
    # Reference: scipy.stats.sem for the stderr; bootstrap_ci with the same seed for the CI.
    est = estimate(normal_sample, n_resamples=400, seed=4)
    assert isinstance(est, Estimate)
    assert est.value == pytest.approx(float(np.mean(normal_sample)))
    assert est.stderr == pytest.approx(float(sps.sem(normal_sample)))
    assert (est.ci_low, est.ci_high) == bootstrap_ci(normal_sample, n_resamples=400, seed=4)[:2]
    assert est.ci_low < est.value < est.ci_high
    assert est.n == 400 and est.confidence == 0.95 and est.method == "bootstrap-percentile"


def test_estimate_corpus_ratio_statistic():
    # Reference: the delta-method (linearisation) stderr of a ratio estimator R = Σnum/Σden,
    # se ≈ sqrt(Σ(num_i - R·den_i)^2 / (n(n-1))) / mean(den); the bootstrap stderr of the
    # corpus statistic should agree with it to within Monte Carlo and O(1/n) error.
    rng = np.random.default_rng(99)
    dens = rng.integers(5, 40, size=300)
    nums = rng.binomial(dens, 0.3)
    pairs = [(int(x), int(d)) for x, d in zip(nums, dens, strict=True)]
    ratio = nums.sum() / dens.sum()
    n = len(pairs)
    delta_se = math.sqrt(((nums - ratio * dens) ** 2).sum() / (n * (n - 1))) / dens.mean()

    est = estimate(pairs, ratio_of_sums, n_resamples=400, seed=0)
    assert est.value == pytest.approx(ratio)
    assert est.stderr == pytest.approx(delta_se, rel=0.15)
    assert est.ci_low < est.value < est.ci_high
    assert est.n == n


def test_estimate_single_item():
    # Reference: the spec — a one-item CI collapses to the value; stderr is NaN for a mean
    # and None for a corpus statistic; to_dict is JSON-serialisable (NaN -> None).
    mean_est = estimate([0.7])
    assert (mean_est.value, mean_est.ci_low, mean_est.ci_high) == (0.7, 0.7, 0.7)
    assert math.isnan(mean_est.stderr)
    assert mean_est.to_dict()["stderr"] is None
    json.dumps(mean_est.to_dict(), allow_nan=False)

    corpus_est = estimate([(3, 4)], ratio_of_sums)
    assert (corpus_est.value, corpus_est.ci_low, corpus_est.ci_high) == (0.75, 0.75, 0.75)
    assert corpus_est.stderr is None
    with pytest.raises(ValueError):
        estimate([])
    with pytest.raises(ValueError):
        estimate([], ratio_of_sums)


# --- mcnemar -----------------------------------------------------------------------------


def test_mcnemar_exact_matches_binomtest():
    # Reference: scipy.stats.binomtest(b01, b01 + b10, 0.5) and a hand-computed Wald CI.
    a, b = binary_pairs(n11=20, n10=3, n01=9, n00=8)
    n = len(a)
    res = mcnemar(a, b)
    assert res.method == "mcnemar-exact"
    assert res.p_value == pytest.approx(sps.binomtest(9, 12, 0.5).pvalue)
    assert res.delta == pytest.approx(np.mean(b) - np.mean(a)) == pytest.approx(6 / n)
    se = math.sqrt(12 - 36 / n) / n
    z = sps.norm.ppf(0.975)
    assert res.ci_low == pytest.approx(6 / n - z * se)
    assert res.ci_high == pytest.approx(6 / n + z * se)
    assert res.n == n


def test_mcnemar_chi2_branch_matches_hand_computation():
    # Reference: chi2 = (|30 - 12| - 1)^2 / 42, computed by hand, with scipy.stats.chi2.sf.
    a, b = binary_pairs(n11=50, n10=12, n01=30, n00=8)
    res = mcnemar([bool(x) for x in a], [float(x) for x in b])
    assert res.method == "mcnemar-chi2"
    assert res.p_value == pytest.approx(sps.chi2.sf(17**2 / 42, df=1))
    assert res.delta == pytest.approx(18 / 100)


def test_mcnemar_no_discordant_pairs():
    # Reference: with no discordant pairs there is no evidence of a difference.
    a, b = binary_pairs(n11=5, n10=0, n01=0, n00=5)
    res = mcnemar(a, b)
    assert res.p_value == 1.0
    assert (res.delta, res.ci_low, res.ci_high) == (0.0, 0.0, 0.0)


def test_mcnemar_errors():
    with pytest.raises(ValueError):
        mcnemar([1, 0, 2], [1, 0, 1])
    with pytest.raises(ValueError):
        mcnemar([1, 0.5], [1, 0])
    with pytest.raises(ValueError):
        mcnemar([1, 0], [1])
    with pytest.raises(ValueError):
        mcnemar([], [])


# --- paired_bootstrap --------------------------------------------------------------------


def test_paired_bootstrap_detects_real_difference():
    # Reference: b is a plus a true shift of 0.5 (noise sd 0.5, n = 200, so ~14 stderrs);
    # a t-test would give p ~ 1e-30, so the bootstrap must reach its floor region.
    # The CI is compared with the paired t-interval on the differences (scipy.stats.t).
    rng = np.random.default_rng(21)
    a = rng.normal(size=200)
    b = a + 0.5 + rng.normal(scale=0.5, size=200)
    res = paired_bootstrap(a, b, n_resamples=2000, seed=0)
    assert isinstance(res, PairedResult)
    assert res.method == "paired-bootstrap"
    assert res.p_value < 0.01
    assert res.p_value == pytest.approx(1 / 2001)
    diff = b - a
    t_low, t_high = sps.t.interval(0.95, df=199, loc=diff.mean(), scale=sps.sem(diff))
    assert res.delta == pytest.approx(diff.mean())
    # Tolerance: ~4x the Monte Carlo error of the quantiles with 2000 resamples.
    assert res.ci_low == pytest.approx(t_low, abs=0.3 * sps.sem(diff))
    assert res.ci_high == pytest.approx(t_high, abs=0.3 * sps.sem(diff))


def test_paired_bootstrap_null_is_not_significant():
    # Reference: a and b come from the same distribution (each pair randomly swapped), so
    # the null holds. Any seed rejects at 5% about one time in twenty; this one is fixed and
    # the paired t-test (scipy.stats.ttest_rel) finds nothing on it (p ~ 0.88). The bootstrap
    # p-value should be close to the t-test's (within Monte Carlo error, ~0.01).
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    y = rng.normal(size=300)
    swap = rng.random(300) < 0.5
    a = np.where(swap, y, x)
    b = np.where(swap, x, y)
    res = paired_bootstrap(a, b, n_resamples=2000, seed=0)
    ref_p = sps.ttest_rel(b, a).pvalue
    assert res.p_value > 0.05
    assert res.p_value == pytest.approx(ref_p, abs=0.05)
    assert res.ci_low < 0.0 < res.ci_high


def test_paired_bootstrap_identical_runs_and_corpus_statistic():
    # Reference: identical runs have delta 0 and, by the shifted-null definition, p = 1.
    pairs = [(i % 7 + 1, 10) for i in range(50)]
    res = paired_bootstrap(pairs, pairs, ratio_of_sums, n_resamples=200)
    assert (res.delta, res.p_value) == (0.0, 1.0)
    # Reference: a corpus statistic over object items; doubling every numerator doubles the
    # ratio, so delta equals the ratio of run a.
    better = [(2 * num, den) for num, den in pairs]
    res = paired_bootstrap(pairs, better, ratio_of_sums, n_resamples=200, seed=1)
    assert res.delta == pytest.approx(ratio_of_sums(pairs))
    assert res.ci_low <= res.delta <= res.ci_high
    assert res.p_value < 0.01
    assert paired_bootstrap(pairs, better, ratio_of_sums, n_resamples=200, seed=1) == res


def test_paired_bootstrap_errors():
    with pytest.raises(ValueError):
        paired_bootstrap([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        paired_bootstrap([], [])
    with pytest.raises(ValueError):
        paired_bootstrap([], [], ratio_of_sums)


# --- paired_test -------------------------------------------------------------------------


def test_paired_test_dispatch():
    # Reference: the dispatch rule in the spec (0/1 scores without a statistic -> McNemar).
    a, b = binary_pairs(n11=20, n10=3, n01=9, n00=8)
    assert paired_test(a, b).method == "mcnemar-exact"
    assert paired_test([bool(x) for x in a], b).method == "mcnemar-exact"
    assert paired_test(a, b, binary=False, n_resamples=100).method == "paired-bootstrap"
    assert paired_test([0.5, 1.0, 0.0], [1.0, 1.0, 0.0], n_resamples=100).method == (
        "paired-bootstrap"
    )
    pairs = [(1, 2), (0, 2), (2, 2)]
    res = paired_test(pairs, pairs, statistic=ratio_of_sums, n_resamples=100)
    assert res.method == "paired-bootstrap"
    json.dumps(res.to_dict(), allow_nan=False)
    with pytest.raises(ValueError):
        paired_test([0.5, 1.0], [1.0, 0.0], binary=True)
    with pytest.raises(ValueError):
        paired_test(a, b, binary=True, statistic=ratio_of_sums)


def test_estimate_indexed_equals_the_list_path():
    """Index vectors over arrays (issue 24: no per-resample Python list) give the same draws,
    hence the same value, stderr and CI, as `estimate` on a list of items with the same seed.
    Reference: the list path of this module (itself checked against scipy above)."""
    from pingce.core.stats import estimate_indexed, estimates_indexed

    rng = np.random.default_rng(3)
    num = rng.integers(0, 10, 57).astype(float)
    den = rng.integers(1, 10, 57).astype(float)
    items = list(zip(num.tolist(), den.tolist(), strict=True))

    def ratio_list(xs):
        return sum(x[0] for x in xs) / sum(x[1] for x in xs)

    ref = estimate(items, ratio_list, n_resamples=300, seed=11)
    ours = estimate_indexed(
        57, lambda idx: num[idx].sum() / den[idx].sum(), n_resamples=300, seed=11
    )
    assert ours.value == pytest.approx(ref.value)
    assert (ours.ci_low, ours.ci_high, ours.stderr) == pytest.approx(
        (ref.ci_low, ref.ci_high, ref.stderr)
    )
    both = estimates_indexed(
        57, lambda idx: [num[idx].mean(), den[idx].mean()], n_resamples=300, seed=11
    )
    ref_mean = estimate(items, lambda xs: sum(x[0] for x in xs) / len(xs), n_resamples=300, seed=11)
    assert (both[0].ci_low, both[0].ci_high) == pytest.approx((ref_mean.ci_low, ref_mean.ci_high))


def test_metric_estimate_row_matches_row_and_drops_stderr_without_ci() -> None:
    """MetricDef.row is estimate_row over core.stats.estimate (hand check: mean of 0/1
    items); with stderr_needs_ci a degenerate CI (NaN bounds) also drops the stderr."""
    import dataclasses

    from pingce.core.metric import MetricDef
    from pingce.core.stats import estimate

    m = MetricDef(name="acc", name_zh="准确率", definition="share correct")
    items = [1, 0, 1, 1]
    row = m.row(items, seed=3)
    assert row == m.estimate_row(estimate(items, None, n_resamples=1000, seed=3))
    assert row["value"] == 0.75 and row["n"] == 4
    est = dataclasses.replace(estimate(items, None, seed=3), ci_low=float("nan"))
    kept = m.estimate_row(est, n=9)
    dropped = m.estimate_row(est, n=9, stderr_needs_ci=True)
    assert kept["n"] == dropped["n"] == 9 and kept["ci_low"] is None
    assert kept["stderr"] is not None and dropped["stderr"] is None


def test_paired_bootstrap_on_array_fast_path_gives_the_list_paths_numbers() -> None:
    """Reference: the same statistic without `on_array` (the list path) on the same seed."""
    from pingce.core.stats import paired_bootstrap

    rng = np.random.default_rng(5)
    a = [
        [float(x), float(y)]
        for x, y in zip(rng.integers(0, 5, 40), rng.integers(1, 6, 40), strict=True)
    ]
    b = [
        [float(x), float(y)]
        for x, y in zip(rng.integers(0, 5, 40), rng.integers(1, 6, 40), strict=True)
    ]

    def ratio(items: list[list[float]]) -> float:
        return sum(i[0] for i in items) / sum(i[1] for i in items)

    def fast(items: list[list[float]]) -> float:
        return ratio(items)

    fast.on_array = lambda arr: float(arr[:, 0].sum() / arr[:, 1].sum())  # type: ignore[attr-defined]
    slow_result = paired_bootstrap(a, b, ratio, n_resamples=300, seed=9)
    fast_result = paired_bootstrap(a, b, fast, n_resamples=300, seed=9)
    assert fast_result.delta == slow_result.delta
    assert (fast_result.ci_low, fast_result.ci_high, fast_result.p_value) == pytest.approx(
        (slow_result.ci_low, slow_result.ci_high, slow_result.p_value), rel=1e-12
    )
