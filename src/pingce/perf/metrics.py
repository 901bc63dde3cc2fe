"""The server-perf standard's metrics (global names, prefixed: inference `perf_*`, LLM serving
`serve_*`, training `train_*`) and how a row is built."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

from pingce.core.metric import MetricDef
from pingce.core.report.kit import MetricRow

# Percentile CIs go through core.stats' per-item bootstrap path (a Python list per resample),
# so the resample count shrinks as runs grow: about 2M items handled per metric, between 50
# and 200 resamples. A 40k-query run's percentile CI is narrow, so 50 resamples suffice there.
PERCENTILE_ITEM_BUDGET = 2_000_000
PERCENTILE_RESAMPLES = (50, 200)
MEAN_RESAMPLES = 1000


def _pct(q: float) -> Callable[[Sequence[float]], float]:
    def stat(xs: Sequence[float]) -> float:
        from pingce.core.measure import percentile_ms

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
# LLM-serving load (`serve` tasks).
SERVE_METRICS = [
    MetricDef(
        "serve_ttft_ms",
        "首词元时延",
        "Time to first token: first streamed text chunk - request sent.",
        "lower",
        0.0,
        "ms",
    ),
    MetricDef(
        "serve_tpot_ms",
        "每输出词元时延",
        "(E2E - TTFT) / (output tokens - 1), per request.",
        "lower",
        0.0,
        "ms",
    ),
    MetricDef(
        "serve_itl_ms",
        "词元间时延",
        "Every gap between consecutive streamed text chunks.",
        "lower",
        0.0,
        "ms",
    ),
    MetricDef(
        "serve_e2e_ms", "端到端时延", "Last byte of the answer - request sent.", "lower", 0.0, "ms"
    ),
    MetricDef(
        "serve_request_throughput",
        "请求吞吐量",
        "Completed requests / measured window.",
        "higher",
        0.0,
        "req/s",
    ),
    MetricDef(
        "serve_output_token_throughput",
        "输出词元吞吐量",
        "Output tokens / measured window.",
        "higher",
        0.0,
        "tokens/s",
    ),
    MetricDef(
        "serve_goodput",
        "有效吞吐量",
        "Requests meeting every SLO (TTFT, TPOT) / measured window.",
        "higher",
        0.0,
        "req/s",
    ),
]
# Training (`train` tasks).
TRAIN_METRICS = [
    MetricDef(
        "train_samples_per_s",
        "训练吞吐量",
        "Training samples / training-step time (evaluation excluded), mean over runs.",
        "higher",
        0.0,
        "samples/s",
    ),
    MetricDef(
        "train_time_to_accuracy_s",
        "达标训练时间",
        "Training-step time until test accuracy first reaches the target; mean after dropping the fastest and slowest run (>= 5 runs).",
        "lower",
        0.0,
        "s",
    ),
    MetricDef(
        "train_accuracy",
        "训练后准确率",
        "Test accuracy after the fixed number of steps, mean over runs.",
        "higher",
        1.0,
        "0-1",
    ),
    MetricDef(
        "train_scaling_efficiency",
        "扩展效率",
        "Throughput at W workers / (W x throughput at 1 worker).",
        "higher",
        1.0,
        "0-1",
    ),
    MetricDef(
        "train_samples_per_j",
        "训练能效",
        "Training samples / measured energy of the run.",
        "higher",
        0.0,
        "samples/J",
    ),
]
ALL_METRICS: list[MetricDef] = [*METRICS, *SERVE_METRICS, *TRAIN_METRICS]
METRIC_BY_NAME = {m.name: m for m in ALL_METRICS}


def metric_row(name: str, items: Sequence[float], seed: int = 0) -> MetricRow:
    """A report metric row: value with bootstrap CI over `items` (per-query values)."""
    return _metric_row(name, tuple(items), seed)


@lru_cache(maxsize=64)
def _metric_row(name: str, items: tuple[float, ...], seed: int) -> MetricRow:
    # Cached: a run is summarised at its end and again for each report (rows are frozen).
    from pingce.core.stats import estimate

    m = METRIC_BY_NAME[name]
    if m.statistic is not None:
        lo, hi = PERCENTILE_RESAMPLES
        resamples = max(lo, min(hi, PERCENTILE_ITEM_BUDGET // max(len(items), 1)))
    else:
        resamples = MEAN_RESAMPLES
    est = estimate(list(items), m.statistic, n_resamples=resamples, seed=seed)
    return MetricRow.from_estimate(m, est)


def plain_row(name: str, value: float, n: int) -> MetricRow:
    """A metric row for a single figure without a sampling distribution (throughput)."""
    return MetricRow.fixed(METRIC_BY_NAME[name], float(value), n)
