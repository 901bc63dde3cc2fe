"""Issue 17, item 1 (failure semantics): a failed sample is one whose score is on the failing
side of its standard's rule, not "some numeric score is 0".

A real store holds three non-llm runs: the kg demo's 13 hand-written extractions, a labeling
run of the shapes labeler on synthetic images (text lines left unlabelled, so some images miss
objects and others are perfect), and a data-quality run on a generated corpus. Each count is
checked against a hand-written predicate over the stored scores (the reference), against the
old zero rule (which flagged every sample, the bug), and against the failure marks in the
run's own report file, so the dashboard and the report agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from pingce.core.metric import MetricDef
from pingce.core.report import render_html
from pingce.core.reporting import build_report_doc
from pingce.core.sample_failure import FailRule, failed_sql, metric_rule, sample_failed
from pingce.core.store import RecordRow, Store, open_store, records_as_dicts
from pingce.web.app import create_app

BASE = "http://127.0.0.1:8765"


def old_zero_rule(scores: dict[str, Any]) -> bool:
    return any(isinstance(v, int | float) and v == 0 for v in scores.values())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict[str, str]]]:
    from pingce.data.cli import evaluate_dataset
    from pingce.data.generator import CorpusConfig, generate, write_corpus
    from pingce.kg.cli import evaluate_predictions
    from pingce.kg.ontology import DATA_DIR
    from pingce.labeling.cli import evaluate_labels
    from pingce.labeling.synthetic import SynthConfig, write_synthetic

    root = tmp_path_factory.mktemp("failures")
    store = open_store(f"sqlite:///{root / 'store.db'}")
    kg = evaluate_predictions(
        store, DATA_DIR / "steel-demo-predictions.jsonl", subset=True, show_progress=False
    )
    paths = write_synthetic(
        root / "images", SynthConfig(n_images=10, seed=7, text_lines=(0, 1), distractors=0)
    )
    labeling = evaluate_labels(
        store,
        "labeler:shapes",
        str(paths["detection"]),
        "detection",
        images=paths["images"],
        show_progress=False,
        threads=1,
    )
    corpus = root / "corpus.jsonl.gz"
    write_corpus(generate(CorpusConfig(docs=60, seed=7)), corpus)
    data = evaluate_dataset(store, str(corpus), show_progress=False)
    yield store, {"kg": kg, "labeling": labeling, "data": data}
    store.close()


def dashboard_failures(store: Store, run_id: str) -> list[str]:
    """Sample ids on the dashboard's "failures only" pages, walked to the end."""
    client = TestClient(create_app(store, create_indexes=False), base_url=BASE)
    found: list[str] = []
    query = f"/runs/{run_id}/samples?failures=1&limit=7"
    while True:
        page = client.get(query)
        assert page.status_code == 200
        rows = re.findall(r"<tr( class=\"failed\")? data-task=[^>]*>(.*?)</tr>", page.text, re.S)
        assert all(marked for marked, _ in rows)  # every row listed is marked red
        found += [re.findall(r"/samples/(\d+)", row)[0] for _, row in rows]
        after = re.search(r"after=(\d+)", page.text)
        if after is None:
            return found
        query = f"/runs/{run_id}/samples?failures=1&limit=7&after={after.group(1)}"


def stored(store: Store, run_id: str) -> list[dict[str, Any]]:
    return records_as_dicts(store.records(run_id))


def report_agrees(store: Store, run_id: str, dashboard: list[str]) -> tuple[int, int]:
    """Check that the report.html sample rows marked failed are exactly the dashboard's
    failures among the samples the report shows; (failed, shown) rows of the report."""
    doc = build_report_doc(store, store.get_run(run_id))
    marks = re.findall(r'data-fail="([01])"', render_html(doc))
    assert len(marks) == len(doc["samples"])
    by_id = {str(r.id): (r.task, r.sample_id) for r in store.records(run_id)}
    failed_keys = {by_id[i] for i in dashboard}
    for sample, mark in zip(doc["samples"], marks, strict=True):
        key = (sample["task"], sample["sample_id"])
        assert (mark == "1") == (key in failed_keys), key
    return marks.count("1"), len(marks)


def expected_ids(store: Store, run_id: str, predicate: Any) -> list[str]:
    with store.session() as s:
        rows = s.query(RecordRow).filter(RecordRow.run_id == run_id).order_by(RecordRow.id)
        return [str(r.id) for r in rows if predicate(r.scores or {})]


def test_kg_demo_has_no_failures(runs: tuple[Store, dict[str, str]]) -> None:
    store, ids = runs
    records = stored(store, ids["kg"])
    assert len(records) == 13
    assert all(old_zero_rule(r["scores"]) for r in records)  # a 0 hallucination rate "failed"

    # Reference: a text fails when every triple is hallucinated (rate 1) or none conforms to
    # the ontology (0); triple F1s are stored as counts for the micro average, not verdicts.
    def kg_failed(scores: dict[str, Any]) -> bool:
        rates = [v for k, v in scores.items() if k.endswith("_hallucination")]
        return any(v >= 1 for v in rates) or scores.get("kg_ontology_conformance") == 0

    assert expected_ids(store, ids["kg"], kg_failed) == []
    assert dashboard_failures(store, ids["kg"]) == []
    failed, shown = report_agrees(store, ids["kg"], [])
    assert failed == 0 and shown > 0


