"""The voice standard's metric and indicator declarations, light enough to register at start-up.

A metric's `statistic` turns per-sample items into one number (the registry's generic form,
what `pingce compare` bootstraps): for the detector metrics a list of [score, is_bona_fide]
pairs, for the ADD metrics the per-utterance counts or labels. The statistics import numpy and
the metric code (`pingce.voice.indicators`, `pingce.voice.add_task`) only when called. The
report computes the same metrics from arrays of the stored trials (`pingce.voice.indicators`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

from pingce.core.metric import MetricDef
from pingce.core.registry import metrics
from pingce.core.spec import Indicator


def _pairs(name: str) -> Callable[[Sequence[Any]], float]:
    """The detector metric `name` of [score, is_bona_fide] pairs (NaN without both classes)."""

    def statistic(items: Sequence[Any]) -> float:
        return importlib.import_module("pingce.voice.indicators").pair_statistic(name, items)

    # the same on an (n, 2) array of pairs, for bootstraps that resample index vectors
    statistic.on_array = statistic  # type: ignore[attr-defined]
    return statistic


def _add(name: str) -> Callable[[Sequence[Any]], float]:
    """The ADD metric `name` of per-utterance items (`pingce.voice.add_task.ADD_STATISTICS`)."""

    def statistic(items: Sequence[Any]) -> float:
        return importlib.import_module("pingce.voice.add_task").ADD_STATISTICS[name](items)

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
        statistic=_pairs("voice_eer"),
    ),
    MetricDef(
        "voice_min_dcf",
        "最小检测代价",
        "Normalised minimum detection cost, ASVspoof 5 model (Pspoof 0.05, Cmiss 1, Cfa 10).",
        direction="lower",
        scale=0.0,
        statistic=_pairs("voice_min_dcf"),
    ),
    MetricDef(
        "voice_act_dcf",
        "实际检测代价",
        "Normalised DCF at the Bayes threshold -ln(beta) for LLR scores (ASVspoof 5 model); "
        "shows miscalibration.",
        direction="lower",
        scale=0.0,
        statistic=_pairs("voice_act_dcf"),
    ),
    MetricDef(
        "voice_cllr",
        "对数似然比代价",
        "Cllr in bits, the scores taken as natural-log likelihood ratios.",
        direction="lower",
        scale=0.0,
        unit="bits",
        statistic=_pairs("voice_cllr"),
    ),
    MetricDef(
        "voice_min_cllr",
        "最小对数似然比代价",
        "Cllr after optimal monotone (PAV) calibration, in bits.",
        direction="lower",
        scale=0.0,
        unit="bits",
        statistic=_pairs("voice_min_cllr"),
    ),
    MetricDef(
        "voice_eer_rocch",
        "凸包等错误率",
        "EER on the ROC convex hull (BOSARIS rocch2eer).",
        direction="lower",
        scale=1.0,
        unit="fraction",
        statistic=_pairs("voice_eer_rocch"),
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

ADD_METRICS = [
    MetricDef(
        "voice_add_segment_f1",
        "片段级F1",
        "ADD 2023 track 2: F1 of fake frames (10 ms grid, label at the frame centre), "
        "counts pooled over all utterances.",
        statistic=_add("segment_f1"),
        unit="fraction",
    ),
    MetricDef(
        "voice_add_sentence_accuracy",
        "句子级准确率",
        "Share of utterances whose fake/real decision (fake if any frame is fake) is right.",
        binary=True,
        unit="fraction",
    ),
    MetricDef(
        "voice_add_track2_score",
        "ADD 2023 定位赛道得分",
        "ADD 2023 track 2 ranking score: 0.3 x sentence accuracy + 0.7 x segment F1.",
        statistic=_add("track2"),
        unit="fraction",
    ),
    MetricDef(
        "voice_add_macro_f1",
        "宏平均F1",
        "ADD 2023 track 3: unweighted mean of per-algorithm F1 over every class in the "
        "reference or the prediction (scikit-learn f1_score average='macro').",
        statistic=_add("macro_f1"),
        unit="fraction",
    ),
]
ADD_BY_NAME = {m.name: m for m in ADD_METRICS}


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
    """Register every voice metric (idempotent; imports nothing heavy)."""
    for m in [*VOICE_METRICS, *OPERATING_METRICS, *ADD_METRICS]:
        if not metrics.has_loaded(m.name):
            metrics.register(m.name, m)
