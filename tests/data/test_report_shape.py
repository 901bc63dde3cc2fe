"""The data-quality report's shape and values on a hand-written corpus (issue 18: the report is
built with the report kit; nothing in the document changes).

References, counted by hand: 5 lines, one of them broken JSON, so 4 documents and 1 input
problem (malformed rate 1/5); documents a and b have the same text, so one exact duplicate
among the 4 (rate 1/4) in one near-duplicate cluster of size 2 whose first document is a; 4
documents are fewer than the topic model's minimum, so topic entropy is listed as not
measured with a note.
"""

from __future__ import annotations

import json

import pytest

from pingce.core.report.render import validate_report
from pingce.core.reporting import build_report_doc
from pingce.core.store import open_store
from pingce.data.evaluate import evaluate_dataset
from pingce.data.quality.indicators import CHARACTERISTICS
from pingce.data.quality.topics import MIN_DOCS

TEXT = (
    "The quick brown fox jumps over the lazy dog near the river bank while the children "
    "watch from the old stone bridge and the farmer counts his sheep in the green field."
)
OTHER = (
    "Engineers measure the throughput of the new storage system every morning, and they write "
    "the results into a shared table so that the whole team can compare the numbers later."
)
THIRD = (
    "A library keeps thousands of books about history, science and art; readers borrow them "
    "for two weeks and return them to the front desk where the staff sorts the shelves again."
)


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("shape")
    path = folder / "c.jsonl"
    lines = [
        json.dumps({"id": "a", "text": TEXT}),
        json.dumps({"id": "b", "text": TEXT}),
        json.dumps({"id": "c", "text": OTHER}),
        json.dumps({"id": "d", "text": THIRD}),
        "{broken json",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = open_store(f"sqlite:///{folder / 's.db'}")
    run_id = evaluate_dataset(store, str(path), show_progress=False)
    return build_report_doc(store, store.get_run(run_id))


def test_report_document_shape(doc: dict) -> None:
    validate_report(doc)
    assert [s["id"] for s in doc["sections"]] == [
        "grade",
        "length-histogram",
        "language-shares",
        "heuristic-distribution",
        "duplicate-clusters",
        "input-problems",
    ]
    assert [t["id"] for t in doc["tasks"]] == [c.id for c in CHARACTERISTICS]
    assert {t["type"] for t in doc["tasks"]} == {"data.characteristic"}
    assert [d["id"] for d in doc["dimensions"]] == [c.id for c in CHARACTERISTICS]
    first = doc["indicators"][0]
    assert (first["id"], first["scope"], first["n"]) == ("data_quality_score", "run", 5)
    assert first["value"] == doc["overall"]["score"]


def test_values_match_the_hand_counts(doc: dict) -> None:
    ind = {i["id"]: i for i in doc["indicators"]}
    assert ind["data_malformed_rate"]["value"] == pytest.approx(1 / 5)
    assert ind["data_exact_dup_rate"]["value"] == pytest.approx(1 / 4)
    assert ind["data_exact_dup_rate"]["n"] == 4 and ind["data_exact_dup_rate"]["ci_low"] is None
    # per-record rates carry bootstrap CIs around the value
    mal = ind["data_malformed_rate"]
    assert mal["ci_low"] <= mal["value"] <= mal["ci_high"]
    # every measure is reported without a verdict; its name is the measure's, not its id
    assert all(i["verdict"] is None and i["threshold"] is None for i in doc["indicators"])
    assert ind["data_exact_dup_rate"]["name"] != "data_exact_dup_rate"
    clusters = next(s for s in doc["sections"] if s["id"] == "duplicate-clusters")
    assert clusters["table"]["rows"] == [["a", 2]]
    problems = next(s for s in doc["sections"] if s["id"] == "input-problems")
    assert len(problems["table"]["rows"]) == 1 and problems["table"]["rows"][0][1] == 5


def test_topic_entropy_is_listed_as_not_measured(doc: dict) -> None:
    assert MIN_DOCS > 4
    topic = [i for i in doc["indicators"] if i["id"] == "data_topic_entropy"]
    assert len(topic) == 1 and topic[0]["value"] is None and topic[0]["n"] == 4
    assert any("Topic distribution not measurable" in n for n in doc["notes"])
    assert doc["extra"]["topics"] is None and doc["extra"]["documents"] == 4
