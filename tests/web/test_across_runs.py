"""Issue 17, item 2: across runs — trends, compare charts, leaderboards with CIs and the right
ranking direction, sortable tables and visible CSV/JSON downloads.

The references are the stored results themselves (each run's saved task scores and CIs) and
`pingce.core.compare.compare_runs` for the paired deltas; CSV files are read back with the
standard library's csv module.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from pingce.core.compare import compare_runs
from pingce.web.app import create_app
from pingce.web.comparison import LeaderColumn, _ranking_column
from pingce.web.downloads import csv_cell

BASE = "http://127.0.0.1:8765"


@pytest.fixture(scope="module")
def client(dash: Any) -> TestClient:
    return TestClient(create_app(dash.store, create_indexes=False), base_url=BASE)


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_trend_lists_completed_runs_oldest_first_with_their_cis(dash: Any, client: TestClient) -> None:  # fmt: skip
    row_a = dash.store.get_run(dash.run_a)
    page = client.get("/trends", params={"suite": row_a.suite})
    assert page.status_code == 200
    assert page.text.count("<svg") >= 2  # the overall score and at least one task
    rows = read_csv(client.get("/trends", params={"suite": row_a.suite, "format": "csv"}).text)
    completed = [r for r in dash.store.list_runs(limit=100) if r.suite == row_a.suite and r.status == "completed"]  # fmt: skip
    assert [r["run"] for r in rows] == [r.id for r in sorted(completed, key=lambda r: (r.created_at, r.id))]  # fmt: skip
    # Reference: each run's saved results (primary metric value and CI of every task).
    for r in rows:
        saved = dash.store.get_run(r["run"]).results
        if not saved:  # a run stored without results (the fixture's copied runs): no values
            assert r["overall"] == "" and all(v == "" for k, v in r.items() if " " in k)
            continue
        for task in saved["tasks"]:
            metric = task["metrics"][task["primary_metric"]]
            key = f"{task['id']} {task['primary_metric']}"
            assert float(r[key]) == pytest.approx(metric["value"])
            if metric["ci_low"] is not None:
                assert float(r[f"{task['id']} ci_low"]) == pytest.approx(metric["ci_low"])


def test_trend_of_one_subject_and_empty_states(dash: Any, client: TestClient) -> None:
    row_a = dash.store.get_run(dash.run_a)
    one = client.get("/trends", params={"suite": row_a.suite, "subject": "no-such-subject"})
    assert one.status_code == 200 and "No completed runs" in one.text
    assert client.get("/trends").status_code == 400
    assert client.get("/trends", params={"suite": row_a.suite, "format": "xlsx"}).status_code == 400  # fmt: skip


def test_compare_draws_overlaid_radar_and_task_bars_and_exports_the_deltas(dash: Any, client: TestClient) -> None:  # fmt: skip
    a, b = dash.store.get_run(dash.run_a), dash.store.get_run(dash.run_b)
    page = client.get("/compare", params=[("run", a.id), ("run", b.id)]).text
    n_dims = len(a.results["dimensions"])
    if n_dims >= 3:
        assert 'class="chart radar-overlay"' in page
        assert page.count('class="radar-run"') == 2
    assert "Scores with confidence intervals" in page  # the per-task CI bars
    data = client.get("/compare", params=[("run", a.id), ("run", b.id), ("format", "json")])
    assert data.headers["content-disposition"].startswith("attachment")
    rows = json.loads(data.text)
    reference = compare_runs(dash.store, a, b)
    assert [(r["task"], r["metric"]) for r in rows] == [(d.task, d.metric) for d in reference]
    for r, d in zip(rows, reference, strict=True):
        assert r["delta"] == pytest.approx(d.delta) and r["p_value"] == pytest.approx(d.p_value)


def test_leaderboard_has_ci_chart_downloads_and_trend_links(dash: Any, client: TestClient) -> None:  # fmt: skip
    suite = dash.store.get_run(dash.run_a).suite
    page = client.get("/leaderboard", params={"suite": suite}).text
    assert 'id="leaderboard-chart"' in page and "/trends?suite=" in page
    assert 'class="leaderboard sortable"' in page
    rows = read_csv(client.get("/leaderboard", params={"suite": suite, "format": "csv"}).text)
    assert rows and all(r["subject"] for r in rows)
    ranks = [int(r["rank"]) for r in rows if r["rank"]]
    assert ranks == sorted(ranks)


def test_ranking_without_an_overall_score_uses_the_standards_preference() -> None:
    columns = [
        LeaderColumn("accuracy", "Accuracy", "perf_accuracy", "higher"),
        LeaderColumn("single-stream", "SingleStream", "perf_latency_p90_ms", "lower"),
        LeaderColumn("offline", "Offline", "perf_samples_per_s", "higher"),
    ]
    from pingce.core.registry import standards

    perf = standards.get("server-perf")
    preferred = getattr(perf, "leaderboard_metrics", ())
    assert preferred and "perf_accuracy" not in preferred[:1]
    assert _ranking_column(columns, "server-perf").metric == preferred[0]
    # A standard that declares nothing: the first task's primary metric, as before.
    assert _ranking_column(columns, None).metric == "perf_accuracy"


def test_csv_downloads_neutralise_formulas_from_untrusted_text(dash: Any, client: TestClient) -> None:  # fmt: skip
    evil = '=HYPERLINK("http://example.invalid","x")'
    dash.copy_run(dash.run_a, subject=evil, status="failed")
    text = client.get("/", params={"format": "csv", "q": "HYPERLINK"}).text
    cells = [r["subject"] for r in read_csv(text)]
    assert cells and all(c.startswith("'=") for c in cells)
    assert csv_cell("-1.5") == "-1.5" and csv_cell(-2) == -2 and csv_cell("@SUM(A1)") == "'@SUM(A1)"


def test_run_page_links_downloads_and_sortable_tables(dash: Any, client: TestClient) -> None:
    page = client.get(f"/runs/{dash.run_a}").text
    assert f"/runs/{dash.run_a}/export/json?download=1" in page
    assert 'id="trend-link"' in page and 'class="sortable"' in page
    assert 'class="definition muted"' in page  # definitions beside indicators
    got = client.get(f"/runs/{dash.run_a}/export/json?download=1")
    assert got.headers["content-disposition"].startswith("attachment")
    runs = client.get("/").text
    assert "?format=csv" in runs and 'class="runs sortable"' in runs
