"""The synthetic heat generator: seeded, physically plausible, and with the faults it claims."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from pingce.steel.generator import FEATURES, TARGETS, HeatConfig, generate_heats, generate_series
from pingce.steel.heats import load_schema, prepare
from pingce.steel.process_data import series_checks, validity

CLEAN = {"missing_rate": 0, "fault_rate": 0, "duplicate_rate": 0, "drift": 0, "leakage": False}


def test_same_seed_same_heats_other_seed_other_heats() -> None:
    a = generate_heats(HeatConfig(heats=80, seed=3))
    b = generate_heats(HeatConfig(heats=80, seed=3))
    c = generate_heats(HeatConfig(heats=80, seed=4))
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(
        a["endpoint_temp_c"].to_numpy(), c["endpoint_temp_c"].to_numpy()[: len(a)]
    )


def test_clean_heats_lie_inside_the_schema_ranges_and_are_time_ordered() -> None:
    frame = generate_heats(HeatConfig(heats=400, seed=1, **CLEAN))
    table = prepare(frame, load_schema(None), "gen")
    share, bad = validity(table)
    assert share.min() == 1.0, [b for b in bad if b][:3]
    assert frame["heat_id"].is_unique and frame["decision_time"].is_monotonic_increasing
    assert frame[[*FEATURES, *TARGETS]].notna().all().all()
    # typical BOF figures: ~1650 °C tap, ~0.03-0.15 % C, tens of ppm P
    assert 1630 < frame["endpoint_temp_c"].mean() < 1680
    assert 0.03 < frame["endpoint_c_pct"].median() < 0.12
    assert 0.004 < frame["endpoint_p_pct"].median() < 0.02


def test_the_balances_give_the_physical_signs() -> None:
    """More oxygen burns more carbon; more scrap cools the bath; hotter hot metal, hotter steel;
    more silicon (fuel) heats it; more lime takes phosphorus out."""
    frame = generate_heats(HeatConfig(heats=1500, seed=2, **CLEAN))
    x = frame[list(FEATURES)]
    coef = {
        t: dict(zip(FEATURES, LinearRegression().fit(x, frame[t]).coef_, strict=True))
        for t in TARGETS
    }
    assert coef["endpoint_c_pct"]["oxygen_nm3"] < 0
    assert coef["endpoint_temp_c"]["scrap_mass_t"] < 0
    assert coef["endpoint_temp_c"]["hm_temp_c"] > 0
    assert coef["endpoint_temp_c"]["hm_si_pct"] > 0
    assert coef["endpoint_p_pct"]["lime_t"] < 0
    # learnable but noisy: a linear model explains most of the temperature, not all
    r2 = LinearRegression().fit(x, frame["endpoint_temp_c"]).score(x, frame["endpoint_temp_c"])
    assert 0.5 < r2 < 0.99


def test_injected_faults_are_there() -> None:
    cfg = HeatConfig(heats=1000, seed=5, missing_rate=0.05, fault_rate=0.02, duplicate_rate=0.02)
    frame = generate_heats(cfg)
    assert frame["heat_id"].duplicated().sum() > 5
    assert frame["hm_si_pct"].isna().sum() > 20
    assert (frame["hm_temp_c"] == 1200.0).sum() > 5
    assert (frame["tap_temp_c_recorded_at"] > frame["decision_time"]).all()
    # the leakage column is the target up to measurement noise
    assert np.corrcoef(frame["tap_temp_c"], frame["endpoint_temp_c"])[0, 1] > 0.98
    # the oxygen meter over-reads late in the last campaign (drift): oxygen per ton rises
    per_t = frame["oxygen_nm3"] / frame["hm_mass_t"]
    last = frame["campaign"] == 3
    ok = frame["oxygen_nm3"] > 0
    assert per_t[last & ok].tail(50).mean() > per_t[~last & ok].mean()


def test_series_have_the_declared_lag_and_gaps() -> None:
    heats = generate_heats(HeatConfig(heats=30, seed=0))
    series = generate_series(heats, seed=0, every_s=2.0, lag_s=14.0, max_heats=6)
    found = series_checks(series, "heat_id", "oxygen_flow_nm3_min", 60.0)
    assert len(found) == 6
    assert all(r["lags"]["offgas_co_pct"] == 14.0 for r in found)
    assert found[0]["max_gap_s"] >= 20.0  # every fifth heat (the first among them) has a 20 s gap
