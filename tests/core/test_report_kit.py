"""The typed report kit (pingce.core.report.kit): shapes, verdicts, rounding, summarize_tasks.

References: the report JSON Schema shipped with pingce (every record's `to_dict()` must validate
in a document), hand-computed means/verdicts, and the old hand-built dict shapes they replace.
"""

from __future__ import annotations

import math

import pytest

from pingce.core.metric import MetricDef
from pingce.core.report.kit import (
    BarsChart,
    BarSeries,
    BoxesChart,
    DimensionRow,
    HeatmapChart,
    IndicatorEntry,
    LinesChart,
    LineSeries,
    MetricRow,
    SampleRow,
    Section,
    Summary,
    Table,
    TaskRow,
    rnd,
    summarize_tasks,
    task_row,
    unit_score,
    verdict,
)
from pingce.core.report.render import validate_report
from pingce.core.spec import Indicator
from pingce.core.standard import task_row as old_task_row

ACC = MetricDef("acc", "准确率", "share of correct answers", unit="0-1")
ERR = MetricDef("err_rate", "错误率", "share of errors", direction="lower", unit="0-1")
F1 = MetricDef("f1", "F1", "undefined without pairs", statistic=lambda xs: float("nan"))


def test_verdict_by_direction_and_missing_values() -> None:
    assert verdict(0.8, 0.8, "higher") == "pass"
    assert verdict(0.79, 0.8, "higher") == "fail"
    assert verdict(0.1, 0.1, "lower") == "pass"
    assert verdict(0.11, 0.1, "lower") == "fail"
    assert verdict(None, 0.1, "lower") is None
    assert verdict(float("nan"), 0.1, "higher") is None
    assert verdict(0.5, None, "higher") is None
    assert verdict(0.5, float("nan"), "higher") is None
    with pytest.raises(ValueError):
        verdict(0.5, 0.1, "up")


def test_rnd_decimals_significant_and_non_finite() -> None:
    assert rnd(0.123456) == 0.1235
    assert rnd(1234.56789, 2) == 1234.57
    assert rnd(0.000123456, significant=True) == 0.0001235
    assert rnd(123456.0, significant=True) == 123500.0
    assert rnd(None) is None
    assert rnd(float("nan")) is None
    assert rnd(float("inf")) is None
    assert rnd(7) == 7 and isinstance(rnd(7), int)
    assert rnd("n/a") == "n/a"
    assert rnd(True) is True


def test_unit_score() -> None:
    assert unit_score(0.25, "lower") == 0.75
    assert unit_score(0.25, "higher") == 0.25
    assert unit_score(float("nan"), "higher") is None


def test_metric_row_matches_the_old_metricdef_shape() -> None:
    items = [1.0, 0.0, 1.0, 1.0]
    row = MetricRow.from_items(ACC, items, seed=7, n_resamples=200)
    # MetricDef.row delegates to the kit: the same seed gives the same dict.
    assert ACC.row(items, seed=7, n_resamples=200) == row.to_dict()
    d = row.to_dict()
    assert list(d) == ["value", "stderr", "ci_low", "ci_high", "n", "direction", "unit", "scale"]
    assert d["value"] == 0.75  # hand-computed mean
    assert d["n"] == 4 and d["direction"] == "higher" and d["unit"] == "0-1" and d["scale"] == 1.0
    fixed = MetricRow.fixed(ERR, float("inf"), 3).to_dict()
    assert fixed == {
        "value": None,
        "stderr": None,
        "ci_low": None,
        "ci_high": None,
        "n": 3,
        "direction": "lower",
        "unit": "0-1",
        "scale": 1.0,
    }


def test_task_row_defaults_overrides_and_old_function() -> None:
    spec = {"id": "t1", "type": "x.y", "title_zh": "任务"}
    rows = {"acc": MetricRow.from_items(ACC, [1.0, 1.0], seed=0, n_resamples=10)}
    d = TaskRow.of(spec, 2, "acc", rows, default_dimension="kg", language="multi").to_dict()
    assert d["title"] == "t1" and d["title_zh"] == "任务" and d["dimension"] == "kg"
    assert d["language"] == "multi" and d["metrics"]["acc"]["value"] == 1.0
    plain = {"acc": rows["acc"].to_dict()}
    assert old_task_row(spec, 2, "acc", plain) == task_row(spec, 2, "acc", plain)


