"""The straight run-to-report route: `pingce run` summarizes a run once and validates its
report document once, whatever the number of formats written.

A small real standard (registered here under its own id) counts its `summarize` calls; the
report validator is wrapped to count its calls and still validates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from pingce.core import registry
from pingce.core.cli_kit import finish_run
from pingce.core.execute import Outcome, WorkUnit, run_units
from pingce.core.metric import MetricDef
from pingce.core.report import html, markdown, render, validation
from pingce.core.run import RunRequest, execute_run
from pingce.core.spec import Indicator, SubjectSpec, Suite, suite_from_dict
from pingce.core.standard import Plan, PlannedTask, RunContext
from pingce.core.store import open_store

SID = "route-count"
HIT = MetricDef("route_hit", "命中", "share of hits")


class Fixed:
    def fingerprint(self) -> dict[str, Any]:
        return {"fixed": 1}

    def settings(self) -> dict[str, Any]:
        return {}


class Counting:
    id = SID
    title = "Route check"
    title_zh = "路径检查"
    summaries = 0

    def indicators(self) -> Sequence[Indicator]:
        return [HIT.indicator()]

    def validate_suite(self, suite: Suite) -> None:
        return None

    def open_subject(self, subject: SubjectSpec, options: dict[str, Any]) -> Fixed:
        return Fixed()

    def plan(self, suite: Suite, subject: Fixed, options: dict[str, Any]) -> Plan:
        units = [WorkUnit(f"k{i}", f"s{i}", i, i) for i in range(4)]
        return Plan([PlannedTask("t", units, None)])

    def execute(self, ctx: RunContext) -> None:
        def process(units: list[WorkUnit]) -> list[Outcome]:
            return [Outcome({"route_hit": float(u.payload % 2)}, {}) for u in units]

        task = ctx.plan.tasks[0]
        run_units(ctx.store, ctx.run_id, task.task_id, task.units, process, chunk_size=2)

    def summarize(
        self, suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        from pingce.core.report.kit import summarize_tasks

        Counting.summaries += 1
        summary = summarize_tasks(suite, config, records, metrics={HIT.name: HIT}, primary=HIT.name)
        return {
            "tasks": summary.task_rows(),
            "dimensions": [],
            "overall": {"score": summary.mean_primary_score(), "method": "mean"},
            "indicators": summary.indicator_rows(),
            "samples": [],
            "notes": [],
            "sections": [],
            "extra": {},
        }


@pytest.fixture(scope="module", autouse=True)
def _registered() -> None:
    if not registry.standards.has_loaded(SID):
        registry.standards.register(SID, Counting())


def test_run_then_report_summarizes_once_and_validates_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    original = validation.validate_report

    def counted(doc: Any) -> None:
        calls.append(1)
        original(doc)

    for module in (render, markdown, html, validation):
        monkeypatch.setattr(module, "validate_report", counted)
    store = open_store(str(tmp_path / "s.db"))
    suite = suite_from_dict(
        {"standard": SID, "name": "route", "tasks": [{"id": "t", "type": "x"}]},
        source="test",
        base_dir=tmp_path,
    )
    Counting.summaries = 0
    run_id = execute_run(store, RunRequest(suite=suite, subject="fixed:1"), show_progress=False)
    doc = finish_run(store, run_id, tmp_path / "reports")
    assert Counting.summaries == 1  # the report reused the run's summary
    assert len(calls) == 1  # one validation for html, md and json together
    written = json.loads((tmp_path / "reports" / run_id / "report.json").read_text())
    assert written["tasks"][0]["metrics"]["route_hit"]["value"] == 0.5  # hand-computed: 2 of 4
    assert doc["integrity"]["status"] == "verified"
    # the stored results changed after the run: the report summarizes the records again
    from pingce.core.reporting import build_report_doc

    store.update_run(run_id, results={**store.get_run(run_id).results, "notes": ["changed"]})
    again = build_report_doc(store, store.get_run(run_id))
    assert Counting.summaries == 2
    assert again["integrity"]["status"] == "modified"
    assert "changed" not in again["notes"]  # recomputed from the records, not the stored notes