def test_labeling_failures_are_images_to_fix(runs: tuple[Store, dict[str, str]]) -> None:
    store, ids = runs
    records = stored(store, ids["labeling"])
    perfect = [r for r in records if r["scores"]["image_f1"] == 1]
    flawed = [r for r in records if r["scores"]["image_f1"] < 1]
    assert perfect and flawed  # the synthetic set holds both kinds
    assert all(old_zero_rule(r["scores"]) for r in perfect)  # F1 = 1 "failed" before

    # Reference: an image fails when it has a missed, spurious or wrongly classed object,
    # which for detection is exactly an image F1 below 1 (hand-checked on the stored counts).
    def image_failed(scores: dict[str, Any]) -> bool:
        return scores["missing"] + scores["extra"] + scores["mismatched"] > 0

    want = expected_ids(store, ids["labeling"], image_failed)
    assert want == expected_ids(store, ids["labeling"], lambda s: s["image_f1"] < 1)
    assert dashboard_failures(store, ids["labeling"]) == want
    assert report_agrees(store, ids["labeling"], want) == (len(want), len(records))


def test_data_failures_follow_each_measure_direction(runs: tuple[Store, dict[str, str]]) -> None:
    from pingce.data.quality.indicators import MEASURES

    store, ids = runs
    records = stored(store, ids["data"])
    assert all(old_zero_rule(r["scores"]) for r in records)  # "445/445" of the issue
    direction = {m.id: m.direction for m in MEASURES}

    # Reference: a document fails a "higher" measure at 0 (a failed check, nothing valid)
    # and a "lower" one at 1 (the document is truncated, holds PII, is toxic...).
    def doc_failed(scores: dict[str, Any]) -> bool:
        return any(
            (direction[k] == "higher" and v <= 0) or (direction[k] == "lower" and v >= 1)
            for k, v in scores.items()
            if k in direction
        )

    want = expected_ids(store, ids["data"], doc_failed)
    assert 0 < len(want) < len(records)
    assert dashboard_failures(store, ids["data"]) == want
    failed, shown = report_agrees(store, ids["data"], want)  # the report shows 50 of 60
    assert 0 < failed <= len(want) and shown > 0


def test_red_marks_on_a_sample_page(runs: tuple[Store, dict[str, str]]) -> None:
    store, ids = runs
    client = TestClient(create_app(store, create_indexes=False), base_url=BASE)
    for r in store.records(ids["labeling"]):
        page = client.get(f"/runs/{ids['labeling']}/samples/{r.id}").text
        assert ('class="failed-cell"' in page) == (r.scores["image_f1"] < 1), r.sample_id


def test_rules_from_metric_declarations() -> None:
    # Hand-checked against the module's stated defaults.
    def rule(**kw: Any) -> FailRule | None:
        return metric_rule(MetricDef(name="m", name_zh="m", definition="d", **kw))

    assert rule() == FailRule("m", "<=", 0.0)
    assert rule(direction="lower", binary=True) == FailRule("m", ">=", 1.0)
    assert rule(direction="lower") == FailRule("m", ">=", 1.0)
    assert rule(direction="lower", scale=0.0) is None  # unbounded: no worst value
    assert rule(statistic=sum) is None  # corpus ingredients are not scores
    assert rule(sample_pass=0.5) == FailRule("m", "<", 0.5)
    assert rule(direction="lower", sample_pass=0.1) == FailRule("m", ">", 0.1)
    rules = [FailRule("a", "<", 0.5), FailRule("b", ">", 0.0)]
    assert sample_failed({"a": 0.4}, rules) and sample_failed({"b": 2}, rules)
    for fine in ({"a": 0.5}, {"b": 0}, {"a": float("nan")}, {"a": True}, {"c": 0}, {"a": "0"}):
        assert not sample_failed(fine, rules), fine
    assert failed_sql("mysql", rules) is None


def test_sql_and_python_rules_agree(tmp_path: Path) -> None:
    """The database filter and the Python check decide the same samples (SQLite)."""
    import sqlite3

    rules = [FailRule("a", "<", 0.5), FailRule("b", ">=", 1.0), FailRule("c", "<=", 0.0)]
    sql, params = failed_sql("sqlite", rules) or ("", {})
    cases = [
        {"a": 0.4},
        {"a": 0.5},
        {"a": 1, "b": 1},
        {"b": 0.99},
        {"c": -0.0},
        {"c": 0},
        {"c": "0"},
        {"c": True},
        {"d": 0},
        {"a": [0.0]},
        {},
    ]
    con = sqlite3.connect(tmp_path / "t.db")
    con.execute("CREATE TABLE records (id INTEGER PRIMARY KEY, scores TEXT)")
    import json

    con.executemany(
        "INSERT INTO records (id, scores) VALUES (?, ?)",
        [(i, json.dumps(c)) for i, c in enumerate(cases)],
    )
    got = {i for (i,) in con.execute(f"SELECT id FROM records WHERE {sql}", params)}
    con.close()
    assert got == {i for i, c in enumerate(cases) if sample_failed(c, rules)}
    assert got == {0, 2, 4, 5}
