"""WebNLG 2020 text-to-triples aggregation, hand-worked after the official evaluation script's
logic (WebNLG/WebNLG-Text-to-triples, Evaluation_script.py: calculateAllScores pads the shorter
list with empty triples, calculateSystemScore picks the alignment with the largest sum of the
pairs' mean F1 over the four schemes and reports the mean of the selected pairs' F1)."""

from __future__ import annotations

import pytest

from pingce.kg.extraction import MICRO_SCHEME_F1, SCHEME_F1, score_item
from pingce.kg.matching import keyed, pair_counts, scheme_prf, webnlg_pairs
from pingce.kg.model import Item, Triple
from pingce.kg.ontology import load_ontology

ONTO = load_ontology()
GOLD = [
    Triple("BOF steelmaking", "usesEquipment", "converter"),
    Triple("BOF steelmaking", "hasInput", "hot metal"),
]
PRED = [
    Triple("BOF steelmaking", "uses equipment", "Converter"),  # all three elements exact
    Triple("BOF steelmaking", "hasInput", "hot metal ladle"),  # object overlaps only
    Triple("slag", "hasOutput", "sinter"),  # aligned with the padding triple
]


def test_official_mean_of_pair_f1_hand_worked() -> None:
    """Pairs after padding gold to 3: (1) exact: F1 1 in every scheme; (2) subject and
    predicate correct, object partial: strict/exact COR 2 INC 1 -> P = R = 2/3, F1 2/3;
    partial (2 + 0.5)/3 -> 5/6; type COR 3 -> 1; (3) against the empty padding triple: three
    spurious elements, F1 0. Mean over the 3 pairs: strict 5/9, exact 5/9, partial 11/18,
    type 2/3. The micro figure of the same case is 2/3 for strict (element counts summed)."""
    pairs = webnlg_pairs(keyed(PRED, ONTO), keyed(GOLD, ONTO))
    assert len(pairs) == 3
    mean = {
        s: sum(p[s] for p in pairs) / len(pairs) for s in ("strict", "exact", "partial", "type")
    }
    assert mean["strict"] == pytest.approx(5 / 9)
    assert mean["exact"] == pytest.approx(5 / 9)
    assert mean["partial"] == pytest.approx((1 + 5 / 6 + 0) / 3)
    assert mean["type"] == pytest.approx(2 / 3)
    scores, _ = score_item(Item(id="t", text="", triples=GOLD), Item(id="t", triples=PRED), ONTO)
    assert SCHEME_F1["strict"]([scores["kg_webnlg_strict_f1"]]) == pytest.approx(5 / 9)
    assert MICRO_SCHEME_F1["strict"]([scores["kg_webnlg_micro_strict_f1"]]) == pytest.approx(2 / 3)


def test_official_mean_is_over_pairs_of_all_texts() -> None:
    """Two texts: one perfect pair, and one text answered with nothing (its gold triple is
    paired with an empty triple: F1 0). Official: mean(1, 0) = 0.5; micro pools the elements
    (3 correct of 3 predicted, 3 of 6 gold) -> 2/3."""
    a = score_item(Item(id="a", text="", triples=GOLD[:1]), Item(id="a", triples=PRED[:1]), ONTO)[0]
    b = score_item(Item(id="b", text="", triples=GOLD[1:]), Item(id="b", triples=[]), ONTO)[0]
    rows = [a["kg_webnlg_strict_f1"], b["kg_webnlg_strict_f1"]]
    assert SCHEME_F1["strict"](rows) == pytest.approx(0.5)
    micro = [a["kg_webnlg_micro_strict_f1"], b["kg_webnlg_micro_strict_f1"]]
    assert MICRO_SCHEME_F1["strict"](micro) == pytest.approx(2 / 3)


def test_alignment_maximises_the_mean_scheme_f1() -> None:
    """Listed in the 'wrong' order, the candidates are still paired with their references."""
    pairs = webnlg_pairs(keyed(list(reversed(PRED[:2])), ONTO), keyed(GOLD, ONTO))
    assert sorted(round(p["strict"], 6) for p in pairs) == [round(2 / 3, 6), 1.0]


def test_camel_case_predicates_match_partially() -> None:
    """The script splits camelCase before matching: hasInput vs hasOutput share 'has', so the
    predicate is a partial match (not a miss) in the partial and type schemes."""
    c = keyed([Triple("BOF steelmaking", "hasOutput", "hot metal")], ONTO)[0]
    r = keyed([Triple("BOF steelmaking", "hasInput", "hot metal")], ONTO)[0]
    counts = pair_counts(c, r)
    assert counts["partial"] == {"cor": 2, "inc": 0, "par": 1, "mis": 0, "spu": 0}
    assert counts["strict"] == {"cor": 2, "inc": 1, "par": 0, "mis": 0, "spu": 0}
    assert scheme_prf(counts["type"], "type")[2] == pytest.approx(1.0)


def test_no_pairs_anywhere_gives_no_official_row() -> None:
    """With no gold and no predicted triple in any text the official mean has no pairs: the
    row is left out (never NaN in a report); the micro figure stays 0."""
    from pingce.kg.summary import metric_rows

    scores, data = score_item(Item(id="a", text="x", triples=[]), Item(id="a", triples=[]), ONTO)
    rows = metric_rows([{"scores": scores, "data": data}])
    assert "kg_webnlg_strict_f1" not in rows and rows["kg_webnlg_micro_strict_f1"]["value"] == 0.0


def test_records_from_before_the_official_aggregation_are_not_misread() -> None:
    """A run stored before issue 24 holds five element counts under kg_webnlg_*; read as
    [sum of F1, pairs] they would give a wrong figure, so the official row is left out."""
    from pingce.kg.summary import metric_rows

    old = {"kg_webnlg_strict_f1": [5, 1, 0, 0, 3], "kg_triple_f1": [1, 3, 2]}
    assert "kg_webnlg_strict_f1" not in metric_rows([{"scores": old, "data": {}}])
