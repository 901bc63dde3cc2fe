"""The processing pipeline: each step's effect against a hand count, the funnel, and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pingce.core.errors import SpecError
from pingce.steel.generator import generate_series
from pingce.steel.pipeline import run_pipeline
from pingce.steel.process_data import series_checks

PIPELINE = """
input: {heats: heats.csv, series: series.csv}
output: clean
steps:
  - drop_duplicates
  - drop_invalid: {mode: blank}
  - drop_leakage
  - impute: {method: median}
  - drop_incomplete
  - align_series: {reference: oxygen_flow_nm3_min, max_lag_s: 60}
  - resample_series: {every_s: 5}
"""


@pytest.fixture()
def work(tmp_path: Path, heats) -> Path:  # type: ignore[no-untyped-def]
    heats.to_csv(tmp_path / "heats.csv", index=False)
    generate_series(heats, seed=0, max_heats=4).to_csv(tmp_path / "series.csv", index=False)
    (tmp_path / "pipe.yaml").write_text(PIPELINE, encoding="utf-8")
    return tmp_path


def test_pipeline_funnel_and_outputs(work: Path, heats) -> None:  # type: ignore[no-untyped-def]
    stats = run_pipeline(work / "pipe.yaml")
    steps = {s["step"]: s for s in stats["funnel"]}
    n_dup = int(heats["heat_id"].duplicated().sum())
    assert n_dup == 4
    assert steps["drop_duplicates"]["removed"] == n_dup
    temp, o2 = (
        heats.drop_duplicates("heat_id")["hm_temp_c"],
        heats.drop_duplicates("heat_id")["oxygen_nm3"],
    )
    assert steps["drop_invalid"]["values_changed"] >= int(
        ((temp < 1250) | (temp > 1450)).sum() + (o2 < 2000).sum()
    )
    assert steps["drop_leakage"]["values_changed"] == 2  # tap_temp_c and its timestamp
    assert steps["impute"]["values_changed"] > 0 and steps["drop_incomplete"]["removed"] == 0
    clean = pd.read_csv(work / "clean" / "heats.csv")
    assert len(clean) == stats["heats_out"] == len(heats) - n_dup
    assert "tap_temp_c" not in clean and clean["heat_id"].is_unique
    series = pd.read_csv(work / "clean" / "series.csv")
    assert series.groupby("heat_id")["t_s"].diff().dropna().round(6).eq(5.0).all()
    lags = series_checks(series, "heat_id", "oxygen_flow_nm3_min", 60.0)
    assert all(abs(r["lags"]["offgas_co_pct"]) <= 5.0 for r in lags)  # 12 s lag aligned away
    assert json.loads((work / "clean" / "stats.json").read_text())["heats_out"] == len(clean)


def test_pipeline_refuses_a_used_output_and_bad_steps(work: Path) -> None:
    (work / "clean").mkdir()
    (work / "clean" / "mine.txt").write_text("user file", encoding="utf-8")
    with pytest.raises(SpecError, match="not an empty folder"):
        run_pipeline(work / "pipe.yaml")
    assert (work / "clean" / "mine.txt").read_text() == "user file"
    (work / "bad.yaml").write_text(
        "input: {heats: heats.csv}\noutput: o\nsteps: [drop_dups]\n", encoding="utf-8"
    )
    with pytest.raises(SpecError, match="unknown step 'drop_dups'"):
        run_pipeline(work / "bad.yaml")
    (work / "bad2.yaml").write_text(
        "input: {heats: heats.csv}\noutput: o\nsteps: [{impute: {metod: mean}}]\n", encoding="utf-8"
    )
    with pytest.raises(SpecError, match="did you mean 'method'"):
        run_pipeline(work / "bad2.yaml")


def test_process_command_prints_the_funnel(work: Path) -> None:
    from pingce.cli import app

    res = CliRunner().invoke(app, ["steel", "process", str(work / "pipe.yaml")])
    assert res.exit_code == 0, res.output
    assert "funnel: 304 heats read, 300 written" in res.output
    assert "note: align_series: offgas_co_pct shifted back by 12 s" in res.output


def test_the_check_report_shows_the_funnel_of_a_processed_table(work: Path) -> None:
    from pingce.core.reporting import build_report_doc
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.store import open_store

    stats = run_pipeline(work / "pipe.yaml")
    clean = work / "clean"
    store = open_store(f"sqlite:///{work / 's.db'}")
    subject = f"heats:{clean / 'heats.csv'}?series={clean / 'series.csv'}"
    run_id = execute_run(store, RunRequest("steel/process-data", subject), show_progress=False)
    doc = build_report_doc(store, store.get_run(run_id))
    funnel = next(s for s in doc["sections"] if s["id"] == "funnel")
    assert [r[0] for r in funnel["table"]["rows"]] == [s["step"] for s in stats["funnel"]]
    assert [r[2] for r in funnel["table"]["rows"]] == [s["heats_out"] for s in stats["funnel"]]
    m = {t["id"]: t["metrics"] for t in doc["tasks"]}
    assert m["duplicates"]["steel_duplicate_rate"]["value"] == 0.0  # the pipeline removed them
    assert m["leakage"]["steel_leakage_rate"]["value"] == 0.0
    (work / "bad.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(SpecError, match="expected a 'funnel' list"):
        execute_run(
            store,
            RunRequest(
                "steel/process-data", f"heats:{clean / 'heats.csv'}?funnel={work / 'bad.json'}"
            ),
            show_progress=False,
        )
