"""The steel standard end to end through the shared run path: a report whose shape is pinned
and whose numbers equal scikit-learn's on the same time-ordered test heats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.metrics import mean_absolute_error, r2_score

from pingce.core.errors import DataError, SpecError
from pingce.core.reporting import build_report_doc
from pingce.core.run import RunRequest, execute_run
from pingce.core.spec import load_suite
from pingce.core.store import open_store
from pingce.steel.generator import FEATURES, generate_series
from pingce.steel.heats import load_schema, prepare

SUITE = {
    "standard": "steel",
    "name": "bof-test",
    "tasks": [
        {
            "id": "endpoint",
            "type": "steel.endpoint",
            "generated": {"heats": 300, "seed": 1},
            "tolerances": {"temp": [10, 15], "c": [0.02]},
            "periods": 3,
        },
        {
            "id": "importance",
            "type": "steel.importance",
            "generated": {"heats": 300, "seed": 1},
            "resamples": 3,
        },
    ],
}


def _run(tmp_path: Path, suite: dict, subject: str, **options):  # type: ignore[no-untyped-def]
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(suite), encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    run_id = execute_run(
        store, RunRequest(str(path), subject, options=options), show_progress=False
    )
    return build_report_doc(store, store.get_run(run_id))


def _test_set(heats):  # type: ignore[no-untyped-def]
    """The suite's test set, rebuilt by hand: dedup, latest 30 % by time, complete and valid."""
    frame = heats.drop_duplicates("heat_id").sort_values("decision_time", kind="stable")
    cut = int(round(len(frame) * 0.7))
    train, test = frame.iloc[:cut], frame.iloc[cut:]
    test = test.dropna(subset=list(FEATURES))
    schema = load_schema(None)
    for f in FEATURES:
        spec = schema.columns[f]
        test = test[(test[f] >= spec.min) & (test[f] <= spec.max)]
    return train, test


def test_bof_endpoint_report_matches_sklearn(
    tmp_path: Path, linear_pickle: Path, linear_models, heats
) -> None:  # type: ignore[no-untyped-def]
    """References: sklearn.metrics (MAE, r2_score) and a hand count of hits on the test heats."""
    doc = _run(tmp_path, SUITE, f"pickle:{linear_pickle}", trust_pickle=True)
    train, test = _test_set(heats)
    assert test["decision_time"].min() > train["decision_time"].max()  # time-ordered, no shuffling
    pred = linear_models["endpoint_temp_c"].predict(test[list(FEATURES)])
    y = test["endpoint_temp_c"].to_numpy()
    task = next(t for t in doc["tasks"] if t["id"] == "endpoint")
    m = task["metrics"]
    assert task["n_samples"] == len(test) and task["primary_metric"] == "steel_temp_hit_rate"
    assert m["steel_temp_hit_rate"]["value"] == pytest.approx(np.mean(np.abs(pred - y) <= 10))
    assert m["steel_temp_mae"]["value"] == pytest.approx(mean_absolute_error(y, pred))
    assert m["steel_temp_r2"]["value"] == pytest.approx(r2_score(y, pred))
    assert m["steel_temp_rmse"]["value"] == pytest.approx(np.sqrt(np.mean((pred - y) ** 2)))
    c_pred = linear_models["endpoint_c_pct"].predict(test[list(FEATURES)])
    both = (np.abs(pred - y) <= 10) & (np.abs(c_pred - test["endpoint_c_pct"].to_numpy()) <= 0.02)
    assert m["steel_double_hit_rate"]["value"] == pytest.approx(both.mean())
    # the pinned shape: indicators, sections, notes
    ids = {(i["id"], i["scope"]) for i in doc["indicators"]}
    for key in ("temp", "c", "p"):
        for metric in ("hit_rate", "mae", "rmse", "r2", "bias"):
            assert (f"steel_{key}_{metric}", "endpoint") in ids
    assert ("steel_importance_stability", "importance") in ids
    hit = next(i for i in doc["indicators"] if i["id"] == "steel_temp_hit_rate")
    assert hit["threshold"] == 0.8
    assert hit["verdict"] == ("pass" if hit["value"] >= 0.8 else "fail")
    assert "steel_temp_coverage" not in m  # the model gives no intervals
    sections = {s["id"]: s for s in doc["sections"]}
    assert set(sections) == {
        "endpoint-hit-rates",
        "endpoint-grades",
        "endpoint-periods",
        "importance-importance",
    }
    rows = sections["endpoint-hit-rates"]["table"]["rows"]
    assert [r[1] for r in rows] == ["±10 °C", "±15 °C", "±0.02 %", "±0.005 %", "±10 °C and ±0.02 %"]
    assert rows[1][2] == pytest.approx(round(float(np.mean(np.abs(pred - y) <= 15)), 4))
    assert len(sections["endpoint-periods"]["table"]["rows"]) == 3
    assert sum(r[1] for r in sections["endpoint-grades"]["table"]["rows"]) == len(test)
    assert any("time-ordered split, no shuffling" in n for n in doc["notes"])
    stability = next(t for t in doc["tasks"] if t["id"] == "importance")["metrics"]
    assert 0.5 < stability["steel_importance_stability"]["value"] <= 1.0


