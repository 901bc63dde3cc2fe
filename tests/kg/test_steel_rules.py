"""Steel shapes, ontology and units after issue 24. References: pyshacl on hand-made graphs,
hand-read ontology labels, and hand-normalised strings."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pingce.kg import quality as q
from pingce.kg.graph_build import items_to_graph
from pingce.kg.model import Item, Triple
from pingce.kg.normalize import entity_key, normalize_text, parse_quantity
from pingce.kg.ontology import DATA_DIR, STEEL_NS, load_ontology

ONTO = load_ontology()
PREFIXES = """@prefix steel: <https://w3id.org/pingce/steel#> . @prefix kg: <https://w3id.org/pingce/steel/kg/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
"""


def _violations(ttl: str) -> dict[str, set[str]]:
    from rdflib import Graph

    g = Graph().parse(data=PREFIXES + ttl, format="turtle")
    out = q.run_shacl(g, q.load_graph(DATA_DIR / "steel-shapes.ttl"), q.load_graph(DATA_DIR / "steel.ttl"))  # fmt: skip
    found: dict[str, set[str]] = {}
    for r in out.results:
        if r["shape"] == "LabelledShape.label":  # the hand-made nodes carry no labels
            continue
        found.setdefault(r["focus"].rsplit("/", 1)[-1], set()).add(r["shape"])
    return found


def test_composition_caps_depend_on_the_unit() -> None:
    """120 ppm nitrogen is ordinary BOF practice (a violation before: every content was capped
    at 100 whatever its unit); 120 % is not, nor a range reaching 150 %."""
    found = _violations("""
kg:n a steel:CompositionParameter ; steel:numericValue "120.0"^^xsd:decimal ; steel:unit "[ppm]" .
kg:c a steel:CompositionParameter ; steel:numericValue "120.0"^^xsd:decimal ; steel:unit "%" .
kg:r a steel:CompositionParameter ; steel:minValue "1.0"^^xsd:decimal ; steel:maxValue "150.0"^^xsd:decimal ; steel:unit "%" .
kg:ok a steel:CompositionParameter ; steel:numericValue "0.045"^^xsd:decimal ; steel:unit "%" .
kg:big a steel:CompositionParameter ; steel:numericValue "2000000.0"^^xsd:decimal ; steel:unit "[ppm]" .
""")
    assert set(found) == {"c", "r", "big"}


def test_dimensionless_parameters_need_no_unit() -> None:
    found = _violations("""
kg:b a steel:Basicity ; rdfs:label "碱度" ; steel:numericValue "3.2"^^xsd:decimal .
kg:p a steel:Parameter ; steel:numericValue "3.2"^^xsd:decimal .
kg:o a steel:ConsumptionParameter ; steel:numericValue "55.0"^^xsd:decimal ; steel:unit "[Nm3]/t" .
kg:e a steel:EnergyParameter ; steel:numericValue "350.0"^^xsd:decimal ; steel:unit "kW.h/t" .
kg:f a steel:FlowParameter ; steel:numericValue "300.0"^^xsd:decimal ; steel:unit "t/h" .
kg:m a steel:MassParameter ; steel:numericValue "300.0"^^xsd:decimal ; steel:unit "MPa" .
""")
    assert set(found) == {"p", "m"}  # p: a unit is still required; m: a mass is not in MPa


def test_ontology_additions_resolve_by_label() -> None:
    for label, name in [("direct reduction", "DirectReduction"), ("DRI", "DirectReducedIron"), ("直接还原铁", "DirectReducedIron"),
                        ("coating line", "CoatingLine"), ("热镀锌", "HotDipGalvanizing"), ("oxygen lance", "OxygenLance"),
                        ("风口", "Tuyere"), ("converter steelmaking", "BOFSteelmaking"), ("碱度", "Basicity"),
                        ("吨钢消耗", "ConsumptionParameter"), ("flow rate", "FlowParameter"), ("mass", "MassParameter")]:  # fmt: skip
        assert ONTO.resolve_class(label) == STEEL_NS + name, label
    for text, unit in [("55 Nm3/t", "Nm³/t"), ("300 t/h", "t/h"), ("350 kWh/t", "kWh/t"), ("12 kg/t", "kg/t")]:  # fmt: skip
        assert parse_quantity(text).unit == unit  # type: ignore[union-attr]


def test_du_is_celsius_only_in_a_temperature_context() -> None:
    """度 is also an angle and a hardness degree: 30度 stayed °C before."""
    assert parse_quantity("30度").unit == "度"  # type: ignore[union-attr]
    assert parse_quantity("1650度", context="出钢温度").unit == "°C"  # type: ignore[union-attr]
    assert entity_key("1650度", context="出钢温度") == entity_key("1650℃")
    assert entity_key("30度", context="倾角") != entity_key("30℃")
    assert normalize_text("出钢温度为1650度,倾角30度") == "出钢温度为1650 °c,倾角30 度"
    g = items_to_graph([Item(id="a", triples=[Triple("转炉倾角", "hasValue", "30度"), Triple("出钢温度", "hasValue", "1650度")])], ONTO)  # fmt: skip
    units = {str(o) for o in g.objects(None, __import__("rdflib").URIRef(STEEL_NS + "unit"))}
    assert units == {"度", "Cel"}


def test_steel_competency_questions_are_opt_in_for_other_graphs(tmp_path: Path) -> None:
    """On a graph outside the steel ontology the steel questions are skipped and the CLI says
    why; on a steel graph they run and the report labels them steel-specific."""
    from pingce.cli import app
    from pingce.core.reporting import build_report_doc
    from pingce.core.store import open_store
    from pingce.kg.runs import check_graph

    other = tmp_path / "other.ttl"
    other.write_text("@prefix ex: <http://example.org/> .\nex:a ex:knows ex:b .\nex:b ex:knows ex:c .\n", encoding="utf-8")  # fmt: skip
    res = CliRunner().invoke(app, ["kg", "quality", str(other), "--no-report", "-q"])
    assert res.exit_code == 0, res.output
    assert "competency questions skipped" in res.output and "steel-specific" in res.output
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    rid = check_graph(store, other, show_progress=False)
    assert "competency" not in {
        t["id"] for t in build_report_doc(store, store.get_run(rid))["tasks"]
    }
    rid = check_graph(store, DATA_DIR / "steel-reference-kg.ttl", show_progress=False)
    doc = build_report_doc(store, store.get_run(rid))
    section = next(s for s in doc["sections"] if s["id"] == "competency-questions")
    assert "steel-specific" in section["title"]
    assert any("steel-specific" in n for n in doc["notes"])
