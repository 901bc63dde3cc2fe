"""Uncertainty for pingce scores: the one place that computes it.

Means with their standard error, seeded percentile-bootstrap confidence intervals for
means and for corpus-level statistics (corpus BLEU, perplexity, any ratio of sums), and
paired tests between two runs scored on the same samples (paired bootstrap, McNemar).

Every statistic is in the units of the scores it is computed from; confidences are
fractions (0.95, not 95). All randomness comes from `numpy.random.default_rng(seed)`,
so every result is reproducible for a given seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = [
    "Estimate",
    "PairedResult",
    "bootstrap_ci",
    "bootstrap_indices",
    "estimate",
    "estimate_indexed",
    "estimates_indexed",
    "mcnemar",
    "mean_stderr",
    "paired_bootstrap",
    "paired_test",
]

Statistic = Callable[[Sequence[Any]], float]

# Upper bound on the number of resampled indices held in memory at once (about 16 MB of
# int64). Resampling is done in chunks of rows so that large corpora do not need an
# (n_resamples x n) index matrix in one piece.
_MAX_CHUNK_ELEMENTS = 2_000_000

# Below this many discordant pairs the chi-square approximation to McNemar's test is poor,
# so the exact binomial test is used instead.
_MCNEMAR_EXACT_BELOW = 25


@dataclass(frozen=True)
class Estimate:
    """A statistic with its uncertainty, in the units of the statistic.

    `stderr` is None when it cannot be computed (a corpus statistic on fewer than two
    items) and NaN for the mean of a single value.
    """

    value: float
    stderr: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    confidence: float
    method: str

    def to_dict(self) -> dict[str, float | int | str | None]:
        """A JSON-safe dict: non-finite floats (NaN, inf) become None."""
        return {k: _json_safe(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class PairedResult:
    """The difference between two runs on the same samples, with a CI and a p-value.

    `delta` is statistic(b) - statistic(a) in the units of the statistic; the p-value is
    two-sided for the null hypothesis that the two runs are equally good.
    """

    delta: float
    ci_low: float | None
    ci_high: float | None
    p_value: float
    n: int
    method: str
    confidence: float = 0.95

    def to_dict(self) -> dict[str, float | int | str | None]:
        """A JSON-safe dict: non-finite floats (NaN, inf) become None."""
        return {k: _json_safe(v) for k, v in asdict(self).items()}


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")


def _check_resamples(n_resamples: int) -> None:
    # Two resamples is the minimum for a ddof=1 standard deviation.
    if n_resamples < 2:
        raise ValueError(f"n_resamples must be at least 2, got {n_resamples!r}")


def _as_float_array(values: Sequence[Any], what: str = "values") -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{what} must be numbers when no statistic is given ({exc}); "
            "pass statistic= for other item types"
        ) from exc
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a flat sequence of numbers, got shape {arr.shape}")
    return arr


def _index_chunks(n: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Yield (rows, n) arrays of bootstrap indices, n_resamples rows in total.

    The chunk size depends only on n, so the vectorised and the per-item paths draw exactly
    the same indices for the same seed.
    """
    rng = np.random.default_rng(seed)
    rows_per_chunk = max(1, min(n_resamples, _MAX_CHUNK_ELEMENTS // n))
    done = 0
    while done < n_resamples:
        rows = min(rows_per_chunk, n_resamples - done)
        yield rng.integers(0, n, size=(rows, n))
        done += rows


def _resampled_means(arr: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    return np.concatenate(
        [arr[idx].mean(axis=1) for idx in _index_chunks(arr.size, n_resamples, seed)]
    )


def _resampled_statistic(
    items: list[Any], statistic: Statistic, n_resamples: int, seed: int
) -> np.ndarray:
    out = np.empty(n_resamples, dtype=float)
    k = 0
    for idx in _index_chunks(len(items), n_resamples, seed):
        for row in idx:
            out[k] = float(statistic([items[i] for i in row]))
            k += 1
    return out


def bootstrap_indices(n: int, n_resamples: int = 1000, seed: int = 0) -> Iterator[np.ndarray]:
    """The bootstrap resamples of `n` items as index vectors (each of length n), one per
    resample: the same draws, in the same order, as the list path of `bootstrap_ci` /
    `estimate` uses for the same seed, so array statistics reproduce its intervals."""
    if n < 1:
        raise ValueError("bootstrap_indices needs at least one item")
    _check_resamples(n_resamples)
    for idx in _index_chunks(n, n_resamples, seed):
        yield from idx


def estimate_indexed(
    n: int,
    statistic: Callable[[np.ndarray], float],
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """`estimate` for a corpus statistic over data the caller holds in arrays.

    `statistic(idx)` computes the statistic on the items at positions `idx` (an int index
    vector, repeats allowed; ``np.arange(n)`` for the full sample), so no per-resample list
    of items is built. Same draws and result as `estimate(items, statistic)` for the same
    seed; non-finite resampled values (a resample where the statistic is undefined) make
    the CI None.
    """
    (est,) = estimates_indexed(
        n, lambda idx: [statistic(idx)], n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    return est


def estimates_indexed(
    n: int,
    statistics: Callable[[np.ndarray], Sequence[float]],
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[Estimate]:
    """`estimate_indexed` for several statistics computed together from one resample
    (`statistics(idx)` returns one value per statistic), e.g. EER and minDCF from one pass
    over a sorted score array. One `Estimate` per statistic, in order."""
    _check_confidence(confidence)
    _check_resamples(n_resamples)
    if n < 1:
        raise ValueError("estimate_indexed needs at least one item")
    method = "bootstrap-percentile"
    values = [float(v) for v in statistics(np.arange(n))]
    if n == 1:
        return [Estimate(v, None, v, v, n, confidence, method) for v in values]
    boot = np.empty((n_resamples, len(values)), dtype=float)
    for k, idx in enumerate(bootstrap_indices(n, n_resamples, seed)):
        boot[k] = [float(v) for v in statistics(idx)]
    out = []
    for j, v in enumerate(values):
        low, high = _percentile_interval(boot[:, j], confidence)
        out.append(Estimate(v, float(boot[:, j].std(ddof=1)), low, high, n, confidence, method))
    return out


def _percentile_interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    low, high = np.quantile(samples, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def mean_stderr(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (sample std, ddof=1, over sqrt(n)).

    Both are in the units of `values`. The standard error is NaN for a single value;
    an empty sequence raises ValueError.
    """
    arr = _as_float_array(values)
    n = arr.size
    if n == 0:
        raise ValueError("mean_stderr needs at least one value")
    mean = float(arr.mean())
    if n == 1:
        return mean, math.nan
    return mean, float(arr.std(ddof=1) / math.sqrt(n))


def bootstrap_ci(
    items: Sequence[Any],
    statistic: Statistic | None = None,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Percentile-bootstrap CI of a statistic: (ci_low, ci_high, bootstrap_stderr).

    Without `statistic`, `items` are numbers and the statistic is their mean (computed
    vectorised). With `statistic`, `items` may be any objects (e.g. per-sample BLEU
    sufficient statistics) and `statistic` is called on each resample, a list of items.
    The bootstrap stderr is the std (ddof=1) of the resampled statistics. All three are in
    the units of the statistic. Deterministic for a given seed; empty input raises
    ValueError.
    """
    _check_confidence(confidence)
    _check_resamples(n_resamples)
    if statistic is None:
        arr = _as_float_array(items, "items")
        if arr.size == 0:
            raise ValueError("bootstrap_ci needs at least one item")
        boot = _resampled_means(arr, n_resamples, seed)
    else:
        seq = list(items)
        if not seq:
            raise ValueError("bootstrap_ci needs at least one item")
        boot = _resampled_statistic(seq, statistic, n_resamples, seed)
    low, high = _percentile_interval(boot, confidence)
    return low, high, float(boot.std(ddof=1))


def estimate(
    items: Sequence[Any],
    statistic: Statistic | None = None,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """A statistic on the full sample with its stderr and a seeded bootstrap CI.

    Without `statistic` the value is the mean of numeric `items` and the stderr is the
    analytic standard error of the mean. With `statistic` (a corpus-level statistic such
    as corpus BLEU) the value is statistic(items) and the stderr is the bootstrap stderr.
    The CI is always the percentile bootstrap. For a single item the CI is (value, value)
    and the stderr is NaN (mean) or None (corpus statistic).
    """
    _check_confidence(confidence)
    _check_resamples(n_resamples)
    method = "bootstrap-percentile"
    if statistic is None:
        arr = _as_float_array(items, "items")
        value, stderr = mean_stderr(arr)
        n = arr.size
        if n == 1:
            return Estimate(value, stderr, value, value, n, confidence, method)
        low, high, _ = bootstrap_ci(arr, n_resamples=n_resamples, confidence=confidence, seed=seed)
        return Estimate(value, stderr, low, high, n, confidence, method)

    seq = list(items)
    n = len(seq)
    if n == 0:
        raise ValueError("estimate needs at least one item")
    value = float(statistic(seq))
    if n == 1:
        return Estimate(value, None, value, value, n, confidence, method)
    low, high, boot_se = bootstrap_ci(
        seq, statistic, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    return Estimate(value, boot_se, low, high, n, confidence, method)


def paired_bootstrap(
    a: Sequence[Any],
    b: Sequence[Any],
    statistic: Statistic | None = None,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> PairedResult:
    """Paired bootstrap test of statistic(b) - statistic(a) over the same samples.

    a[i] and b[i] are sample i scored by two runs; indices are resampled jointly. Without
    `statistic` both are numbers and the statistic is the mean. The CI is the percentile
    interval of the resampled deltas, in the units of the statistic.

    The p-value is two-sided and uses the shifted null: the resampled deltas d* are
    centred at zero by subtracting the observed delta (their spread then approximates
    the sampling distribution of delta under "no difference"), and
    p = (#{|d* - delta| >= |delta|} + 1) / (n_resamples + 1). The +1 smoothing keeps p
    above zero, so the smallest reportable p is 1 / (n_resamples + 1). With a single
    sample there is no spread to test against: p is 1.0 and the CI is None.
    """
    _check_confidence(confidence)
    _check_resamples(n_resamples)
    if len(a) != len(b):
        raise ValueError(f"paired inputs differ in length: {len(a)} vs {len(b)}")
    n = len(a)
    if n == 0:
        raise ValueError("paired_bootstrap needs at least one sample")
    method = "paired-bootstrap"

    if statistic is None:
        # The mean is linear, so mean(b*) - mean(a*) is the mean of the resampled
        # per-sample differences: one vectorised bootstrap instead of two.
        diff = _as_float_array(b, "b") - _as_float_array(a, "a")
        delta = float(diff.mean())
        if n == 1:
            return PairedResult(delta, None, None, 1.0, n, method, confidence)
        deltas = _resampled_means(diff, n_resamples, seed)
    else:
        seq_a, seq_b = list(a), list(b)
        delta = float(statistic(seq_b)) - float(statistic(seq_a))
        if n == 1:
            return PairedResult(delta, None, None, 1.0, n, method, confidence)
        # A statistic with `on_array` (the same number from a numeric array of the items)
        # is evaluated on index views instead of two rebuilt Python lists per resample.
        on_array = getattr(statistic, "on_array", None)
        if on_array is not None:
            try:
                arr_a, arr_b = np.asarray(seq_a, dtype=float), np.asarray(seq_b, dtype=float)
            except (TypeError, ValueError):  # ragged or non-numeric items: the list path
                on_array = None
        deltas = np.empty(n_resamples, dtype=float)
        k = 0
        for idx in _index_chunks(n, n_resamples, seed):
            for row in idx:
                if on_array is not None:
                    deltas[k] = float(on_array(arr_b[row])) - float(on_array(arr_a[row]))
                else:
                    stat_b = float(statistic([seq_b[i] for i in row]))
                    stat_a = float(statistic([seq_a[i] for i in row]))
                    deltas[k] = stat_b - stat_a
                k += 1

    low, high = _percentile_interval(deltas, confidence)
    extreme = int(np.count_nonzero(np.abs(deltas - delta) >= abs(delta)))
    p_value = min(1.0, (extreme + 1) / (n_resamples + 1))
    return PairedResult(delta, low, high, p_value, n, method, confidence)


def _binary_array(values: Sequence[Any], what: str) -> np.ndarray:
    arr = _as_float_array(values, what)
    if not np.all((arr == 0.0) | (arr == 1.0)):
        raise ValueError(f"{what} must contain only 0/1 (or False/True) scores")
    return arr


def mcnemar(
    a: Sequence[bool | int | float],
    b: Sequence[bool | int | float],
    *,
    confidence: float = 0.95,
) -> PairedResult:
    """McNemar's test for two runs with binary (0/1) scores on the same samples.

    delta = mean(b) - mean(a), a difference in accuracy (fraction correct). With
    b01 = #(a wrong, b right) and b10 = #(a right, b wrong): the exact two-sided binomial
    test when b01 + b10 < 25, else the continuity-corrected chi-square statistic
    (|b01 - b10| - 1)^2 / (b01 + b10) with 1 df. No discordant pairs gives p = 1.0.
    The CI is the Wald interval for paired proportions,
    se = sqrt(b01 + b10 - (b01 - b10)^2 / n) / n.
    """
    _check_confidence(confidence)
    if len(a) != len(b):
        raise ValueError(f"paired inputs differ in length: {len(a)} vs {len(b)}")
    n = len(a)
    if n == 0:
        raise ValueError("mcnemar needs at least one sample")
    arr_a = _binary_array(a, "a")
    arr_b = _binary_array(b, "b")
    b01 = int(np.count_nonzero((arr_a == 0.0) & (arr_b == 1.0)))
    b10 = int(np.count_nonzero((arr_a == 1.0) & (arr_b == 0.0)))
    discordant = b01 + b10
    delta = (b01 - b10) / n

    from scipy import stats as sps  # imported here: scipy.stats costs ~0.5 s at CLI start-up

    if discordant == 0:
        p_value, method = 1.0, "mcnemar-exact"
    elif discordant < _MCNEMAR_EXACT_BELOW:
        p_value = float(sps.binomtest(b01, discordant, 0.5).pvalue)
        method = "mcnemar-exact"
    else:
        chi2 = (abs(b01 - b10) - 1) ** 2 / discordant
        p_value = float(sps.chi2.sf(chi2, df=1))
        method = "mcnemar-chi2"

    # max(0, ...) guards against a tiny negative from rounding when all pairs are discordant
    # in one direction.
    se = math.sqrt(max(0.0, discordant - (b01 - b10) ** 2 / n)) / n
    z = float(sps.norm.ppf(0.5 + confidence / 2.0))
    return PairedResult(delta, delta - z * se, delta + z * se, p_value, n, method, confidence)


def _looks_binary(values: Sequence[Any]) -> bool:
    for v in values:
        if not isinstance(v, bool | int | float | np.integer | np.floating | np.bool_):
            return False
        if v != 0 and v != 1:
            return False
    return True


def paired_test(
    a: Sequence[Any],
    b: Sequence[Any],
    *,
    binary: bool | None = None,
    statistic: Statistic | None = None,
    seed: int = 0,
    n_resamples: int = 1000,
    confidence: float = 0.95,
) -> PairedResult:
    """Compare two runs on the same samples with the fitting paired test.

    binary=None detects: McNemar when no statistic is given and every score in a and b is
    0 or 1, otherwise the paired bootstrap. binary=True forces McNemar (and refuses a
    statistic); binary=False forces the paired bootstrap.
    """
    if binary is None:
        binary = statistic is None and _looks_binary(a) and _looks_binary(b)
    if binary:
        if statistic is not None:
            raise ValueError("binary=True runs McNemar's test, which takes no statistic")
        return mcnemar(a, b, confidence=confidence)
    return paired_bootstrap(
        a, b, statistic, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