def test_indicator_entries_from_metric_and_declared_indicator() -> None:
    row = MetricRow.from_items(ERR, [0.0, 0.0, 1.0, 0.0], seed=1, n_resamples=50)
    entry = IndicatorEntry.from_metric(ERR, row, "t1", threshold=0.3).to_dict()
    assert entry["value"] == 0.25 and entry["scope"] == "t1"
    assert entry["verdict"] == "pass"  # 0.25 <= 0.3, lower is better
    forced = IndicatorEntry.from_metric(ERR, row, "t1", threshold=0.3, verdict="fail").to_dict()
    assert forced["verdict"] == "fail"
    # MetricDef.indicator_row keeps its old contract: the verdict is what the caller passes.
    assert ERR.indicator_row(row.to_dict(), "t1", threshold=0.3)["verdict"] is None
    renamed = IndicatorEntry.from_metric(ACC, row, "t1", id="acc.t1", name="acc (t1)", unit="%")
    assert (renamed.id, renamed.name, renamed.unit) == ("acc.t1", "acc (t1)", "%")
    ind = Indicator(
        id="ttft",
        name="TTFT",
        name_zh="首字延迟",
        unit="ms",
        direction="lower",
        definition="time to first token",
        threshold=200.0,
    )
    declared = IndicatorEntry.from_indicator(ind, 250.0, "run", n=10).to_dict()
    assert declared["threshold"] == 200.0 and declared["verdict"] == "fail"
    assert declared["stderr"] is None and declared["n"] == 10
    assert IndicatorEntry.from_indicator(ind, None, "run").verdict is None


def test_sections_and_charts_validate_in_a_report_document() -> None:
    section = Section(
        "s1",
        "Breakdown",
        "分解",
        text="text",
        table=Table(["label", "value"], [["a", 0.5], ["b", None]]),
        charts=[
            BarsChart("bars", ["a", "b"], [BarSeries("v", [0.5, None])], unit="0-1"),
            BarsChart.single("one", ["a"], [1.0], "v"),
            LinesChart(
                "lines", [LineSeries("cdf", [1.0, 2.0], [0.5, 1.0])], x_label="ms", x_log=True
            ),
            HeatmapChart("grid", ["r"], ["c1", "c2"], [[0.1, 0.2]]),
            BoxesChart(
                "img",
                None,
                10,
                10,
                [{"x": 1, "y": 1, "w": 2, "h": 2, "label": "a"}],
                [{"x": 1, "y": 1, "w": 2, "h": 2, "label": "a", "score": None}],
            ),
        ],
    )
    d = section.to_dict()
    assert list(d) == ["id", "title", "title_zh", "text", "table", "charts"]
    assert "unit" not in d["charts"][1] and "y_label" not in d["charts"][2]
    assert Section("s2", "t", "t").to_dict() == {"id": "s2", "title": "t", "title_zh": "t"}
    assert Section("s3", "t", "t", charts=[]).to_dict()["charts"] == []
    validate_report(_document(sections=[d, Section("s2", "t", "t").to_dict()]))


def test_summarize_tasks_rows_primary_indicators_and_overall() -> None:
    suite = {
        "tasks": [
            {"id": "a", "type": "std.acc"},
            {"id": "b", "type": "std.err", "dimension": "safety"},
            {"id": "c", "type": "std.acc"},  # no records: left out
            {"id": "d", "type": "std.f1"},  # only an undefined (NaN) metric: no task row
        ]
    }
    records = [
        _rec("a", 0, {"acc": 1.0, "err_rate": 0.0}),
        _rec("a", 1, {"acc": 0.0, "err_rate": 1.0}),
        _rec("b", 0, {"err_rate": 0.0}),
        _rec("b", 1, {"err_rate": 0.0}),
        _rec("b", 2, {"err_rate": 1.0}),
        _rec("b", 3, {"err_rate": 0.0}),
        _rec("d", 0, {"f1": 1.0}),
    ]
    catalogue = {"acc": ACC, "err_rate": ERR, "f1": F1}
    summary = summarize_tasks(
        suite,
        {"options": {"seed": 3}},
        records,
        metrics=catalogue,
        primary={"std.acc": "acc", "std.err": "err_rate"},
        n_resamples=100,
        task_fields=lambda spec, recs: {"type": "fixed"},
    )
    assert summary.seed == 3
    tasks = summary.task_rows()
    assert [t["id"] for t in tasks] == ["a", "b"]
    assert tasks[0]["primary_metric"] == "acc" and list(tasks[0]["metrics"]) == ["acc", "err_rate"]
    assert tasks[1]["dimension"] == "safety" and tasks[1]["type"] == "fixed"
    assert tasks[1]["metrics"]["err_rate"]["value"] == 0.25
    assert [t.task is None for t in summary.tasks] == [False, False, True]
    inds = summary.indicator_rows()
    assert [(i["id"], i["scope"]) for i in inds] == [
        ("acc", "a"),
        ("err_rate", "a"),
        ("err_rate", "b"),
    ]
    # overall: mean of 0.5 (acc of a) and 1 - 0.25 (error rate of b), hand-computed
    assert summary.mean_primary_score() == pytest.approx((0.5 + 0.75) / 2)
    # the same rows as MetricDef.row with the run's seed
    assert tasks[0]["metrics"]["acc"] == ACC.row([1.0, 0.0], seed=3, n_resamples=100)
    validate_report(_document(tasks=tasks, indicators=inds))


