"""Tamper-evident results (issue #14, item 5): a completed run stores a digest of its records
and summary; show, report, compare and the dashboard verify it and warn when records or
scores changed after completion.

The runs are real data-quality runs (`pingce data evaluate` on a generated corpus: no model
needed) through the shared run pipeline, on SQLite and on a real PostgreSQL server (tests/pg.py,
skipped with the reason when none can start). Tampering is done as an attacker would: SQL on
the store, behind pingce's back.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from pingce.core.integrity import canonical, compute_seal, summary_disagreement, verify_run
from pingce.core.report import render_html, render_json, render_markdown
from pingce.core.reporting import build_report_doc
from pingce.core.store import Base, Store, open_store
from pingce.web.app import create_app


def _load_pg_helper() -> Any:
    path = Path(__file__).resolve().parents[1] / "pg.py"
    spec = importlib.util.spec_from_file_location("pingce_tests_pg", path)
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name) or importlib.util.module_from_spec(spec)
    if spec.name not in sys.modules:
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    url = os.environ.get("PINGCE_TEST_PG_URL")
    if url:
        yield url
        return
    pg = _load_pg_helper()
    try:
        server = pg.start_postgres()
    except pg.PgUnavailable as exc:
        pytest.skip(f"PostgreSQL integrity tests skipped: {exc} (or set PINGCE_TEST_PG_URL)")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pingce.data.generator import CorpusConfig, generate, write_corpus

    path = tmp_path_factory.mktemp("corpus") / "corpus.jsonl.gz"
    write_corpus(generate(CorpusConfig(docs=40, seed=7)), path)
    return path


def data_run(store: Store, corpus: Path) -> str:
    from pingce.data.cli import evaluate_dataset

    return evaluate_dataset(store, str(corpus), show_progress=False)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("pg_url")
        engine = create_engine(url)
        try:
            Base.metadata.drop_all(engine)
        finally:
            engine.dispose()
    s = open_store(url)
    yield s
    s.close()


def _first_record(store: Store, run_id: str) -> tuple[int, str, dict[str, Any]]:
    with store.engine.connect() as conn:
        rid, task = conn.execute(
            text("SELECT id, task FROM records WHERE run_id = :r ORDER BY id LIMIT 1"),
            {"r": run_id},
        ).one()
    rec = next(r for r in store.records(run_id) if r.id == rid)
    return rid, task, dict(rec.scores)


def test_seal_is_order_independent_and_names_the_changed_task() -> None:
    """Hand-built cases: the digest depends on the records, not on the order rows arrive in;
    a changed record changes its own task's digest only."""
    recs = [
        ("b", "k2", "s2", 1, '{"x": 1.0}', '{"out": "\\u4e8c"}'),
        ("a", "k1", "s1", 0, '{"x": {"$float": "nan"}}', '{"out": "\\ud800"}'),
        ("a", "k0", "s0", 2, '{"x": 0.0}', '{"out": ""}'),
    ]
    summary = {"overall": {"score": 0.5}}

    def seal(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
        return compute_seal(sorted(rows, key=lambda r: (r[0], r[1])), summary)

    one = seal(recs)
    assert one == seal(list(reversed(recs)))
    assert one["records"] == 3 and set(one["tasks"]) == {"a", "b"}
    changed = seal([recs[0], recs[1], ("a", "k0", "s0", 2, '{"x": 1.0}', '{"out": ""}')])
    assert changed["tasks"]["b"] == one["tasks"]["b"] and changed["tasks"]["a"] != one["tasks"]["a"]
    assert changed["digest"] != one["digest"]
    # Moving text between the scores and data columns is a change too (length-prefixed parts).
    moved = seal([recs[0], recs[1], ("a", "k0", "s0", 2, '{"x": 0.0}{"out"', ': ""}')])
    assert moved["tasks"]["a"] != one["tasks"]["a"]
    assert compute_seal([], {"overall": {"score": 0.4}})["summary"] != one["summary"]
    assert canonical({"b": 1, "a": [1.5, None]}) == b'{"a":[1.5,null],"b":1}'
    # A freshly computed summary may hold numpy scalars: they read like the stored numbers.
    np = pytest.importorskip("numpy")
    assert canonical({"v": np.float64(0.25), "n": np.int64(3)}) == canonical({"v": 0.25, "n": 3})
    assert (
        summary_disagreement(
            {"overall": {"score": 0.5}}, {"overall": {"score": np.float64(0.5)}, "tasks": []}
        )
        is None
    )
    assert "0.9" in (
        summary_disagreement({"overall": {"score": 0.9}}, {"overall": {"score": 0.5}}) or ""
    )


def test_completed_run_verifies_and_tampering_is_named(store: Store, corpus: Path) -> None:
    run_id = data_run(store, corpus)
    row = store.get_run(run_id)
    assert row.status == "completed"
    found = verify_run(store, row)
    assert found.status == "verified" and found.digest and len(found.digest) == 64
    doc = build_report_doc(store, row)
    assert doc["integrity"]["status"] == "verified" and doc["integrity"]["warning"] is None
    json.loads(render_json(doc))  # the schema accepts the integrity entry

    # A record's scores rewritten behind pingce's back.
    rid, task, scores = _first_record(store, run_id)
    forged = {k: (1.0 if isinstance(v, int | float) else v) for k, v in scores.items()}
    forged["forged"] = 1.0
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE records SET scores = :s WHERE id = :i"),
            {"s": json.dumps(forged), "i": rid},
        )
    found = verify_run(store, store.get_run(run_id))
    assert found.status == "modified"
    assert f"records of task {task} changed" in found.detail
    doc = build_report_doc(store, store.get_run(run_id))
    assert doc["integrity"]["status"] == "modified"
    assert run_id in doc["integrity"]["warning"] and task in doc["integrity"]["warning"]
    assert json.loads(render_json(doc))["integrity"]["status"] == "modified"
    html = render_html(doc)
    assert 'id="integrity-warning"' in html and "Integrity warning" in html
    assert "Integrity warning" in render_markdown(doc)
    assert any("Integrity warning" in n for n in doc["notes"])


