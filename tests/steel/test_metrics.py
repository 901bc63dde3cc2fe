"""Every end-point metric against scikit-learn, scipy or a hand count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.inspection import permutation_importance as sk_permutation_importance
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from pingce.core.execute import WorkUnit
from pingce.steel.heats import load_schema, prepare
from pingce.steel.metrics import CATALOGUE, r2, rank_agreement, rmse
from pingce.steel.model_eval import EndpointParams, EndpointTask, permutation_importance

Y = np.array([1650.0, 1662.0, 1641.0, 1670.0, 1655.0, 1648.0])
P = np.array([1655.0, 1650.0, 1641.5, 1684.0, 1664.9, 1638.0])


def test_rmse_r2_mae_bias_match_sklearn() -> None:
    """Reference: sklearn.metrics (MAE, MSE, r2_score); bias by hand."""
    err = P - Y
    assert rmse((err**2).tolist()) == pytest.approx(np.sqrt(mean_squared_error(Y, P)))
    assert r2(np.column_stack([Y, P]).tolist()) == pytest.approx(r2_score(Y, P))
    assert float(np.mean(np.abs(err))) == pytest.approx(mean_absolute_error(Y, P))
    assert CATALOGUE["steel_temp_bias"].statistic(err.tolist()) == pytest.approx(sum(P - Y) / 6)


def test_rank_agreement_is_the_mean_pairwise_spearman() -> None:
    """Reference: scipy.stats.spearmanr over the three pairs, averaged by hand."""
    a, b, c = [3.0, 1.0, 2.0, 0.5], [2.5, 1.2, 2.0, 0.1], [0.2, 1.0, 2.0, 3.0]
    expected = np.mean(
        [spearmanr(a, b).statistic, spearmanr(a, c).statistic, spearmanr(b, c).statistic]
    )
    assert rank_agreement([a, b, c]) == pytest.approx(expected)
    assert rank_agreement([a, a]) == pytest.approx(1.0)


class _Fixed:
    """A 'model' returning fixed predictions, to score a hand-made case."""

    features = ["x"]
    targets = None

    def __init__(self, preds: dict[str, np.ndarray]) -> None:
        self.preds = preds

    def feature_names(self, default=None):  # type: ignore[no-untyped-def]
        return ["x"]

    def predict(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        return self.preds


def test_hit_and_double_hit_by_hand() -> None:
    """Hand count: temperature hits at ±10 °C: |5|,|12|,|0.5|,|14|,|9.9|,|10| -> 4 of 6;
    carbon hits at ±0.02 %: 5 of 6; both: heats 1, 3, 5, 6 -> 4 of 6 (6th: exactly 10 counts)."""
    c_y = np.array([0.05, 0.06, 0.04, 0.08, 0.07, 0.05])
    c_p = np.array([0.06, 0.07, 0.05, 0.05, 0.09, 0.045])
    frame = pd.DataFrame(
        {
            "heat_id": [f"h{i}" for i in range(6)],
            "decision_time": pd.date_range("2026-01-01", periods=6, freq="h", tz="UTC"),
            "x": 1.0,
            "endpoint_temp_c": Y,
            "endpoint_c_pct": c_y,
        }
    )
    table = prepare(frame, load_schema(None), "hand")
    params = EndpointParams(
        id="t", type="steel.endpoint", features=["x"], split={"test_fraction": 1.0}
    )
    model = _Fixed({"endpoint_temp_c": P, "endpoint_c_pct": c_p})
    task = EndpointTask(params, table, model)
    units = task.units(type("S", (), {"fingerprint": lambda self: {}})())
    outs = task.process(model, units)
    temp_hits = [o.scores["steel_temp_hit_rate"] for o in outs]
    c_hits = [o.scores["steel_c_hit_rate"] for o in outs]
    double = [o.scores["steel_double_hit_rate"] for o in outs]
    assert temp_hits == [1, 0, 1, 0, 1, 1]
    assert c_hits == [1, 1, 1, 0, 1, 1]
    assert double == [1, 0, 1, 0, 1, 1]
    row = CATALOGUE["steel_temp_mae"].row([o.scores["steel_temp_mae"] for o in outs])
    assert row["value"] == pytest.approx(mean_absolute_error(Y, P))
    assert isinstance(units[0], WorkUnit)


class _SkModel:
    def __init__(self, est: LinearRegression, feats: list[str]) -> None:
        self.est, self.feats = est, feats

    def predict(self, frame: pd.DataFrame, only: str | None = None) -> dict[str, np.ndarray]:
        return {"y": self.est.predict(frame[self.feats])}


def test_permutation_importance_ranks_like_sklearn() -> None:
    """Reference: sklearn.inspection.permutation_importance with the MAE scorer (many repeats,
    so both estimates sit near the expectation); same ranking, close values."""
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(400, 4)), columns=["a", "b", "c", "d"])
    y = 3 * x["a"] + 1.5 * x["b"] + 0.5 * x["c"] + rng.normal(0, 0.1, 400)
    est = LinearRegression().fit(x, y)
    ours = [
        permutation_importance(
            _SkModel(est, list(x.columns)),
            x,
            y.to_numpy(),
            "y",
            list(x.columns),
            np.random.default_rng(k),
        )
        for k in range(30)
    ]
    mean_ours = np.mean([[o[f] for f in x.columns] for o in ours], axis=0)
    sk = sk_permutation_importance(
        est, x, y, scoring="neg_mean_absolute_error", n_repeats=30, random_state=0
    )
    assert list(np.argsort(-mean_ours)) == list(np.argsort(-sk.importances_mean))
    assert mean_ours == pytest.approx(sk.importances_mean, rel=0.1, abs=0.02)
