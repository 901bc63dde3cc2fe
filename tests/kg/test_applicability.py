"""Indicators that do not apply are absent with a note, never a perfect or zero score
(issue 24): relation F1 on a triples-only gold, conformance and hallucination of a text
answered with zero triples. References: hand counts."""

from __future__ import annotations

import pytest

from pingce.kg.extraction import score_item
from pingce.kg.model import Item, Triple
from pingce.kg.ontology import load_ontology
from pingce.kg.summary import extraction_sections

ONTO = load_ontology()


def _rec(gold: Item, pred: Item | None, position: int = 0) -> dict:
    scores, data = score_item(gold, pred, ONTO)
    return {"scores": scores, "data": data, "position": position, "sample_id": gold.id}


def test_relation_f1_is_not_reported_for_a_triples_only_gold() -> None:
    gold = Item(id="g", text="The converter refines hot metal.", triples=[Triple("converter", "hasInput", "hot metal")])  # fmt: skip
    pred = Item(id="g", triples=[Triple("converter", "hasInput", "hot metal")])
    rec = _rec(gold, pred)
    assert "kg_relation_f1" not in rec["scores"]  # it read 0.0 before
    _, notes = extraction_sections("extraction", [rec])
    assert any("kg_relation_f1" in n and "no entity or relation spans" in n for n in notes)


def test_zero_triples_are_not_perfectly_conformant() -> None:
    gold = Item(id="g", text="The converter refines hot metal.", triples=[Triple("converter", "hasInput", "hot metal")])  # fmt: skip
    empty = _rec(gold, Item(id="g", triples=[]))
    for name in ("kg_ontology_conformance", "kg_relation_hallucination", "kg_subject_hallucination", "kg_object_hallucination"):  # fmt: skip
        assert name not in empty["scores"]  # not 1.0 / 0.0 as before
    full = _rec(gold, Item(id="g", triples=[Triple("converter", "madeOf", "copper")]), 1)
    assert full["scores"]["kg_relation_hallucination"] == pytest.approx(1.0)
    sections, notes = extraction_sections("extraction", [empty, full])
    assert any("zero triples" in n and "not applicable" in n for n in notes)
    conf = next(s for s in sections if s["id"] == "extraction-conformance")
    assert "averaged over 1 answered texts" in conf["text"]
