"""Entity F1 on spans equals seqeval's (the reference) on character-level IOB2 tags."""

from __future__ import annotations

import random

import pytest
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

from pingce.kg.extraction import prf, score_item
from pingce.kg.gold import load_gold
from pingce.kg.model import Item, Mention
from pingce.kg.ontology import load_ontology
from pingce.kg.spans import entity_counts, merge

ONTO = load_ontology()


def bio(text: str, mentions: list[Mention]) -> list[str]:
    tags = ["O"] * len(text)
    for m in mentions:
        assert m.start is not None and m.end is not None
        tags[m.start] = f"B-{m.type}"
        for i in range(m.start + 1, m.end):
            tags[i] = f"I-{m.type}"
    return tags


def perturb(item: Item, rng: random.Random) -> list[Mention]:
    """Drop, retype or shorten gold entities (shortening never creates overlaps)."""
    types = ["Process", "Equipment", "Material", "Defect", "Value"]
    out = []
    for m in item.entities:
        r = rng.random()
        if r < 0.15:
            continue
        if r < 0.3:
            out.append(
                Mention(m.text, rng.choice([t for t in types if t != m.type]), m.start, m.end)
            )
        elif r < 0.45 and m.end - m.start > 1:  # type: ignore[operator]
            out.append(Mention(m.text[:-1], m.type, m.start, m.end - 1))  # type: ignore[operator]
        else:
            out.append(m)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_entity_f1_matches_seqeval(seed: int) -> None:
    rng = random.Random(seed)
    gold = load_gold()
    y_true, y_pred, totals = [], [], {}
    for item in gold:
        pred = perturb(item, rng)
        y_true.append(bio(item.text, item.entities))
        y_pred.append(bio(item.text, pred))
        merge(totals, entity_counts(pred, item.entities))
    p, r, f = prf(list(totals.values()))
    assert p == pytest.approx(precision_score(y_true, y_pred))
    assert r == pytest.approx(recall_score(y_true, y_pred))
    assert f == pytest.approx(f1_score(y_true, y_pred))
    report = classification_report(y_true, y_pred, output_dict=True)
    for etype, (tp, n_pred, n_gold) in totals.items():
        if n_gold:
            assert report[etype]["support"] == n_gold
            assert report[etype]["f1-score"] == pytest.approx(prf([[tp, n_pred, n_gold]])[2])


def test_predicted_mentions_are_located_in_the_text() -> None:
    item = next(
        g for g in load_gold() if g.id == "en-02"
    )  # "... peak temperature of 1250–1350 °C."
    pred = Item(id="en-02", entities=[Mention("sintering", "Process"), Mention("peak temperature", "Parameter"),
                                      Mention("1250-1350 degC", "Value")])  # fmt: skip
    scores, _ = score_item(item, pred, ONTO)
    assert scores["kg_entity_f1"] == [3, 3, 3]
