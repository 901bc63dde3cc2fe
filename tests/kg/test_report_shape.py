"""The shape of a kg report's summary, pinned on hand-made records: which tasks, indicators,
sections and notes it has, and the numbers the report kit puts in them (hand counts: micro
P/R/F1 = tp / predicted, tp / gold, harmonic mean)."""

from __future__ import annotations

import pytest

from pingce.core.registry import load_plugins
from pingce.kg.extraction import score_item
from pingce.kg.model import Item, Triple
from pingce.kg.ontology import load_ontology
from pingce.kg.summary import summarize

ONTO = load_ontology()
SUITE = {"tasks": [{"id": "extraction", "type": "kg.extraction", "title": "T", "title_zh": "T"}]}


def _records() -> list[dict]:
    t1 = "The converter refines hot metal. Hot metal precedes the converter."
    gold = [
        Item(id="a", text=t1, lang="en", triples=[Triple("converter", "hasInput", "hot metal")]),
        Item(id="b", text="转炉炼钢。", lang="zh", triples=[Triple("转炉", "hasInput", "铁水")]),
    ]
    pred = [
        # a: one of two predicted triples is gold -> tp 1, predicted 2, gold 1
        Item(
            id="a",
            triples=[
                Triple("converter", "hasInput", "hot metal"),
                Triple("hot metal", "precedes", "converter"),
            ],
        ),
        # b: wrong object -> tp 0, predicted 1, gold 1
        Item(id="b", triples=[Triple("转炉", "hasInput", "废钢")]),
    ]
    recs = []
    for pos, (g, p) in enumerate(zip(gold, pred, strict=True)):
        scores, data = score_item(g, p, ONTO)
        recs.append(
            {
                "task": "extraction",
                "sample_id": g.id,
                "position": pos,
                "scores": scores,
                "data": data,
            }
        )
    return recs


def test_extraction_summary_shape_and_values() -> None:
    load_plugins()
    doc = summarize(SUITE, {"options": {"seed": 1}, "settings": {}}, _records())
    assert set(doc) == {
        "tasks",
        "dimensions",
        "overall",
        "indicators",
        "samples",
        "notes",
        "sections",
        "extra",
    }
    (task,) = doc["tasks"]
    assert (task["type"], task["dimension"], task["language"]) == ("kg.extraction", "kg", "multi")
    assert task["primary_metric"] == "kg_triple_f1" and task["n_samples"] == 2
    p, r = 1 / 3, 1 / 2  # tp 1 of 3 predicted, of 2 gold
    f1 = 2 * p * r / (p + r)
    m = task["metrics"]
    assert m["kg_triple_precision"]["value"] == pytest.approx(p)
    assert m["kg_triple_recall"]["value"] == pytest.approx(r)
    assert m["kg_triple_f1"]["value"] == pytest.approx(f1)
    assert m["kg_triple_f1"]["ci_low"] <= f1 <= m["kg_triple_f1"]["ci_high"]
    # one indicator per metric row, same values, scoped to the task, no verdict (no threshold)
    assert [i["id"] for i in doc["indicators"]] == list(m)
    for ind in doc["indicators"]:
        assert ind["scope"] == "extraction" and ind["verdict"] is None
        assert ind["value"] == m[ind["id"]]["value"]
    assert doc["overall"] == {"score": pytest.approx(f1), "method": "kg_triple_f1 of the one task"}
    ids = [s["id"] for s in doc["sections"]]
    assert ids[0] == "extraction-matching"
    assert {"extraction-relations", "extraction-languages", "extraction-conformance"} <= set(ids)
    matching = doc["sections"][0]
    assert matching["table"]["columns"] == ["level", "precision", "recall", "F1"]
    assert matching["table"]["rows"][0] == [
        "exact triples (normalised)",
        round(p, 4),
        round(r, 4),
        round(f1, 4),
    ]
    assert matching["charts"][0]["kind"] == "bars"
    assert matching["charts"][0]["series"][0]["values"][0] == round(f1, 4)
    languages = next(s for s in doc["sections"] if s["id"] == "extraction-languages")
    assert languages["table"]["rows"] == [["en", 1, 0.5, 1.0, 0.6667], ["zh", 1, 0.0, 0.0, 0.0]]
    # samples: worst text first
    assert [s["sample_id"] for s in doc["samples"]] == ["b", "a"]
    assert doc["samples"][0]["scores"] == {"triple_f1": 0.0}
