"""The voice standard's metrics as registered `MetricDef`s, computed from stored records.

A metric's `statistic` turns a list of [score, is_bonafide] pairs into one number (the
registry's generic form). The report computes the same metrics from arrays of the stored
trials (`ARRAY_FN`), and the EER / minDCF bootstrap CIs resample index vectors over those
arrays (`eer_min_dcf_resampler`, `pingce.core.stats.estimates_indexed`) with the same draws
as the list form. A resample with no trial of one class has no EER: the statistic is NaN
there and the CI is then not reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pingce.core.metric import MetricDef
from pingce.core.registry import metrics
from pingce.core.spec import Indicator
from pingce.voice import metrics as vm


def _split(items: Sequence[Any]) -> tuple[np.ndarray, np.ndarray] | None:
    arr = np.asarray(items, dtype=float).reshape(-1, 2)
    bona = arr[arr[:, 1] > 0.5, 0]
    spoof = arr[arr[:, 1] <= 0.5, 0]
    if bona.size == 0 or spoof.size == 0:
        return None
    return bona, spoof


def _stat(fn: Callable[[np.ndarray, np.ndarray], float]) -> Callable[[Sequence[Any]], float]:
    def statistic(items: Sequence[Any]) -> float:
        parts = _split(items)
        return math.nan if parts is None else float(fn(*parts))

    return statistic


VOICE_METRICS = [
    MetricDef(
        "voice_eer",
        "等错误率",
        "Equal error rate: mean of Pmiss and Pfa where |Pmiss - Pfa| is smallest on the "
        "empirical DET step curve (ASVspoof reference compute_eer).",
        direction="lower",
        scale=1.0,
        unit="fraction",
        statistic=_stat(lambda b, s: vm.eer(b, s)[0]),
    ),
    MetricDef(
        "voice_min_dcf",
        "最小检测代价",
        "Normalised minimum detection cost, ASVspoof 5 model (Pspoof 0.05, Cmiss 1, Cfa 10).",
        direction="lower",
        scale=0.0,
        statistic=_stat(lambda b, s: vm.min_dcf(b, s)[0]),
    ),
    MetricDef(
        "voice_act_dcf",
        "实际检测代价",
        "Normalised DCF at the Bayes threshold -ln(beta) for LLR scores (ASVspoof 5 model); "
        "shows miscalibration.",
        direction="lower",
        scale=0.0,
        statistic=_stat(lambda b, s: vm.act_dcf(b, s)[0]),
    ),
    MetricDef(
        "voice_cllr",
        "对数似然比代价",
        "Cllr in bits, the scores taken as natural-log likelihood ratios.",
        direction="lower",
        scale=0.0,
        unit="bits",
        statistic=_stat(vm.cllr),
    ),
    MetricDef(
        "voice_min_cllr",
        "最小对数似然比代价",
        "Cllr after optimal monotone (PAV) calibration, in bits.",
        direction="lower",
        scale=0.0,
        unit="bits",
        statistic=_stat(vm.min_cllr),
    ),
    MetricDef(
        "voice_eer_rocch",
        "凸包等错误率",
        "EER on the ROC convex hull (BOSARIS rocch2eer).",
        direction="lower",
        scale=1.0,
        unit="fraction",
        statistic=_stat(vm.eer_rocch),
    ),
]
# At an operating point (`--threshold T`, or `--decisions` for hard 0/1 decisions): the
# product specifications' 准确率/精确率/召回率, positive class spoof (`metrics.operating_point`).
OPERATING_METRICS = [
    MetricDef(
        "voice_accuracy",
        "准确率",
        "Share of trials classified correctly at the operating threshold (score < threshold: spoof).",
        direction="higher",
        scale=1.0,
        unit="fraction",
    ),
    MetricDef(
        "voice_precision",
        "精确率",
        "Of the trials flagged as spoof at the operating threshold, the share that are spoof (positive class: spoof).",
        direction="higher",
        scale=1.0,
        unit="fraction",
    ),
    MetricDef(
        "voice_recall",
        "召回率",
        "Of the spoof trials, the share flagged as spoof at the operating threshold (1 - Pfa there).",
        direction="higher",
        scale=1.0,
        unit="fraction",
    ),
    MetricDef(
        "voice_f1",
        "F1值",
        "Harmonic mean of precision and recall at the operating threshold (positive class: spoof).",
        direction="higher",
        scale=1.0,
        unit="fraction",
    ),
]
OPERATING_NAMES = {
    "voice_accuracy": "accuracy",
    "voice_precision": "precision",
    "voice_recall": "recall",
    "voice_f1": "f1",
}
BY_NAME = {m.name: m for m in [*VOICE_METRICS, *OPERATING_METRICS]}
BOOTSTRAPPED = ("voice_eer", "voice_min_dcf")

# The same metrics on (bona fide scores, spoof scores) arrays: what the report computes from
# the stored trials (each trial stored once), without a [score, label] pair per metric.
ARRAY_FN: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "voice_eer": lambda b, s: vm.eer(b, s)[0],
    "voice_min_dcf": lambda b, s: vm.min_dcf(b, s)[0],
    "voice_act_dcf": lambda b, s: vm.act_dcf(b, s)[0],
    "voice_cllr": vm.cllr,
    "voice_min_cllr": vm.min_cllr,
    "voice_eer_rocch": vm.eer_rocch,
}


def eer_min_dcf_resampler(
    scores: np.ndarray, bona: np.ndarray
) -> Callable[[np.ndarray], list[float]]:
    """statistics(idx) -> [EER, minDCF] of the trials at `idx` (a bootstrap index vector),
    for `pingce.core.stats.estimates_indexed`: the trials are sorted once, and a resample is
    the count of each trial (`metrics.weighted_eer_min_dcf`), so no resample is re-sorted."""
    order = vm.reference_order(scores, bona)
    bona_sorted = np.asarray(bona, dtype=bool)[order]
    n = len(order)

    def statistics(idx: np.ndarray) -> list[float]:
        counts = np.bincount(idx, minlength=n)[order]
        return list(vm.weighted_eer_min_dcf(bona_sorted, counts))

    return statistics


def operating_resampler(
    scores: np.ndarray, bona: np.ndarray, threshold: float
) -> Callable[[np.ndarray], list[float]]:
    """statistics(idx) -> [accuracy, precision, recall, F1] of the trials at `idx`, for
    `pingce.core.stats.estimates_indexed` (one gather and one bincount per resample)."""
    codes = vm._outcome_codes(
        np.asarray(scores, dtype=float), np.asarray(bona, dtype=bool), threshold
    )

    def statistics(idx: np.ndarray) -> list[float]:
        m = vm.operating_counts_metrics(np.bincount(codes[idx], minlength=4))
        return [m[OPERATING_NAMES[x.name]] for x in OPERATING_METRICS]

    return statistics


# Indicators of a system run (`voice.system`) and the t-DCF: measured, not registered metrics.
SYSTEM_INDICATORS = [
    Indicator(
        id="voice_latency_p50_ms",
        name="Latency per utterance (median)",
        name_zh="单条语音时延（中位数）",
        unit="ms",
        direction="lower",
        definition="Median wall time to score one utterance (pingce.core.measure).",
    ),
    Indicator(
        id="voice_latency_p95_ms",
        name="Latency per utterance (p95)",
        name_zh="单条语音时延（P95）",
        unit="ms",
        direction="lower",
        definition="95th percentile (MLPerf nearest-rank rule) of the per-utterance wall time.",
    ),
    Indicator(
        id="voice_rtf",
        name="Real-time factor",
        name_zh="实时率",
        unit="",
        direction="lower",
        definition="Total scoring time / total audio duration; below 1 is faster than real time.",
    ),
    Indicator(
        id="voice_throughput",
        name="Throughput",
        name_zh="吞吐量",
        unit="utt/s",
        direction="higher",
        definition="Utterances scored per second of scoring time, one at a time.",
    ),
    Indicator(
        id="voice_bad_audio",
        name="Files not scored",
        name_zh="未能评分的文件数",
        unit="files",
        direction="lower",
        definition="Files the system could not score (corrupt, empty, wrong rate, detector error); the batch continues.",
    ),
]
TDCF_INDICATOR = Indicator(
    id="voice_min_tdcf",
    name="min t-DCF",
    name_zh="最小串联检测代价",
    unit="",
    direction="lower",
    definition="Normalised minimum tandem DCF of the CM with a fixed ASV (ASVspoof 2019 or 2021 formulation).",
)
# The t-DCF as a metric of a task row (computed once from all trials: no per-sample statistic).
TDCF_METRIC = MetricDef(
    "voice_min_tdcf",
    TDCF_INDICATOR.name_zh,
    TDCF_INDICATOR.definition,
    direction="lower",
    scale=0.0,
)


def register_metrics() -> None:
    for m in [*VOICE_METRICS, *OPERATING_METRICS]:
        if not metrics.has_loaded(m.name):
            metrics.register(m.name, m)