def test_interval_coverage_from_a_callable(tmp_path: Path, heats) -> None:  # type: ignore[no-untyped-def]
    """Hand count: a constant ±20 °C interval around 1655 °C covers the heats within it."""
    (tmp_path / "const.py").write_text(
        "def predict(frame):\n"
        "    n = len(frame)\n"
        "    return {'endpoint_temp_c': [1655.0] * n, 'endpoint_temp_c_lo': [1635.0] * n, 'endpoint_temp_c_hi': [1675.0] * n}\n",
        encoding="utf-8",
    )
    task = {**SUITE["tasks"][0], "thresholds": {"steel_temp_hit_rate": 0.01}}
    suite = {"standard": "steel", "name": "cov", "tasks": [task]}
    doc = _run(tmp_path, suite, f"python:{tmp_path / 'const.py'}:predict")
    _train, test = _test_set(heats)
    y = test["endpoint_temp_c"].to_numpy()
    m = doc["tasks"][0]["metrics"]
    assert m["steel_temp_coverage"]["value"] == pytest.approx(np.mean((y >= 1635) & (y <= 1675)))
    assert "steel_c_hit_rate" not in m and "steel_double_hit_rate" not in m
    hit = next(i for i in doc["indicators"] if i["id"] == "steel_temp_hit_rate")
    assert hit["threshold"] == 0.01 and hit["verdict"] == "pass"  # the task's own pass level


def test_process_data_suite_on_files(tmp_path: Path, heats) -> None:  # type: ignore[no-untyped-def]
    frame = heats.copy()
    frame["hm_temp_c"] = frame["hm_temp_c"] + 273.15  # the file is in kelvin
    frame.to_csv(tmp_path / "heats.csv", index=False)
    generate_series(heats, seed=0, max_heats=5).to_parquet(tmp_path / "series.parquet")
    subject = (
        f"heats:{tmp_path / 'heats.csv'}?units=hm_temp_c:K&series={tmp_path / 'series.parquet'}"
    )
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    run_id = execute_run(store, RunRequest("steel/process-data", subject), show_progress=False)
    doc = build_report_doc(store, store.get_run(run_id))
    m = {t["id"]: t["metrics"] for t in doc["tasks"]}
    table = prepare(heats, load_schema(None), "x")
    assert m["duplicates"]["steel_duplicate_rate"]["value"] == pytest.approx(
        heats["heat_id"].duplicated().mean()
    )
    # after K -> °C the out-of-range hm_temp_c are those of the original °C table
    bad_temp = [
        r
        for r in next(s for s in doc["sections"] if s["id"] == "validity-fields")["table"]["rows"]
        if r[0] == "hm_temp_c"
    ]
    temp = table.frame["hm_temp_c"]
    assert bad_temp[0][1] == int(((temp < 1250) | (temp > 1450)).sum()) >= 1
    assert m["leakage"]["steel_leakage_rate"]["value"] == pytest.approx(1 / 12)
    # the generator's oxygen meter drifts in campaign 3: the balance shows it
    assert any("campaign 3" in n and "drifting" in n for n in doc["notes"])
    drift_rows = next(s for s in doc["sections"] if s["id"] == "consistency-sensor-drift")["table"][
        "rows"
    ]
    assert [r[4] for r in drift_rows] == ["no", "no", "yes"]
    assert m["timeseries"]["steel_sensor_lag_s"]["value"] == pytest.approx(12.0)
    assert {t["id"] for t in doc["tasks"]} == {
        "completeness",
        "validity",
        "duplicates",
        "outliers",
        "consistency",
        "leakage",
        "drift",
        "timeseries",
    }


