"""Triple matching. References: hand-computed counts (nervaluate's COR/INC/PAR/MIS/SPU formulas
as used by the WebNLG 2020 text-to-triples script), written out below."""

from __future__ import annotations

import pytest

from pingce.kg.extraction import SCHEME_F1, micro_f1, score_item
from pingce.kg.matching import element_counts, exact_counts, keyed, scheme_prf
from pingce.kg.model import Item, Triple
from pingce.kg.ontology import load_ontology

ONTO = load_ontology()
GOLD = [
    Triple("BOF steelmaking", "usesEquipment", "converter"),
    Triple("BOF steelmaking", "hasInput", "hot metal"),
]


def test_webnlg_schemes_hand_computed() -> None:
    pred = [
        Triple("BOF steelmaking", "uses equipment", "Converter"),  # all three elements exact
        Triple("BOF steelmaking", "hasInput", "hot metal ladle"),  # object overlaps only
        Triple("slag", "hasOutput", "sinter"),  # nothing in common: 3 spurious elements
    ]
    counts = element_counts(keyed(pred, ONTO), keyed(GOLD, ONTO))
    assert counts["strict"] == {"cor": 5, "inc": 1, "par": 0, "mis": 0, "spu": 3}
    assert counts["partial"] == {"cor": 5, "inc": 0, "par": 1, "mis": 0, "spu": 3}
    assert counts["type"] == {"cor": 6, "inc": 0, "par": 0, "mis": 0, "spu": 3}
    # strict/exact: P = 5/9, R = 5/6 -> F1 = 2/3; partial: (5 + 0.5)/9, 5.5/6 -> 0.7333; type: 6/9, 6/6 -> 0.8
    assert scheme_prf(counts["strict"], "strict")[2] == pytest.approx(2 / 3)
    assert scheme_prf(counts["exact"], "exact")[2] == pytest.approx(2 / 3)
    assert scheme_prf(counts["partial"], "partial")[2] == pytest.approx(
        2 * (5.5 / 9) * (5.5 / 6) / (5.5 / 9 + 5.5 / 6)
    )
    assert scheme_prf(counts["type"], "type")[2] == pytest.approx(0.8)
    assert exact_counts(keyed(pred, ONTO), keyed(GOLD, ONTO)) == (1, 3, 2)


def test_swapped_subject_and_object() -> None:
    pred = [Triple("converter", "usesEquipment", "BOF steelmaking")]
    counts = element_counts(keyed(pred, ONTO), keyed(GOLD[:1], ONTO))
    assert counts["exact"]["cor"] == 3  # strings match, element types do not
    assert counts["strict"] == {"cor": 1, "inc": 2, "par": 0, "mis": 0, "spu": 0}
    assert counts["type"] == {"cor": 1, "inc": 2, "par": 0, "mis": 0, "spu": 0}


def test_missed_triples_and_empty_prediction() -> None:
    counts = element_counts([], keyed(GOLD, ONTO))
    assert counts["strict"]["mis"] == 6 and scheme_prf(counts["strict"], "strict") == (
        0.0,
        0.0,
        0.0,
    )


def test_normalisation_and_relation_labels_in_triple_f1() -> None:
    gold = Item(
        id="x",
        text="转炉出钢温度一般为1650～1680℃。",
        triples=[Triple("出钢温度", "hasValue", "1650～1680℃")],
    )
    pred = Item(
        id="x",
        triples=[
            Triple("出钢温度", "取值", "1650-1680 degC"),
            Triple("出钢温度", "has value", "1650 °C"),
        ],
    )
    scores, data = score_item(gold, pred, ONTO)
    assert scores["kg_triple_f1"] == [1, 2, 1]
    assert data["per_relation"] == {"hasValue": [1, 2, 1]}
    # micro F1 over two texts: (1 + 0) tp, (2 + 0) predicted, (1 + 1) gold -> P 0.5, R 0.5
    assert micro_f1([[1, 2, 1], [0, 0, 1]]) == pytest.approx(0.5)
    assert SCHEME_F1["strict"]([scores["kg_webnlg_strict_f1"]]) > 0
