"""The steel standard's metric catalogue (registered once in `pingce.core.registry.metrics`).

End-point model metrics are per target: `temp` (end-point temperature, °C), `c` (end-point
carbon, mass %), `p` (end-point phosphorus, mass %). Per-sample values live in each heat's
record; corpus statistics (RMSE, R², explanation stability) roll them up.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from pingce.core.metric import MetricDef

# target key -> (column, English name, Chinese name, unit)
TARGETS: dict[str, tuple[str, str, str, str]] = {
    "temp": ("endpoint_temp_c", "end-point temperature", "终点温度", "°C"),
    "c": ("endpoint_c_pct", "end-point carbon", "终点碳含量", "%"),
    "p": ("endpoint_p_pct", "end-point phosphorus", "终点磷含量", "%"),
}
COLUMN_TO_KEY = {col: key for key, (col, *_rest) in TARGETS.items()}
DEFAULT_TOLERANCES: dict[str, list[float]] = {"temp": [10.0, 15.0], "c": [0.02], "p": [0.005]}


def rmse(items: Sequence[Any]) -> float:
    """Root of the mean of per-sample squared errors."""
    import numpy as np

    arr = np.asarray(items, dtype=float)
    return float(math.sqrt(arr.mean())) if arr.size else math.nan


def r2(items: Sequence[Any]) -> float:
    """Coefficient of determination over (observed, predicted) pairs, as sklearn's r2_score."""
    import numpy as np

    arr = np.asarray(items, dtype=float).reshape(-1, 2)
    if arr.shape[0] < 2:
        return math.nan
    y, pred = arr[:, 0], arr[:, 1]
    ss_tot = float(((y - y.mean()) ** 2).sum())
    if ss_tot == 0.0:
        return math.nan
    return 1.0 - float(((y - pred) ** 2).sum()) / ss_tot


def mean(items: Sequence[Any]) -> float:
    import numpy as np

    arr = np.asarray(items, dtype=float)
    return float(arr.mean()) if arr.size else math.nan


def rank_agreement(items: Sequence[Any]) -> float:
    """Mean pairwise Spearman correlation between importance vectors (one per resample):
    the Pearson correlation of their ranks (ties get average ranks), pairs with a constant
    vector left out."""
    import numpy as np
    from scipy.stats import rankdata

    mat = np.asarray([np.asarray(v, dtype=float) for v in items])
    if mat.ndim != 2 or mat.shape[0] < 2:
        return math.nan
    ranks = rankdata(mat, axis=1)
    ranks = ranks - ranks.mean(axis=1, keepdims=True)
    norms = np.sqrt((ranks**2).sum(axis=1))
    rhos = []
    for i, j in itertools.combinations(range(len(ranks)), 2):
        if norms[i] > 0 and norms[j] > 0:
            rhos.append(float(ranks[i] @ ranks[j] / (norms[i] * norms[j])))
    return float(np.mean(rhos)) if rhos else math.nan


def _target_metrics(key: str) -> list[MetricDef]:
    _col, name, zh, unit = TARGETS[key]
    return [
        MetricDef(
            f"steel_{key}_hit_rate",
            f"{zh}命中率",
            f"Share of heats whose predicted {name} is within the primary tolerance (±, the task's first tolerance) of the measured value.",
            binary=True,
        ),
        MetricDef(
            f"steel_{key}_mae",
            f"{zh}平均绝对误差",
            f"Mean absolute error of the predicted {name} ({unit}).",
            direction="lower",
            scale=0.0,
            unit=unit,
        ),
        MetricDef(
            f"steel_{key}_rmse",
            f"{zh}均方根误差",
            f"Root mean squared error of the predicted {name} ({unit}).",
            direction="lower",
            scale=0.0,
            unit=unit,
            statistic=rmse,
        ),
        MetricDef(
            f"steel_{key}_r2",
            f"{zh}决定系数R²",
            f"Coefficient of determination of the predicted {name} over the test heats (1 - SS_res/SS_tot).",
            statistic=r2,
        ),
        MetricDef(
            f"steel_{key}_bias",
            f"{zh}偏差",
            f"Mean signed error, predicted minus measured {name} ({unit}); closer to 0 is better.",
            direction="lower",
            scale=0.0,
            unit=unit,
            statistic=mean,
        ),
        MetricDef(
            f"steel_{key}_coverage",
            f"{zh}区间覆盖率",
            f"Share of heats whose measured {name} lies inside the model's prediction interval (only for models that give intervals).",
            binary=True,
        ),
    ]


