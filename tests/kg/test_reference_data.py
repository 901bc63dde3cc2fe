"""The shipped steel material is self-consistent: gold spans, ontology, shapes, graph, CQs."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from pingce.kg.conformance import check_triple, grounding_key
from pingce.kg.gold import load_gold, load_gold_with_classes
from pingce.kg.graph_build import items_to_graph
from pingce.kg.ontology import (
    STEEL_CQ,
    STEEL_GOLD,
    STEEL_ONTOLOGY,
    STEEL_REFERENCE_KG,
    STEEL_SHAPES,
    VALUE_TYPE,
    load_ontology,
)
from pingce.kg.quality import answer, load_competency, load_graph, run_shacl


@pytest.fixture(scope="module")
def onto():  # type: ignore[no-untyped-def]
    return load_ontology()


def test_gold_size_languages_and_spans() -> None:
    items = load_gold()
    langs = Counter(i.lang for i in items)
    assert len(items) >= 50 and langs["en"] >= 25 and langs["zh"] >= 25
    for line in STEEL_GOLD.read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        for e in raw["entities"]:
            assert raw["text"][e["start"] : e["end"]] == e["text"], (raw["id"], e)
        spans = sorted((e["start"], e["end"]) for e in raw["entities"])
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), (
            f"{raw['id']}: overlapping entities"
        )
    assert sum(len(i.triples) for i in items) >= 200


def test_gold_covers_the_ontology(onto) -> None:  # type: ignore[no-untyped-def]
    items = load_gold()
    used = {t.predicate for i in items for t in i.triples}
    object_props = {n for n, p in onto.properties.items() if p.kind == "object"}
    assert object_props <= used, object_props - used
    types = {m.type for i in items for m in i.entities}
    tops = {onto.name(c) for c, sup in onto.classes.items() if not sup}
    assert types == tops | {VALUE_TYPE}


def test_every_gold_triple_conforms_and_is_grounded(onto) -> None:  # type: ignore[no-untyped-def]
    for item in load_gold():
        hay = grounding_key(item.text, None)
        for t in item.triples:
            c = check_triple(t, hay, onto)
            assert c.typed_conformant and c.types_checked, (item.id, t, c.reason)
            assert not c.subject_hallucinated and not c.object_hallucinated, (item.id, t)


def test_reference_graph_is_the_gold_graph_and_conforms(onto) -> None:  # type: ignore[no-untyped-def]
    items, classes = load_gold_with_classes()
    built = items_to_graph(items, onto, classes)
    shipped = Graph().parse(STEEL_REFERENCE_KG)
    assert isomorphic(built, shipped)
    outcome = run_shacl(shipped, load_graph(STEEL_SHAPES), load_graph(STEEL_ONTOLOGY))
    assert outcome.conforms and outcome.results == []


def test_competency_questions_hold_on_the_reference_graph() -> None:
    merged = Graph()
    for t in Graph().parse(STEEL_REFERENCE_KG):
        merged.add(t)
    for t in Graph().parse(STEEL_ONTOLOGY):
        merged.add(t)
    questions = load_competency(STEEL_CQ)
    assert len(questions) >= 8
    for cq in questions:
        a = answer(merged, cq)
        assert a["passed"], (cq.id, a)


def test_every_kg_indicator_is_documented() -> None:
    from pathlib import Path

    from pingce.kg.standard import KGStandard

    page = (Path(__file__).resolve().parents[2] / "docs" / "standards" / "kg.md").read_text(
        encoding="utf-8"
    )
    missing = [i.id for i in KGStandard().indicators() if f"`{i.id}`" not in page]
    assert not missing, missing