def test_forged_summary_is_detected(store: Store, corpus: Path) -> None:
    run_id = data_run(store, corpus)
    row = store.get_run(run_id)
    results = dict(row.results or {})
    results["overall"] = {**results.get("overall", {}), "score": 0.999}
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE runs SET results = :r WHERE id = :i"),
            {"r": json.dumps(results), "i": run_id},
        )
    row = store.get_run(run_id)
    found = verify_run(store, row)
    assert found.status == "modified" and "summary" in found.detail
    # The dashboard's runs list shows the forged 0.999, the run page the recomputed score:
    # both say the run was modified.
    client = TestClient(create_app(store), base_url="http://127.0.0.1:8765")
    runs = client.get("/")
    assert runs.status_code == 200
    assert 'id="integrity-warning"' in runs.text and run_id in runs.text and "0.999" in runs.text
    page = client.get(f"/runs/{run_id}")
    assert page.status_code == 200 and 'id="integrity-warning"' in page.text
    board = client.get("/leaderboard", params={"suite": row.suite})
    assert board.status_code == 200 and "integrity-warning" in board.text and "0.999" in board.text


def test_untouched_runs_show_no_warning_anywhere(tmp_path: Path, corpus: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'clean.db'}")
    a, b = data_run(store, corpus), data_run(store, corpus)
    client = TestClient(create_app(store), base_url="http://127.0.0.1:8765")
    suite = store.get_run(a).suite
    for path in ("/", f"/runs/{a}", f"/compare?run={a}&run={b}", f"/leaderboard?suite={suite}"):
        page = client.get(path)
        assert page.status_code == 200 and "integrity-warning" not in page.text, path
    assert "integrity-verified" in client.get(f"/runs/{a}").text


def _cli(pingce_cli: Any, tmp_path: Path, *args: str) -> Any:
    return pingce_cli(list(args), cwd=tmp_path)


def test_cli_show_report_compare_list_warn_after_tampering(
    tmp_path: Path, corpus: Path, pingce_cli: Any
) -> None:
    db = tmp_path / "cli.db"
    store = open_store(f"sqlite:///{db}")
    a, b = data_run(store, corpus), data_run(store, corpus)
    store.close()

    def commands() -> dict[str, Any]:
        return {
            "show": _cli(pingce_cli, tmp_path, "show", b, "--db", str(db)),
            "report": _cli(
                pingce_cli, tmp_path, "report", b, "--db", str(db), "--out", str(tmp_path / "r")
            ),
            "compare": _cli(pingce_cli, tmp_path, "compare", a, b, "--db", str(db)),
            "list": _cli(pingce_cli, tmp_path, "list", "runs", "--db", str(db)),
        }

    for name, proc in commands().items():
        assert proc.returncode == 0, (name, proc.stderr)
        assert "warning:" not in proc.stderr, (name, proc.stderr)
    report = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert report["integrity"]["status"] == "verified"

    with sqlite3.connect(db) as con:  # the attacker: plain sqlite3 on the store file
        con.execute(
            "UPDATE records SET data = json_set(data, '$.forged', 1) "
            "WHERE id = (SELECT min(id) FROM records WHERE run_id = ?)",
            (b,),
        )
    for name, proc in commands().items():
        assert proc.returncode == 0, (name, proc.stderr)
        warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
        assert len(warnings) == 1, (name, proc.stderr)
        assert b in warnings[0] and "modified after it completed" in warnings[0]
    listed = commands()["list"].stdout
    assert sum("(modified!)" in line for line in listed.splitlines()) == 1
    report = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert report["integrity"]["status"] == "modified"
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert 'id="integrity-warning"' in html


def test_store_without_digests_reads_as_unsigned(
    tmp_path: Path, corpus: Path, pingce_cli: Any
) -> None:
    """A store written before digests existed (no run_seals table) is no error: its completed
    runs are 'unsigned', also when opened read-only; opening it for writing adds the table."""
    db = tmp_path / "old.db"
    store = open_store(f"sqlite:///{db}")
    run_id = data_run(store, corpus)
    store.close()
    with sqlite3.connect(db) as con:
        con.execute("DROP TABLE run_seals")
    ro = open_store(f"sqlite:///{db}", create=False)
    found = verify_run(ro, ro.get_run(run_id))
    assert found.status == "unsigned" and found.digest is None
    ro.close()
    proc = _cli(
        pingce_cli, tmp_path, "report", run_id, "--db", str(db), "--out", str(tmp_path / "r")
    )
    assert proc.returncode == 0 and "warning:" not in proc.stderr, proc.stderr
    report = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert report["integrity"]["status"] == "unsigned"
    rw = open_store(f"sqlite:///{db}")
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM run_seals").fetchone() == (0,)
    assert verify_run(rw, rw.get_run(run_id)).status == "unsigned"
