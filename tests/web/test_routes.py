"""Dashboard routes through Starlette's TestClient: pages, filters, keyset pagination, exports,
compare and leaderboard.

References: pagination is checked against Python's own sort of the rows the test inserted
(ties on created_at broken by id); the failures filter against a hand-written "some numeric
score is 0" predicate; compare deltas against `pingce.core.compare.compare_runs`; exports
against `build_report_doc` and the core renderers.
"""

from __future__ import annotations

import html
import importlib.util
import json
import math
import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from starlette.testclient import TestClient

from pingce.core.compare import compare_runs
from pingce.core.report.render import format_number
from pingce.core.reporting import build_report_doc
from pingce.core.store import Base, RecordRow, RunRow, Store, open_store
from pingce.web.app import create_app
from pingce.web.indexes import INDEXES

BASE = "http://127.0.0.1:8765"


@pytest.fixture(scope="module")
def client(dash: Any) -> TestClient:
    return TestClient(create_app(dash.store), base_url=BASE)


def links(page: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', page)
    return html.unescape(found.group(1)) if found else None


def run_ids(page: str) -> list[str]:
    return [html.unescape(v) for v in re.findall(r'name="run" value="([^"]+)"', page)]


def record_ids(page: str) -> list[int]:
    return [
        int(v) for v in re.findall(r'class="sample-link" href="/runs/[^/]+/samples/(\d+)', page)
    ]


# --------------------------------------------------------------------------- synthetic store

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STANDARDS = ("llm", "server-perf", "data-quality")
STATUSES = ("completed", "failed", "running")


def _run_fields(i: int) -> dict[str, Any]:
    # Every fifth pair of runs shares a timestamp, so the id must break ties.
    created = T0 + timedelta(hours=i - i % 2 * (i % 5 == 1))
    return {
        "id": f"r{i:04d}",
        "standard": STANDARDS[i % 3],
        "suite": f"suite-{i % 4}",
        "suite_title": f"Suite {i % 4}",
        "subject": f"hf:model-{i % 7}",
        "subject_fingerprint": {},
        "config": {"suite_spec": {"tasks": [{"id": "t0"}, {"id": "t1"}, {"id": "t2"}]}},
        "config_hash": "0" * 16,
        "environment": {},
        "status": STATUSES[i % 3],
        "results": {"overall": {"score": (i % 10) / 10, "method": "synthetic"}},
        "created_at": created,
        "updated_at": created,
    }


def _scores(j: int) -> dict[str, Any]:
    scores: dict[str, Any] = {"acc": 0 if j % 4 == 0 else 1, "bleu4": [0.0, 1.0, 2.0]}
    if j % 9 == 0:
        scores["f1"] = -0.0  # a zero, spelled oddly
    elif j % 11 == 0:
        scores["f1"] = math.nan  # not a number: never a failure
    else:
        scores["f1"] = 0.5
    return scores


def _load_pg_helper() -> Any:
    path = Path(__file__).resolve().parents[1] / "pg.py"
    spec = importlib.util.spec_from_file_location("pingce_tests_pg", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """PINGCE_TEST_PG_URL (CI), else a throwaway server from tests/pg.py, else skip."""
    url = os.environ.get("PINGCE_TEST_PG_URL")
    if url:
        yield url
        return
    pg = _load_pg_helper()
    try:
        server = pg.start_postgres()
    except pg.PgUnavailable as exc:
        pytest.skip(f"PostgreSQL dashboard tests skipped: {exc} (or set PINGCE_TEST_PG_URL)")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def synthetic(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """130 runs and 230 records of one run, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('synthetic') / 's.db'}"
    else:
        url = request.getfixturevalue("pg_url")
        engine = create_engine(url)
        Base.metadata.drop_all(engine)  # a fresh database for this module
        engine.dispose()
    store = open_store(url)
    with store.session() as s, s.begin():
        s.add_all(RunRow(**_run_fields(i)) for i in range(130))
    records = [
        {
            "task": f"t{j % 3}",
            "key": f"k{j:05d}",
            "sample_id": f"s{j // 3}",
            "position": j // 3,
            "scores": _scores(j),
            "data": {"prompt": f"p{j}", "output": f"o{j}", "reference": "r"},
        }
        for j in range(230)
    ]
    store.add_records("r0000", records)
    yield store
    store.close()


def expected_runs(store: Store, **where: Any) -> list[str]:
    with store.session() as s:
        rows = s.query(RunRow.id, RunRow.created_at, RunRow.standard, RunRow.status).all()
    keep = [r for r in rows if all(getattr(r, k) == v for k, v in where.items())]
    return [r.id for r in sorted(keep, key=lambda r: (r.created_at, r.id), reverse=True)]


def walk(client: TestClient, first: str, rel: str, ids: Any) -> list[Any]:
    seen, url, pages = [], first, 0
    while url:
        page = client.get(url)
        assert page.status_code == 200, page.text
        seen.extend(ids(page.text))
        url = links(page.text, rel)
        pages += 1
        assert pages < 100
    return seen


def test_runs_keyset_pagination_matches_sorted_rows(synthetic: Store) -> None:
    client = TestClient(create_app(synthetic), base_url=BASE)
    expected = expected_runs(synthetic)
    forward = walk(client, "/?limit=20", "next", run_ids)
    assert forward == expected  # every run once, newest first, ties broken by id
    last = client.get("/?limit=20&last=1").text
    assert run_ids(last) == expected[-20:]  # keyset: the last page holds the 20 oldest runs
    assert links(last, "next") is None
    backward = walk(client, "/?limit=20&last=1", "prev", lambda t: run_ids(t)[::-1])
    assert backward == expected[::-1]


def test_runs_filters_and_pagination_together(synthetic: Store) -> None:
    client = TestClient(create_app(synthetic), base_url=BASE)
    expected = expected_runs(synthetic, standard="llm", status="completed")
    assert expected
    got = walk(client, "/?standard=llm&status=completed&limit=7", "next", run_ids)
    assert got == expected
    page = client.get("/?standard=llm&status=completed&limit=7").text
    assert f'<span id="run-count">{len(expected)}</span>' in page

    by_suite = run_ids(client.get("/?suite=suite-2&limit=200").text)
    assert by_suite and all(int(r[1:]) % 4 == 2 for r in by_suite)
    by_subject = run_ids(client.get("/?subject=MODEL-3&limit=200").text)  # case-insensitive
    assert sorted(by_subject) == sorted(f"r{i:04d}" for i in range(130) if i % 7 == 3)
    by_text = run_ids(client.get("/?q=r012&limit=200").text)
    assert sorted(by_text) == [f"r{i:04d}" for i in range(120, 130)]
    day = (T0 + timedelta(hours=30)).date().isoformat()
    by_date = run_ids(client.get(f"/?date_from={day}&date_to={day}&limit=200").text)
    with synthetic.session() as s:
        stamps = {r.id: r.created_at for r in s.query(RunRow)}
    # SQLite returns naive UTC; PostgreSQL aware datetimes in the session's time zone.
    on_day = {
        rid
        for rid, t in stamps.items()
        if (t.astimezone(UTC) if t.tzinfo else t).date().isoformat() == day
    }
    assert set(by_date) == on_day and on_day
    assert run_ids(client.get("/?q=100%25&limit=200").text) == []  # LIKE wildcards are literal


@pytest.mark.parametrize(
    "query",
    ["/?status=finished", "/?date_from=yesterday", "/?limit=0", "/?limit=x", "/?after=!!"],
)
def test_bad_run_filters_are_400_pages(synthetic: Store, query: str) -> None:
    client = TestClient(create_app(synthetic), base_url=BASE)
    response = client.get(query)
    assert response.status_code == 400
    assert "Bad request" in response.text


def _is_failure(scores: dict[str, Any]) -> bool:
    return any(
        isinstance(v, int | float) and not isinstance(v, bool) and v == 0 for v in scores.values()
    )


def test_record_pages_failures_and_tasks(synthetic: Store) -> None:
    client = TestClient(create_app(synthetic), base_url=BASE)
    with synthetic.session() as s:
        rows = s.query(RecordRow).filter(RecordRow.run_id == "r0000").order_by(RecordRow.id).all()
    base = "/runs/r0000/samples"
    assert walk(client, f"{base}?limit=50", "next", record_ids) == [r.id for r in rows]
    failures = [r.id for r in rows if _is_failure(r.scores)]
    assert 0 < len(failures) < len(rows)
    assert walk(client, f"{base}?failures=1&limit=13", "next", record_ids) == failures
    t1 = [r.id for r in rows if r.task == "t1"]
    assert walk(client, f"{base}?task=t1&limit=40", "next", record_ids) == t1
    back = walk(client, f"{base}?task=t1&limit=40&last=1", "prev", lambda t: record_ids(t)[::-1])
    assert back == t1[::-1]
    assert client.get(f"{base}?task=nope").status_code == 400
    assert client.get(f"{base}?after=-3").status_code == 400


def test_dashboard_indexes_exist(synthetic: Store) -> None:
    from sqlalchemy import inspect

    inspector = inspect(synthetic.engine)
    names = {ix["name"] for table in ("runs", "records") for ix in inspector.get_indexes(table)}
    assert set(INDEXES) <= names


# --------------------------------------------------------------------------- real runs


def test_runs_list_shows_every_run(client: TestClient, dash: Any) -> None:
    page = client.get("/").text
    for run_id in (dash.run_a, dash.run_b, dash.data_run, dash.attack_run, dash.running_run):
        assert run_id in run_ids(page)
    assert 'value="data-quality"' in page  # the standard filter lists stored standards


def test_run_page_has_scores_charts_verdicts_environment(client: TestClient, dash: Any) -> None:
    row = dash.store.get_run(dash.run_a)
    doc = build_report_doc(dash.store, row)
    page = client.get(f"/runs/{dash.run_a}").text
    assert page.count('<svg class="chart') >= 2  # capability radar and task bars
    for task in doc["tasks"]:
        m = task["metrics"][task["primary_metric"]]
        assert task["id"] in page
        if m["ci_low"] is not None:
            shown = f"{format_number(m['value'])} [{format_number(m['ci_low'])}, {format_number(m['ci_high'])}]"
            assert html.escape(shown) in page
    assert "Indicators and conformance" in page
    assert row.environment["python"] in page  # environment fingerprint
    for fmt in ("json", "md", "html"):
        assert f'href="/runs/{dash.run_a}/export/{fmt}"' in page
    assert 'id="progress"' not in page  # completed: no live view


def test_standard_sections_become_views(client: TestClient, dash: Any) -> None:
    doc = build_report_doc(dash.store, dash.store.get_run(dash.data_run))
    assert doc["sections"]
    page = client.get(f"/runs/{dash.data_run}").text
    for section in doc["sections"]:
        assert f'data-section="{section["id"]}"' in page
        assert html.escape(section["title"]) in page
    charts = sum(len(s.get("charts", [])) for s in doc["sections"])
    radar_and_tasks = 2
    assert page.count('<svg class="chart') == charts + radar_and_tasks


def test_exports_are_rendered_from_the_store(client: TestClient, dash: Any) -> None:
    doc = build_report_doc(dash.store, dash.store.get_run(dash.run_a))
    exported = client.get(f"/runs/{dash.run_a}/export/json")
    assert exported.headers["content-type"].startswith("application/json")
    got = json.loads(exported.text)
    assert got["run"]["id"] == dash.run_a
    assert got["tasks"] == json.loads(json.dumps(doc["tasks"]))
    md = client.get(f"/runs/{dash.run_a}/export/md?download=1")
    assert md.headers["content-disposition"] == (f'attachment; filename="pingce-{dash.run_a}.md"')
    assert dash.run_a in md.text
    page = client.get(f"/runs/{dash.run_a}/export/html")
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'sha256-" in csp and "default-src 'none'" in csp
    assert client.get(f"/runs/{dash.run_a}/export/pdf").status_code == 404


def test_sample_browser_and_side_by_side(client: TestClient, dash: Any) -> None:
    recs_a = dash.store.records(dash.run_a)
    recs_b = {(r.task, r.sample_id): r for r in dash.store.records(dash.run_b)}
    page = client.get(f"/runs/{dash.run_a}/samples?vs={dash.run_b}&limit=200").text
    assert record_ids(page) == sorted(r.id for r in recs_a)
    assert f"Output in {dash.run_b}" in page
    first = next(r for r in recs_a if r.data.get("output"))
    other = recs_b[(first.task, first.sample_id)]
    detail = client.get(f"/runs/{dash.run_a}/samples/{first.id}?vs={dash.run_b}").text
    assert html.escape(first.data["output"]) in detail
    assert html.escape(other.data["output"]) in detail
    assert html.escape(first.data["reference"]) in detail
    # A record id of another run is not reachable under this run.
    foreign = dash.store.records(dash.run_b)[0].id
    assert client.get(f"/runs/{dash.run_a}/samples/{foreign}").status_code == 404


def test_compare_page_shows_core_deltas(client: TestClient, dash: Any) -> None:
    a, b = dash.store.get_run(dash.run_a), dash.store.get_run(dash.run_b)
    deltas = compare_runs(dash.store, a, b)
    assert deltas
    page = client.get(f"/compare?run={dash.run_a}&run={dash.run_b}").text
    rows = re.findall(r'<tr class="outcome-(\w+)">(.*?)</tr>', page, re.S)
    assert len(rows) == len(deltas)
    for d, (outcome, cells) in zip(deltas, rows, strict=True):
        assert f"<code>{d.task}</code>" in cells and d.metric in cells
        assert f'<td class="num">{html.escape(format_number(d.p_value))}</td>' in cells
        improved = d.delta > 0 if d.direction == "higher" else d.delta < 0
        expected = (
            "same" if not d.significant or d.delta == 0 else "better" if improved else "worse"
        )
        assert outcome == expected
    assert "Leaderboard · llm/quick" in page
    assert client.get(f"/compare?run={dash.run_a}").status_code == 400
    other_standard = client.get(f"/compare?run={dash.run_a}&run={dash.data_run}").text
    assert "belong to different standards" in other_standard


def test_leaderboard_ranks_latest_completed_run_per_subject(client: TestClient, dash: Any) -> None:
    page = client.get("/leaderboard?suite=llm/quick").text
    # run_b is the tiny model's latest completed run; the attack run has its own subject.
    ranked = re.findall(r'<a href="/runs/([^"]+)"><code>', page)
    assert dash.run_b in ranked and dash.run_a not in ranked
    assert dash.running_run not in ranked
    index = client.get("/leaderboard").text
    assert "llm/quick" in index and "data/pretrain" in index


def test_progress_endpoint_counts_records(client: TestClient, dash: Any) -> None:
    got = client.get(f"/api/runs/{dash.running_run}/progress").json()
    assert got["status"] == "running"
    assert got["records"] == dash.store.count_records(dash.running_run) == 3
    assert sum(got["tasks"].values()) == 3
    page = client.get(f"/runs/{dash.running_run}").text
    assert f'data-progress-url="/api/runs/{dash.running_run}/progress"' in page


def test_unknown_things_are_404(client: TestClient, dash: Any) -> None:
    assert client.get("/runs/no-such-run").status_code == 404
    assert client.get("/runs/no-such-run/export/json").status_code == 404
    assert client.get("/api/runs/no-such-run/progress").status_code == 404
    assert client.get("/nowhere").status_code == 404


def test_latest_redirects_to_the_canonical_run(client: TestClient, dash: Any) -> None:
    response = client.get("/runs/latest/samples?task=arithmetic", follow_redirects=False)
    assert response.status_code == 303
    latest = dash.store.get_run("latest").id
    assert response.headers["location"] == f"/runs/{latest}/samples?task=arithmetic"


def test_leaderboard_without_overall_uses_first_task_direction(tmp_path: Path) -> None:
    """Hand-computed: latency (lower is better) 30 < 50 < 80 ranks c, a, b; b's older,
    faster run is not its latest, so it does not count."""
    store = open_store(f"sqlite:///{tmp_path / 'lb.db'}")

    def results(latency: float) -> dict[str, Any]:
        metric = {"value": latency, "stderr": None, "ci_low": None, "ci_high": None, "n": 5}
        metric |= {"direction": "lower", "unit": "ms", "scale": 0}
        task = {"id": "latency", "title": "Latency", "primary_metric": "p99_ms"}
        return {"overall": {"score": None}, "tasks": [{**task, "metrics": {"p99_ms": metric}}]}

    for i, (subject, latency) in enumerate([("b", 10.0), ("a", 50.0), ("b", 80.0), ("c", 30.0)]):
        fields = _run_fields(i) | {"id": f"lb{i}", "subject": subject, "suite": "perf/x"}
        fields |= {"status": "completed", "results": results(latency)}
        with store.session() as s, s.begin():
            s.add(RunRow(**fields))
    page = TestClient(create_app(store), base_url=BASE).get("/leaderboard?suite=perf/x").text
    assert re.findall(r'<a href="/runs/([^"]+)"><code>', page) == ["lb3", "lb1", "lb2"]
    assert "ranked by Latency (p99_ms, lower is better)" in page
    store.close()
