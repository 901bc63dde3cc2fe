"""The server-perf report states the scenario settings it ran with, tells repeated indicators
apart by scenario, and leads with throughput/latency so rankings do not use accuracy.

References: the settings are the ScenarioConfig values the suite asked for (min duration
0.2 s, 64 queries); the achieved duration is checked against the loadgen's own minimum.
"""

from __future__ import annotations

import pytest

from pingce.core.report.render import render_markdown, validate_report
from pingce.core.reporting import build_report_doc
from pingce.core.run import RunRequest, execute_run
from pingce.core.spec import suite_from_dict
from pingce.core.store import open_store
from pingce.perf.cli import infer_suite

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def perf_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, str, dict]:
    folder = tmp_path_factory.mktemp("perf")
    store = open_store(f"sqlite:///{folder / 'perf.db'}")
    suite = infer_suite(["offline", "single-stream"], min_duration_s=0.2, min_query_count=64)
    req = RunRequest(
        suite=suite_from_dict(suite, "test", folder),
        subject="builtin:digits",
        standard="server-perf",
        options={"batch_size": 64},
    )
    run_id = execute_run(store, req, show_progress=False)
    return store, run_id, build_report_doc(store, store.get_run(run_id))


def test_settings_section_states_requested_and_achieved_values(perf_run) -> None:
    _, _, doc = perf_run
    validate_report(doc)
    sec = next(s for s in doc["sections"] if s["id"] == "settings")
    cols = sec["table"]["columns"]
    rows = {r[0]: dict(zip(cols, r, strict=True)) for r in sec["table"]["rows"]}
    assert set(rows) == {"offline", "single-stream"}
    for row in rows.values():
        assert row["min duration s"] == 0.2
        assert row["duration s"] >= 0.2  # the run lasted at least its minimum
        assert row["loop"] == "closed" and row["target QPS"] is None
        assert row["division"] == "closed"  # digits has labels: the accuracy gate applies
    ss = rows["single-stream"]
    assert ss["min queries"] == 64 and ss["queries"] >= 64
    assert ss["percentile"] == 0.9 and ss["arrival"] == "continuous"
    md = render_markdown(doc)
    assert "## Scenario settings" in md and "min duration s" in md


def test_indicators_name_their_scenario_and_tasks_lead_with_throughput(perf_run) -> None:
    store, _, doc = perf_run
    scopes = {i["scope"] for i in doc["indicators"] if i["id"] == "perf_samples_per_s"}
    assert scopes == {"offline", "single-stream"}
    md = render_markdown(doc)
    header = next(line for line in md.splitlines() if line.startswith("| Indicator |"))
    assert header.rstrip().endswith("| Scope |")
    assert any(line.endswith("| single-stream |") for line in md.splitlines())
    assert doc["tasks"][0]["primary_metric"] != "perf_accuracy"
    assert doc["tasks"][-1]["primary_metric"] == "perf_accuracy"
    # the dashboard ranks a standard without an overall score by its first task
    web = pytest.importorskip("pingce.web.comparison")
    board = web.leaderboard(store, doc["run"]["suite"])
    assert "perf_samples_per_s" in board.ranked_by and "accuracy" not in board.ranked_by


def test_custom_task_id_gets_the_scenario_in_its_scope() -> None:
    from pingce.perf.metrics import plain_row
    from pingce.perf.report_parts import scoped_indicator

    row = plain_row("perf_qps", 1.0, 3)
    assert scoped_indicator("fast", "perf_qps", row, None, scenario="server").scope == (
        "fast (server)"
    )
    assert scoped_indicator("server", "perf_qps", row, None, scenario="server").scope == "server"