def test_bad_inputs_are_one_line_errors(tmp_path: Path, linear_pickle: Path) -> None:
    with pytest.raises(SpecError, match="refusing without --trust-pickle"):
        _run(tmp_path, SUITE, f"pickle:{linear_pickle}")
    bad = {**SUITE, "tasks": [{**SUITE["tasks"][0], "tolerances": {"temp": [-1]}}]}
    with pytest.raises(SpecError, match=r"tolerances.*positive"):
        _run(tmp_path, bad, f"pickle:{linear_pickle}", trust_pickle=True)
    odd = {**SUITE, "tasks": [{**SUITE["tasks"][0], "tolerance": {"temp": [5]}}]}
    with pytest.raises(SpecError, match="did you mean 'tolerances'"):
        _run(tmp_path, odd, f"pickle:{linear_pickle}", trust_pickle=True)
    (tmp_path / "noid.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 's2.db'}")
    with pytest.raises(DataError, match="no column 'heat_id'"):
        execute_run(
            store,
            RunRequest("steel/process-data", f"heats:{tmp_path / 'noid.csv'}"),
            show_progress=False,
        )
    mixed = {
        "standard": "steel",
        "name": "m",
        "tasks": [SUITE["tasks"][0], {"id": "d", "type": "steel.quality.duplicates"}],
    }
    with pytest.raises(SpecError, match="mixes model tasks and data-quality tasks"):
        _run(tmp_path, mixed, f"pickle:{linear_pickle}", trust_pickle=True)


def test_builtin_suites_load() -> None:
    assert len(load_suite("steel/bof-endpoint").spec.tasks) == 2
    assert len(load_suite("steel/process-data").spec.tasks) == 8


def test_limit_scores_the_first_samples_only(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    request = RunRequest(
        "steel/process-data", "heats:generated?heats=60&seed=2", options={"limit": 5}
    )
    run_id = execute_run(store, request, show_progress=False)
    doc = build_report_doc(store, store.get_run(run_id))
    assert {t["id"]: t["n_samples"] for t in doc["tasks"]}["completeness"] == 5


def test_by_campaign_when_the_test_set_spans_campaigns(
    tmp_path: Path, linear_pickle: Path, linear_models, heats
) -> None:  # type: ignore[no-untyped-def]
    """Hand count per campaign of temperature hits (±10 °C) on the latest half of the heats."""
    task = {**SUITE["tasks"][0], "split": {"test_fraction": 0.5}}
    doc = _run(
        tmp_path,
        {"standard": "steel", "name": "c", "tasks": [task]},
        f"pickle:{linear_pickle}",
        trust_pickle=True,
    )
    rows = {
        r[0]: r
        for r in next(s for s in doc["sections"] if s["id"] == "endpoint-campaigns")["table"][
            "rows"
        ]
    }
    frame = heats.drop_duplicates("heat_id").sort_values("decision_time", kind="stable")
    test = frame.iloc[int(round(len(frame) * 0.5)) :].dropna(subset=list(FEATURES))
    schema = load_schema(None)
    for f in FEATURES:
        test = test[(test[f] >= schema.columns[f].min) & (test[f] <= schema.columns[f].max)]
    assert set(rows) == {str(c) for c in test["campaign"].unique()} and len(rows) == 2
    for campaign, part in test.groupby("campaign"):
        pred = linear_models["endpoint_temp_c"].predict(part[list(FEATURES)])
        hit = float(np.mean(np.abs(pred - part["endpoint_temp_c"].to_numpy()) <= 10))
        assert rows[str(campaign)][1] == len(part)
        assert rows[str(campaign)][2] == pytest.approx(round(hit, 4))


def test_a_bad_heat_table_is_reported_before_the_model_loads(tmp_path: Path) -> None:
    """The model file does not exist either: the data error must come first."""
    (tmp_path / "bad.csv").write_text("heat_id,decision_time\nh1,not a time\n", encoding="utf-8")
    task = {"id": "endpoint", "type": "steel.endpoint", "data": str(tmp_path / "bad.csv")}
    with pytest.raises(DataError, match="no valid 'decision_time' timestamp"):
        _run(
            tmp_path,
            {"standard": "steel", "name": "b", "tasks": [task]},
            f"onnx:{tmp_path / 'none.onnx'}",
        )
