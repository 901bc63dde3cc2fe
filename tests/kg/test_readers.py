"""The same predictions written as JSONL, RDF (TriG, N-Quads, JSON-LD, Turtle) and Neo4j CSV
score the same; the reference is the JSONL reading of the same triples."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, Dataset, Graph, Literal, Namespace, URIRef

from pingce.core.errors import DataError
from pingce.kg.extraction import attribute_pooled, prf, score_item
from pingce.kg.gold import load_gold
from pingce.kg.model import Item
from pingce.kg.ontology import DATA_DIR, load_ontology
from pingce.kg.readers import read_predictions

ONTO = load_ontology()
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # rdflib JSON-LD serializer
STEEL = Namespace("https://w3id.org/pingce/steel#")
EX = Namespace("http://example.org/kg/")
DEMO = DATA_DIR / "steel-demo-predictions.jsonl"


def totals(preds, gold=None) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    gold = gold or load_gold()
    items = dict(preds.items)
    for sid, ts in attribute_pooled(preds.pooled, gold, ONTO).items():
        items.setdefault(sid, Item(id=sid)).triples.extend(ts)
    rows = [score_item(g, items.get(g.id), ONTO)[0]["kg_triple_f1"] for g in gold if g.id in items]
    return prf(rows)


def node(text: str) -> URIRef:
    return EX[str(abs(hash(text)))]


def as_dataset(named: bool) -> Dataset:
    ds = Dataset()
    for item in read_predictions(DEMO).items.values():
        g = ds.graph(URIRef(f"urn:pingce:sentence:{item.id}")) if named else ds.default_graph
        for t in item.triples:
            s = node(t.subject)
            g.add((s, RDFS.label, Literal(t.subject)))
            g.add((s, RDF.type, STEEL[t.subject_type]))
            if t.predicate in ("hasValue",):
                g.add((s, STEEL.hasValue, Literal(t.object)))
                continue
            o = node(t.object)
            g.add((o, RDFS.label, Literal(t.object)))
            g.add((o, RDF.type, STEEL[t.object_type]))
            prop = ONTO.resolve_property(t.predicate)
            g.add((s, URIRef(prop.iri) if prop else EX[f"rel{abs(hash(t.predicate))}"], o))
    return ds


@pytest.fixture(scope="module")
def reference() -> tuple[float, float, float]:
    return totals(read_predictions(DEMO))


@pytest.mark.parametrize(
    ("suffix", "fmt"), [(".trig", "trig"), (".nq", "nquads"), (".jsonld", "json-ld")]
)
def test_named_graph_formats(tmp_path: Path, suffix: str, fmt: str, reference) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"pred{suffix}"
    as_dataset(named=True).serialize(str(path), format=fmt)
    preds = read_predictions(path)
    assert not preds.pooled and len(preds.items) == 13
    assert totals(preds) == pytest.approx(reference)


def test_plain_turtle_is_pooled_and_attributed(tmp_path: Path) -> None:
    ds = as_dataset(named=False)
    g = Graph()
    for t in ds.default_graph:
        g.add(t)
    g.serialize(str(tmp_path / "pred.ttl"), format="turtle")
    g.serialize(str(tmp_path / "pred.nt"), format="nt", encoding="utf-8")
    a, b = read_predictions(tmp_path / "pred.ttl"), read_predictions(tmp_path / "pred.nt")
    assert a.pooled and not a.items and totals(a) == totals(b)


def test_structured_values_become_has_value(tmp_path: Path) -> None:
    g = Graph()
    p = EX.p
    g.add((p, RDFS.label, Literal("tapping temperature")))
    g.add((p, STEEL.minValue, Literal(1640)))
    g.add((p, STEEL.maxValue, Literal(1680)))
    g.add((p, STEEL.unit, Literal("Cel")))
    g.serialize(str(tmp_path / "v.ttl"), format="turtle")
    gold = [next(x for x in load_gold() if x.id == "en-09")]
    preds = read_predictions(tmp_path / "v.ttl")
    assert [t.to_list() for t in preds.pooled] == [
        ["tapping temperature", "hasValue", "1640~1680 °C"]
    ]
    assert totals(preds, gold)[0] == 1.0


def write_neo4j(folder: Path, apoc: bool) -> None:
    names: dict[tuple[str, str], str] = {}
    rels = []
    for item in read_predictions(DEMO).items.values():
        for t in item.triples:
            for text, typ in ((t.subject, t.subject_type), (t.object, t.object_type)):
                names.setdefault((text, typ or ""), f"n{len(names)}")
            rels.append(
                (
                    names[(t.subject, t.subject_type or "")],
                    t.predicate,
                    names[(t.object, t.object_type or "")],
                    item.id,
                )
            )
    folder.mkdir()
    if apoc:
        with (folder / "export.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["_id", "_labels", "name", "_start", "_end", "_type", "sentence_id"])
            for (text, typ), nid in names.items():
                w.writerow([nid, f":{typ}", text, "", "", "", ""])
            for s, p, o, sid in rels:
                w.writerow(["", "", "", s, o, p, sid])
        return
    with (folder / "nodes.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id:ID", "name:string", ":LABEL"])
        for (text, typ), nid in names.items():
            w.writerow([nid, text, f"Entity;{typ}"])
    with (folder / "relationships.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([":START_ID", ":END_ID", ":TYPE", "sentence_id"])
        for s, p, o, sid in rels:
            w.writerow([s, o, p, sid])


@pytest.mark.parametrize("apoc", [False, True])
def test_neo4j_csv_matches_jsonl(tmp_path: Path, apoc: bool, reference) -> None:  # type: ignore[no-untyped-def]
    write_neo4j(tmp_path / "neo", apoc)
    preds = read_predictions(tmp_path / "neo")
    assert preds.format == "neo4j" and len(preds.items) == 13
    assert totals(preds) == pytest.approx(reference)


def test_one_triple_per_line_jsonl(tmp_path: Path, reference) -> None:  # type: ignore[no-untyped-def]
    lines = [
        json.dumps({"id": i.id, **t.to_dict()}, ensure_ascii=False)
        for i in read_predictions(DEMO).items.values()
        for t in i.triples
    ]
    (tmp_path / "p.jsonl").write_text("\n".join(lines), encoding="utf-8")
    assert totals(read_predictions(tmp_path / "p.jsonl")) == pytest.approx(reference)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.jsonl", '{"id": "a", "triples": [["x", "y"]]}\n', "bad.jsonl:1: triples[0]"),
        ("bad.jsonl", "{not json\n", "bad.jsonl:1: not JSON"),
        ("bad.ttl", "<a> <b> .\n", "not valid turtle"),
        ("bad.csv", "foo,bar\n1,2\n", "not a Neo4j import CSV"),
        ("bad.xyz", "x", "cannot tell the format"),
    ],
)
def test_bad_input_is_one_clear_error(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_predictions(tmp_path / name)
    assert message in err.value.one_line()
