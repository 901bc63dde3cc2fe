"""The voice standard's metrics as registered `MetricDef`s, computed from stored records.

The declarations are in `pingce.voice.catalogue` (re-exported here). A metric's `statistic` turns a list of [score, is_bonafide] pairs into one number (the
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

from pingce.voice import metrics as vm
from pingce.voice.catalogue import (
    BOOTSTRAPPED,
    BY_NAME,
    OPERATING_METRICS,
    OPERATING_NAMES,
    SYSTEM_INDICATORS,
    TDCF_INDICATOR,
    TDCF_METRIC,
    VOICE_METRICS,
    register_metrics,
)

__all__ = [
    "ARRAY_FN",
    "BOOTSTRAPPED",
    "BY_NAME",
    "OPERATING_METRICS",
    "OPERATING_NAMES",
    "SYSTEM_INDICATORS",
    "TDCF_INDICATOR",
    "TDCF_METRIC",
    "VOICE_METRICS",
    "eer_min_dcf_resampler",
    "operating_resampler",
    "pair_statistic",
    "register_metrics",
]


def _split(items: Sequence[Any]) -> tuple[np.ndarray, np.ndarray] | None:
    arr = np.asarray(items, dtype=float).reshape(-1, 2)
    bona = arr[arr[:, 1] > 0.5, 0]
    spoof = arr[arr[:, 1] <= 0.5, 0]
    if bona.size == 0 or spoof.size == 0:
        return None
    return bona, spoof


def pair_statistic(name: str, items: Sequence[Any]) -> float:
    """The detector metric `name` of [score, is_bona_fide] pairs: NaN without both classes."""
    parts = _split(items)
    return math.nan if parts is None else float(ARRAY_FN[name](*parts))


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
