"""Process-data checks against hand counts, scipy and scikit-learn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from pingce.core.errors import SpecError
from pingce.steel.heats import convert_units, load_heats, load_schema, prepare
from pingce.steel.process_data import (
    completeness,
    consistency,
    drift,
    duplicates,
    leakage,
    outliers,
    robust_z,
    sensor_lag,
    series_checks,
    validity,
)


def _table(rows: list[dict], units: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    frame = pd.DataFrame(rows)
    frame["decision_time"] = pd.date_range("2026-03-01", periods=len(frame), freq="40min", tz="UTC")
    return prepare(frame, load_schema(None), "t.csv", units)


BASE = {
    "hm_mass_t": 90.0,
    "hm_temp_c": 1330.0,
    "hm_c_pct": 4.4,
    "hm_si_pct": 0.4,
    "hm_p_pct": 0.1,
    "scrap_mass_t": 15.0,
    "lime_t": 4.5,
    "oxygen_nm3": 5200.0,
    "blow_time_s": 900.0,
}


def test_completeness_validity_duplicates_by_hand() -> None:
    """Hand count: 9 required fields; heat b lacks 2 (7/9); heat c has 1 of 9 present values
    out of range (8/9 valid); heat a appears twice (one duplicate among 4 rows)."""
    rows = [
        {"heat_id": "a", **BASE},
        {"heat_id": "b", **BASE, "hm_si_pct": None, "lime_t": None},
        {"heat_id": "c", **BASE, "hm_temp_c": 1200.0},
        {"heat_id": "a", **BASE},
    ]
    t = _table(rows)
    share, missing = completeness(t)
    assert share.tolist() == pytest.approx([1.0, 7 / 9, 1.0, 1.0])
    assert missing[1] == ["hm_si_pct", "lime_t"]
    valid, bad = validity(t)
    assert valid.tolist() == pytest.approx([1.0, 1.0, 8 / 9, 1.0]) and bad[2] == ["hm_temp_c"]
    assert duplicates(t).tolist() == [0, 0, 0, 1]


def test_kelvin_and_kilograms_are_converted_before_range_checks() -> None:
    rows = [{"heat_id": "a", **BASE, "hm_temp_c": 1603.15, "scrap_mass_t": 15000.0}]
    t = _table(rows, {"hm_temp_c": "K", "scrap_mass_t": "kg"})
    assert t.frame["hm_temp_c"].iloc[0] == pytest.approx(1330.0)
    assert t.frame["scrap_mass_t"].iloc[0] == pytest.approx(15.0)
    assert validity(t)[0][0] == 1.0
    with pytest.raises(SpecError, match="units.hm_temp_c: 'kg' is a mass"):
        convert_units(t.frame, {"hm_temp_c": "kg"}, t.schema, "t.csv")
    with pytest.raises(SpecError, match="unknown unit 'F'"):
        convert_units(t.frame, {"hm_temp_c": "F"}, t.schema, "t.csv")


def test_robust_z_and_isolation_forest_flag_the_planted_outlier() -> None:
    """Reference: the Iglewicz-Hoaglin formula by hand; the forest must flag the extreme heat."""
    v = np.array([10.0, 11.0, 12.0, 13.0, 40.0])
    med, mad = 12.0, 1.0  # |v - 12| = 2, 1, 0, 1, 28 -> median 1
    assert robust_z(v) == pytest.approx(0.6745 * (v - med) / mad)
    rng = np.random.default_rng(0)
    rows = [
        {"heat_id": f"h{i}", **{k: v * rng.normal(1, 0.01) for k, v in BASE.items()}}
        for i in range(200)
    ]
    rows[50]["lime_t"] = 19.0
    rows[50]["scrap_mass_t"] = 60.0
    z, forest, which = outliers(_table(rows), list(BASE), 3.5, seed=0)
    assert z[50] == 1 and forest[50] == 1 and set(which[50]) == {"lime_t", "scrap_mass_t"}
    assert z.sum() < 10


def test_leakage_by_timestamp_and_by_schema() -> None:
    rows = [
        {"heat_id": f"h{i}", **BASE, "tap_temp_c": 1650.0, "endpoint_temp_c": 1650.0}
        for i in range(3)
    ]
    t = _table(rows)
    t.frame["tap_temp_c_recorded_at"] = t.frame["decision_time"] + pd.Timedelta(minutes=5)
    t.frame.loc[0, "tap_temp_c_recorded_at"] = t.frame.loc[0, "decision_time"] - pd.Timedelta(
        minutes=1
    )
    found = {r["column"]: r for r in leakage(t, ["hm_temp_c", "tap_temp_c", "endpoint_temp_c"])}
    assert found["hm_temp_c"]["leak"] == 0
    assert found["tap_temp_c"]["leak"] == 1 and "2 of 3 heats" in found["tap_temp_c"]["reason"]
    assert found["endpoint_temp_c"]["leak"] == 1 and "schema" in found["endpoint_temp_c"]["reason"]


def test_drift_is_scipys_ks_test_between_first_and_last_third() -> None:
    rng = np.random.default_rng(1)
    vals = np.concatenate(
        [rng.normal(5000, 50, 100), rng.normal(5000, 50, 100), rng.normal(5150, 50, 100)]
    )
    rows = [{"heat_id": f"h{i}", **BASE, "oxygen_nm3": v} for i, v in enumerate(vals)]
    res = {r["column"]: r for r in drift(_table(rows), ["oxygen_nm3", "lime_t"], 0.01)}
    ref = ks_2samp(vals[:100], vals[200:], method="asymp")
    assert res["oxygen_nm3"]["ks"] == pytest.approx(ref.statistic)
    assert res["oxygen_nm3"]["p"] == pytest.approx(ref.pvalue)
    assert res["oxygen_nm3"]["drift"] == 1
    assert "lime_t" not in res or res["lime_t"]["drift"] == 0  # a constant column: no test


def test_balance_flags_a_dropped_oxygen_reading() -> None:
    row = {**BASE, "steel_mass_t": 98.0, "endpoint_c_pct": 0.06, "hm_mn_pct": 0.3}
    t = _table([{"heat_id": "ok", **row}, {"heat_id": "bad", **row, "oxygen_nm3": 0.0}])
    ok, res = consistency(t)
    assert res["yield"].iloc[0] == pytest.approx(98.0 / 105.0)
    assert ok.tolist() == [1, 0]


def test_sensor_lag_recovers_a_known_shift() -> None:
    """Hand-made signal: a random step sequence and the same sequence 8 s later."""
    rng = np.random.default_rng(2)
    t = np.arange(0, 600, 2.0)
    ref = np.repeat(rng.normal(0, 1, 60), 5)
    other = np.concatenate([np.zeros(4), ref[:-4]])  # 4 samples * 2 s = 8 s later
    assert sensor_lag(t, ref, other, 2.0, 60.0) == 8.0


def test_gap_rate_by_hand() -> None:
    """Hand count: samples every 2 s with one 10 s hole -> intervals 2,2,2,10,2,2: 1 of 6 gaps."""
    series = pd.DataFrame(
        {
            "heat_id": "h1",
            "t_s": [0, 2, 4, 6, 16, 18, 20],
            "oxygen_flow_nm3_min": [300, 310, 305, 320, 330, 300, 310],
            "offgas_co_pct": [10, 11, 12, 11, 13, 12, 11],
        }
    )
    (row,) = series_checks(series, "heat_id", "oxygen_flow_nm3_min", 10.0)
    assert row["gap_rate"] == pytest.approx(1 / 6)
    assert row["interval_s"] == 2.0 and row["max_gap_s"] == 10.0


def test_a_saved_hugging_face_dataset_reads_like_the_csv(tmp_path: Path, heats) -> None:  # type: ignore[no-untyped-def]
    datasets = pytest.importorskip("datasets")
    frame = heats.assign(decision_time=heats["decision_time"].astype(str))
    frame = frame.drop(columns=["tap_temp_c_recorded_at"])
    datasets.Dataset.from_pandas(frame).save_to_disk(str(tmp_path / "ds"))
    frame.to_csv(tmp_path / "h.csv", index=False)
    a, b = load_heats(tmp_path / "ds"), load_heats(tmp_path / "h.csv")
    pd.testing.assert_frame_equal(a.frame[list(b.frame.columns)], b.frame, check_dtype=False)


def test_balance_trend_is_spearman_per_campaign() -> None:
    """Reference: scipy.stats.spearmanr of each campaign's residuals against time order."""
    from scipy.stats import spearmanr

    from pingce.steel.process_data import balance_trend

    rng = np.random.default_rng(3)
    level = list(0.9 + rng.normal(0, 0.005, 30))
    falling = list(0.9 - 0.001 * np.arange(30) + rng.normal(0, 0.002, 30))
    times = [f"2026-01-01T{i // 60:02d}:{i % 60:02d}" for i in range(60)]
    res = {r["group"]: r for r in balance_trend(times, level + falling, [1] * 30 + [2] * 30)}
    assert res[1]["rho"] == pytest.approx(spearmanr(range(30), level).statistic)
    assert res[2]["rho"] == pytest.approx(spearmanr(range(30), falling).statistic)
    assert res[2]["rho"] < -0.8 and res[2]["p"] < 0.01 and abs(res[1]["rho"]) < 0.5


def test_failed_sensor_readings_are_not_drift() -> None:
    """A stuck 1200 °C thermocouple in the latest heats is a validity failure, not drift:
    the KS test sees the in-range values only (and without the filter it would flag it)."""
    rng = np.random.default_rng(4)
    temps = rng.normal(1335, 20, 300)
    temps[250:290] = 1200.0
    rows = [{"heat_id": f"h{i}", **BASE, "hm_temp_c": t} for i, t in enumerate(temps)]
    (res,) = drift(_table(rows), ["hm_temp_c"], 0.01)
    assert res["drift"] == 0
    assert ks_2samp(temps[:100], temps[200:], method="asymp").pvalue < 0.001  # unfiltered: flagged
