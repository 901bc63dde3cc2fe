"""The server-perf standard's metrics (global names, prefixed) and how a row is built."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from pingce.core.measure import percentile_ms
from pingce.core.metric import MetricDef
from pingce.core.metric import finite_or_none as _finite
from pingce.core.stats import estimate

# Percentile CIs go through core.stats' per-item bootstrap path (a Python list per resample),
# so the resample count shrinks as runs grow: about 2M items handled per metric, between 50
# and 200 resamples. A 40k-query run's percentile CI is narrow, so 50 resamples suffice there.
PERCENTILE_ITEM_BUDGET = 2_000_000
PERCENTILE_RESAMPLES = (50, 200)
MEAN_RESAMPLES = 1000


def _pct(q: float) -> Callable[[Sequence[float]], float]:
    def stat(xs: Sequence[float]) -> float:
        return percentile_ms(sorted(xs), q)

    stat.__name__ = f"p{q * 100:g}"
    return stat


METRICS: list[MetricDef] = [
    MetricDef(
        "perf_accuracy",
        "准确率",
        "Fraction of samples whose argmax output equals the label (accuracy run).",
        "higher",
        1.0,
        "0-1",
        None,
        False,  # one record holds the run's fraction, not 0/1 per sample: no McNemar
    ),
    MetricDef(
        "perf_latency_mean_ms",
        "平均时延",
        "Mean query latency (completion - scheduled issue time).",
        "lower",
        0.0,
        "ms",
    ),
    MetricDef(
        "perf_latency_p50_ms",
        "P50 时延",
        "Median query latency (MLPerf rank rule).",
        "lower",
        0.0,
        "ms",
        _pct(0.50),
    ),
    MetricDef(
        "perf_latency_p90_ms",
        "P90 时延",
        "90th-percentile query latency (SingleStream metric).",
        "lower",
        0.0,
        "ms",
        _pct(0.90),
    ),
    MetricDef(
        "perf_latency_p99_ms",
        "P99 时延",
        "99th-percentile query latency (MultiStream / Server).",
        "lower",
        0.0,
        "ms",
        _pct(0.99),
    ),
    MetricDef(
        "perf_samples_per_s",
        "吞吐量",
        "Samples completed / (last completion - first issue).",
        "higher",
        0.0,
        "samples/s",
    ),
    MetricDef(
        "perf_qps",
        "每秒查询数",
        "Queries completed / (last completion - first issue).",
        "higher",
        0.0,
        "queries/s",
    ),
    MetricDef(
        "perf_max_valid_qps",
        "最大有效 QPS",
        "Highest Server target QPS whose run was valid (bisection).",
        "higher",
        0.0,
        "queries/s",
    ),
    MetricDef(
        "perf_sched_error_p99_ms",
        "调度误差 P99",
        "99th percentile of (issued - scheduled) time of open-loop queries.",
        "lower",
        0.0,
        "ms",
        _pct(0.99),
    ),
    MetricDef(
        "perf_energy_per_query_mj",
        "单次查询能耗",
        "Measured energy / completed queries.",
        "lower",
        0.0,
        "mJ",
    ),
    MetricDef(
        "perf_samples_per_j",
        "能效",
        "Samples completed / measured energy.",
        "higher",
        0.0,
        "samples/J",
    ),
]
METRIC_BY_NAME = {m.name: m for m in METRICS}


def metric_row(name: str, items: Sequence[float], seed: int = 0) -> dict[str, Any]:
    """A report metric row: value with bootstrap CI over `items` (per-query values)."""
    return dict(_metric_row(name, tuple(items), seed))


@lru_cache(maxsize=64)
def _metric_row(name: str, items: tuple[float, ...], seed: int) -> dict[str, Any]:
    # Cached: a run is summarised at its end and again for each report.
    m = METRIC_BY_NAME[name]
    if m.statistic is not None:
        lo, hi = PERCENTILE_RESAMPLES
        resamples = max(lo, min(hi, PERCENTILE_ITEM_BUDGET // max(len(items), 1)))
    else:
        resamples = MEAN_RESAMPLES
    est = estimate(list(items), m.statistic, n_resamples=resamples, seed=seed)
    return {
        "value": est.value,
        "stderr": _finite(est.stderr),
        "ci_low": est.ci_low,
        "ci_high": est.ci_high,
        "n": est.n,
        "direction": m.direction,
        "unit": m.unit,
        "scale": m.scale,
    }


def plain_row(name: str, value: float, n: int) -> dict[str, Any]:
    """A metric row for a single figure without a sampling distribution (throughput)."""
    return METRIC_BY_NAME[name].fixed_row(float(value), n)
