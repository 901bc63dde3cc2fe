"""Ontology conformance and Text2KGBench hallucination rates on a hand-computed case."""

from __future__ import annotations

import pytest

from pingce.kg.extraction import score_item
from pingce.kg.model import Item, Triple
from pingce.kg.ontology import load_ontology

ONTO = load_ontology()


def test_text2kgbench_rates_hand_computed() -> None:
    gold = Item(
        id="s",
        text="The converter refines hot metal.",
        triples=[Triple("converter", "hasInput", "hot metal")],
    )
    pred = Item(
        id="s",
        triples=[
            Triple(
                "converter", "hasInput", "hot metal", subject_type="BasicOxygenFurnace"
            ),  # domain is Process
            Triple(
                "converter", "madeOf", "copper"
            ),  # relation not in ontology; 'copper' not in text/labels
            Triple(
                # (Was "oxygen lance", an ontology class label since issue 24, so grounded.)
                "tapping robot",
                "usesEquipment",
                "converter",
            ),  # subject not in the text nor a class label; types unknown
        ],
    )
    scores, data = score_item(gold, pred, ONTO)
    # typed conformance: only the third triple conforms (its types are unknown) -> 1/3
    assert scores["kg_ontology_conformance"] == pytest.approx(1 / 3)
    assert scores["kg_relation_hallucination"] == pytest.approx(1 / 3)
    assert scores["kg_subject_hallucination"] == pytest.approx(1 / 3)
    assert scores["kg_object_hallucination"] == pytest.approx(1 / 3)
    reasons = sorted(nc["reason"].split(" ")[0] for nc in data["nonconforming"])
    assert reasons == ["relation", "subject"]


def test_value_objects_and_ontology_labels_count_as_grounded() -> None:
    gold = Item(id="s", text="转炉出钢温度一般为1650～1680℃。")
    pred = Item(
        id="s",
        triples=[
            Triple("出钢温度", "hasValue", "1650-1680 °C"),
            Triple("转炉", "hasParameter", "温度"),
        ],
    )
    scores, _ = score_item(gold, pred, ONTO)
    assert scores["kg_subject_hallucination"] == 0 and scores["kg_object_hallucination"] == 0
    assert scores["kg_ontology_conformance"] == 1.0
    bad = Item(id="s", triples=[Triple("出钢温度", "hasValue", "很高")])  # not a quantity
    assert score_item(gold, bad, ONTO)[0]["kg_ontology_conformance"] == 0.0


def test_unanswered_text_is_left_out_of_rates() -> None:
    gold = Item(id="s", text="x", triples=[Triple("a", "precedes", "b")])
    scores, data = score_item(gold, None, ONTO)
    assert scores["kg_triple_f1"] == [0, 0, 1] and "kg_ontology_conformance" not in scores
    assert data["answered"] is False