ENDPOINT: list[MetricDef] = [
    *(m for key in TARGETS for m in _target_metrics(key)),
    MetricDef(
        "steel_double_hit_rate",
        "温度碳双命中率",
        "Share of heats where both the end-point temperature and the end-point carbon are within their primary tolerances.",
        binary=True,
    ),
]

IMPORTANCE: list[MetricDef] = [
    MetricDef(
        "steel_importance_stability",
        "解释稳定性",
        "Mean pairwise Spearman rank correlation of permutation importances (MAE increase when a feature is shuffled) computed on bootstrap resamples of the test heats.",
        statistic=rank_agreement,
    ),
]

QUALITY: list[MetricDef] = [
    MetricDef(
        "steel_completeness",
        "完整性",
        "Mean share of the schema's required fields present (not missing) per heat.",
    ),
    MetricDef(
        "steel_validity",
        "有效性",
        "Mean share of a heat's present values that lie inside the schema's physical range (after unit conversion).",
    ),
    MetricDef(
        "steel_duplicate_rate",
        "重复炉次率",
        "Share of rows whose heat id occurs in an earlier row.",
        direction="lower",
        binary=True,
    ),
    MetricDef(
        "steel_outlier_rate",
        "离群炉次率(稳健Z)",
        "Share of heats with any numeric field whose robust z-score (0.6745·|x - median| / MAD) exceeds the threshold (3.5).",
        direction="lower",
        binary=True,
    ),
    MetricDef(
        "steel_isoforest_outlier_rate",
        "离群炉次率(孤立森林)",
        "Share of heats an isolation forest (seeded, contamination 'auto') labels as outliers.",
        direction="lower",
        binary=True,
    ),
    MetricDef(
        "steel_balance_consistency",
        "物料平衡一致率",
        "Share of heats whose mass balance (metallic yield) and oxygen balance (oxygen utilisation) residuals lie inside their bounds.",
        binary=True,
    ),
    MetricDef(
        "steel_leakage_rate",
        "信息泄露率",
        "Share of model feature columns recorded after the decision time (by the schema or by a recorded-at timestamp column).",
        direction="lower",
        binary=True,
    ),
    MetricDef(
        "steel_drift_rate",
        "漂移特征率",
        "Share of numeric features whose distribution in the latest period differs from the earliest (two-sample KS test on in-range values, p < 0.01 divided by the number of features).",
        direction="lower",
        binary=True,
    ),
    MetricDef(
        "steel_ts_gap_rate",
        "采样间隙率",
        "Share of sampling intervals in a heat's sensor series longer than twice the nominal interval (mean over heats).",
        direction="lower",
        scale=1.0,
    ),
    MetricDef(
        "steel_sensor_lag_s",
        "传感器滞后",
        "Lag of a sensor behind the reference sensor estimated by cross-correlation of their differenced series (seconds, mean over heats).",
        direction="lower",
        scale=0.0,
        unit="s",
    ),
]

CATALOGUE: dict[str, MetricDef] = {m.name: m for m in [*ENDPOINT, *IMPORTANCE, *QUALITY]}

# Default acceptance levels (a verdict in the report). They are pingce's defaults, typical of
# what plants ask of a dynamic end-point model and of clean process data, not figures quoted
# from the standard's text; a suite task overrides them with `thresholds: {metric: value}`.
THRESHOLDS: dict[str, float] = {
    "steel_temp_hit_rate": 0.80,
    "steel_c_hit_rate": 0.80,
    "steel_double_hit_rate": 0.70,
    "steel_importance_stability": 0.80,
    "steel_completeness": 0.98,
    "steel_validity": 0.99,
    "steel_duplicate_rate": 0.0,
    "steel_balance_consistency": 0.95,
    "steel_leakage_rate": 0.0,
}
