"""Graph quality checks on a small graph with known, hand-placed problems (the reference is
the list of problems written into the graph), run through the shared pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from pingce.core.reporting import build_report_doc
from pingce.core.store import open_store
from pingce.kg.runs import check_graph

GRAPH = """
@prefix steel: <https://w3id.org/pingce/steel#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix ex: <http://example.org/> .
ex:p1 a steel:Sintering ; rdfs:label "sintering" ;
    steel:usesEquipment ex:e1 , ex:m1 ;            # ex:m1 is a Material: range violation on p1
    steel:hasInput ex:m1 ; steel:hasOutput ex:s1 ;
    steel:hasParameter ex:t1 , ex:t2 , ex:t3 .
ex:e1 a steel:SinteringMachine ; rdfs:label "sintering machine" .
ex:m1 a steel:IronOre ; rdfs:label "iron ore" .
ex:m2 a steel:IronOre ; rdfs:label "Iron  Ore" .    # duplicate of m1, and isolated
ex:s1 a steel:Sinter ; rdfs:label "sinter" ; owl:sameAs ex:s2 .
ex:s2 a steel:Sinter ; rdfs:label "sinter" .        # same entity by sameAs: not redundant
ex:t1 a steel:TemperatureParameter ; rdfs:label "peak temperature" ; steel:numericValue 1300.0 .          # no unit
ex:t2 a steel:TemperatureParameter ; rdfs:label "bed temperature" ; steel:numericValue 1250.0 ; steel:unit "MPa" .  # wrong unit
ex:t3 a steel:TemperatureParameter ; rdfs:label "exit temperature" ; steel:hasValue "100 °C" , "200 °C" .  # two values
ex:x a steel:Equipment , steel:Defect ; rdfs:label "furnace crack" .   # disjoint classes, isolated
ex:c a steel:Cause ; rdfs:label "isolated cause" .                    # isolated, incomplete
"""

CQ = """
questions:
  - id: inputs
    question: What does sintering take?
    sparql: "SELECT ?l WHERE { ?p a/rdfs:subClassOf* steel:Sintering ; steel:hasInput ?m . ?m rdfs:label ?l }"
    expected: [iron ore]
  - id: equipment
    match: exact
    sparql: "SELECT ?l WHERE { ?p steel:usesEquipment ?e . ?e rdfs:label ?l }"
    expected: [sintering machine]
"""


@pytest.mark.parametrize("owlrl_limit", [5000, 0])
def test_quality_counts(tmp_path: Path, owlrl_limit: int) -> None:
    (tmp_path / "g.ttl").write_text(GRAPH, encoding="utf-8")
    (tmp_path / "cq.yaml").write_text(CQ, encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    run_id = check_graph(
        store,
        tmp_path / "g.ttl",
        cq=tmp_path / "cq.yaml",
        owlrl_limit=owlrl_limit,
        show_progress=False,
    )
    doc = build_report_doc(store, store.get_run(run_id))
    m = {t["id"]: t["metrics"] for t in doc["tasks"]}
    nodes = 11  # p1 e1 m1 m2 s1 s2 t1 t2 t3 x c
    assert m["shacl"]["kg_shacl_conformance"]["n"] == nodes
    # violations on p1 (range), t1 (unit missing), t2 (unit not a temperature unit), t3 (two hasValue)
    assert m["shacl"]["kg_shacl_conformance"]["value"] == pytest.approx((nodes - 4) / nodes)
    # inconsistent: x (disjoint), t3 (functional hasValue), m1 (Material, and Equipment by usesEquipment's range)
    assert m["consistency"]["kg_consistency"]["value"] == pytest.approx((nodes - 3) / nodes)
    # redundant: m2 only (s2 is owl:sameAs s1)
    assert m["redundancy"]["kg_redundancy_rate"]["value"] == pytest.approx(1 / nodes)
    # isolated: m2, x, c
    assert m["connectivity"]["kg_isolated_rate"]["value"] == pytest.approx(3 / nodes)
    # 'equipment' must be exact but also returns 'iron ore'
    assert m["competency"]["kg_cq_pass_rate"]["value"] == pytest.approx(0.5)
    shapes = next(s for s in doc["sections"] if s["id"] == "shacl-shapes")
    counted = dict((row[0], row[1]) for row in shapes["table"]["rows"])
    # The unit rule is an sh:or now (dimensionless parameters may omit the unit; issue 24), so
    # its violation is reported by the node shape itself.
    assert counted["TemperatureUnitShape.unit"] == 1 and counted["ValuedParameterShape"] == 1
    assert (
        counted["UsesEquipmentShape.usesEquipment"] == 1 and counted["ParameterShape.hasValue"] == 1
    )
    cons = next(s for s in doc["sections"] if s["id"] == "consistency-issues")
    assert ("OWL-RL closure" in cons["text"]) == (owlrl_limit > 0)
    completeness = {
        row[0]: row[2]
        for row in next(s for s in doc["sections"] if s["id"] == "completeness-classes")["table"][
            "rows"
        ]
    }
    assert completeness["Cause"] == 0.0 and completeness["Process"] == 1.0


def test_graph_errors_are_one_line(tmp_path: Path) -> None:
    from pingce.core.errors import PingceError

    (tmp_path / "g.ttl").write_text("this is not turtle", encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with pytest.raises(PingceError, match="not valid turtle"):
        check_graph(store, tmp_path / "g.ttl", show_progress=False)
