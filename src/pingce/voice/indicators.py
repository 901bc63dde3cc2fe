"""The voice standard's metrics as registered `MetricDef`s, computed from stored records.

Each record of a scored trial stores, under every metric name, the pair [score, is_bonafide];
a metric's `statistic` turns a list of pairs into one number, so the value and its bootstrap
CI both come from the stored records (`pingce.core.stats.estimate`). A resample with no
trial of one class has no EER: the statistic is NaN there and the CI is then not reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pingce.core.metric import MetricDef
from pingce.core.registry import metrics
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
BY_NAME = {m.name: m for m in VOICE_METRICS}
BOOTSTRAPPED = ("voice_eer", "voice_min_dcf")


def register_metrics() -> None:
    for m in VOICE_METRICS:
        if m.name not in metrics._items:
            metrics.register(m.name, m)