def test_summarize_tasks_seed_default_and_primary_fallback() -> None:
    suite = {"tasks": [{"id": "a", "type": "t"}]}
    records = [_rec("a", 0, {"err_rate": 1.0}), _rec("a", 1, {"err_rate": 0.0})]
    summary = summarize_tasks(
        suite,
        {"options": {}},
        records,
        metrics={"acc": ACC, "err_rate": ERR},
        primary="acc",
        n_resamples=20,
    )
    assert summary.seed == 1234  # pingce.core.options.DEFAULT_SEED
    assert summary.task_rows()[0]["primary_metric"] == "err_rate"  # acc has no row
    none = summarize_tasks(
        suite, {}, records, metrics={"acc": ACC}, primary="acc", indicator=lambda *a: None
    )
    assert none.task_rows() == [] and none.mean_primary_score() is None
    assert not math.isnan(summary.mean_primary_score() or 0.0)


def test_summary_dimension_and_sample_rows_make_a_valid_document() -> None:
    suite = {"tasks": [{"id": "a", "type": "t"}]}
    records = [_rec("a", 0, {"acc": 1.0}), _rec("a", 1, {"acc": 0.0})]
    tasks = summarize_tasks(suite, {}, records, metrics={"acc": ACC}, primary="acc", n_resamples=20)
    body = Summary(
        tasks=[t.task for t in tasks.tasks if t.task],
        indicators=tasks.indicator_rows(),
        overall_score=tasks.mean_primary_score(),
        overall_method="mean of the task scores",
        dimensions=[DimensionRow("general", "General", "通用", 0.5, 1.0, ["a"])],
        samples=[
            SampleRow("a", "a-1", prompt="1+1?", output="3", reference="2", scores={"acc": 0.0})
        ],
        notes=["a note"],
        sections=[Section("s", "S", "S")],
    ).to_dict()
    assert list(body) == [
        "tasks",
        "dimensions",
        "overall",
        "indicators",
        "samples",
        "notes",
        "sections",
        "extra",
    ]
    assert body["overall"] == {"score": 0.5, "method": "mean of the task scores"}
    assert body["samples"][0]["extracted"] is None and body["samples"][0]["data"] == {}
    assert Summary(overall_score=float("nan")).to_dict()["overall"]["score"] is None
    validate_report(_document(**body))


def _rec(task: str, position: int, scores: dict[str, float]) -> dict[str, object]:
    return {
        "task": task,
        "sample_id": f"{task}-{position}",
        "position": position,
        "scores": scores,
        "data": {},
    }


def _document(**parts: object) -> dict[str, object]:
    env = {"python": "3", "platform": "x", "packages": {}}
    run = {
        "id": "r",
        "standard": "std",
        "suite": "s",
        "suite_title": "",
        "subject": "x",
        "status": "completed",
        "created_at": "2026-01-01T00:00:00+00:00",
        "finished_at": None,
        "config_hash": "h",
        "config": {},
        "environment": env,
    }
    doc: dict[str, object] = {
        "schema_version": "1.0",
        "generated_at": "2026-01-01T00:00:00+00:00",
        "pingce_version": "0",
        "run": run,
        "standard": {"id": "std", "title": "", "title_zh": ""},
        "tasks": [],
        "dimensions": [],
        "overall": {"score": None, "method": ""},
        "indicators": [],
        "samples": [],
        "notes": [],
        "extra": {},
    }
    doc.update(parts)
    return doc
