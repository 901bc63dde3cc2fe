"""An OWL/RDFS ontology as the evaluator needs it: classes, properties, domains and ranges.

Read with rdflib from any RDF syntax. Relation names in predictions resolve to ontology
properties by IRI, prefixed name, local name or any rdfs:label (after normalisation), so
``steel:hasDefect``, ``hasDefect``, ``has defect`` and ``产生缺陷`` are one relation.
Domains and ranges may be a class or an ``owl:unionOf`` list of classes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from pingce.core.errors import DataError
from pingce.kg.normalize import relation_text_key

DATA_DIR = Path(str(files("pingce.kg") / "data"))
STEEL_ONTOLOGY = DATA_DIR / "steel.ttl"
STEEL_SHAPES = DATA_DIR / "steel-shapes.ttl"
STEEL_COMPLETENESS = DATA_DIR / "steel-completeness.ttl"
STEEL_GOLD = DATA_DIR / "steel-gold.jsonl"
STEEL_CQ = DATA_DIR / "steel-competency.yaml"
STEEL_REFERENCE_KG = DATA_DIR / "steel-reference-kg.ttl"
STEEL_NS = "https://w3id.org/pingce/steel#"

# The entity type of a literal value mention (a number with a unit) in gold and predictions.
VALUE_TYPE = "Value"

RDF_FORMATS = {
    ".ttl": "turtle",
    ".nt": "nt",
    ".n3": "n3",
    ".rdf": "xml",
    ".owl": "xml",
    ".xml": "xml",
    ".jsonld": "json-ld",
    ".json-ld": "json-ld",
    ".trig": "trig",
    ".nq": "nquads",
}


def rdf_format(path: Path) -> str | None:
    return RDF_FORMATS.get(path.suffix.lower())


QUAD_FORMATS = {"trig", "nquads", "json-ld"}


def parse_rdf(path: Path, what: str) -> Any:
    """The file as an rdflib Graph, or a Dataset (named graphs kept) for TriG, N-Quads and
    JSON-LD; a one-line DataError on bad input."""
    from rdflib import Dataset, Graph

    fmt = rdf_format(path)
    if fmt is None:
        raise DataError(
            f"{what} {path}: unknown RDF file type {path.suffix!r}",
            hint=f"use one of {', '.join(sorted(RDF_FORMATS))}",
        )
    if not path.is_file():
        raise DataError(f"{what} {path} does not exist")
    g: Any = Dataset(default_union=True) if fmt in QUAD_FORMATS else Graph()
    try:
        with warnings.catch_warnings():
            # rdflib's Dataset parser calls its own deprecated default_context
            warnings.simplefilter("ignore", DeprecationWarning)
            g.parse(str(path), format=fmt)
    except Exception as exc:  # rdflib raises many parser-specific types
        first = " ".join(str(exc).split())[:200]
        raise DataError(f"{what} {path}: not valid {fmt}: {first}") from None
    return g


def graphs_of(g: Any) -> list[tuple[str | None, Any]]:
    """(graph name or None for the default graph, graph) pairs of a parsed file."""
    from rdflib import Dataset

    if not isinstance(g, Dataset):
        return [(None, g)]
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for sub in g.graphs():
            if len(sub) == 0:
                continue
            ident = str(sub.identifier)
            out.append((None if ident.startswith("urn:x-rdflib:default") else ident, sub))
    return out


def all_triples(g: Any) -> Any:
    """One plain Graph with every triple of a parsed file (named graphs merged)."""
    from rdflib import Graph

    merged = Graph()
    for prefix, ns in g.namespaces():
        merged.bind(prefix, ns, override=False)
    for _, sub in graphs_of(g):
        for t in sub:
            merged.add(t)
    return merged


@dataclass(frozen=True)
class PropertyInfo:
    iri: str
    name: str  # local name
    kind: str  # "object" or "datatype"
    domain: frozenset[str] = frozenset()  # class IRIs (union); empty = unconstrained
    range: frozenset[str] = frozenset()  # class IRIs for object properties
    functional: bool = False


@dataclass
class Ontology:
    """Classes, their superclasses, labels, disjointness and properties of one ontology."""

    source: str
    classes: dict[str, set[str]] = field(default_factory=dict)  # class -> direct superclasses
    labels: dict[str, list[str]] = field(default_factory=dict)  # IRI -> labels
    properties: dict[str, PropertyInfo] = field(default_factory=dict)  # local name -> info
    disjoint: set[frozenset[str]] = field(default_factory=set)
    _property_keys: dict[str, str] = field(default_factory=dict)
    _class_keys: dict[str, str] = field(default_factory=dict)

    # ---- lookups ------------------------------------------------------------------------
    def resolve_property(self, name: str) -> PropertyInfo | None:
        """The property `name` denotes (IRI, prefixed name, local name or label), or None."""
        key = self._property_keys.get(name)
        if key is None:
            key = self._property_keys.get(relation_text_key(_local(name)))
        if key is None:
            key = self._property_keys.get(relation_text_key(name))
        return self.properties.get(key) if key else None

    def resolve_class(self, name: str | None) -> str | None:
        """The class IRI a type name denotes (IRI, local name or label), or None."""
        if not name:
            return None
        if name in self.classes:
            return name
        return self._class_keys.get(relation_text_key(_local(name))) or self._class_keys.get(
            relation_text_key(name)
        )

    def ancestors(self, cls: str) -> frozenset[str]:
        """`cls` and every superclass of it (transitively)."""
        return _ancestors(self, cls)

    def is_a(self, cls: str, allowed: frozenset[str]) -> bool:
        return not allowed or bool(self.ancestors(cls) & allowed)

    def are_disjoint(self, a: str, b: str) -> bool:
        """Whether classes `a` and `b` (or superclasses of them) are declared disjoint."""
        ua, ub = self.ancestors(a), self.ancestors(b)
        for pair in self.disjoint:
            x, y = tuple(pair)
            if (x in ua and y in ub) or (y in ua and x in ub):
                return True
        return False

    def concept_labels(self) -> list[str]:
        """Labels of every class (Text2KGBench counts these as grounded for hallucination)."""
        return [lab for c in self.classes for lab in self.labels.get(c, [])]

    def name(self, iri: str) -> str:
        return _local(iri)

    def __hash__(self) -> int:
        return hash(self.source)


def _ancestors(onto: Ontology, cls: str) -> frozenset[str]:
    cache = onto.__dict__.setdefault("_ancestor_cache", {})
    if cls in cache:
        return cache[cls]
    seen: set[str] = set()
    todo = [cls]
    while todo:
        c = todo.pop()
        if c in seen:
            continue
        seen.add(c)
        todo.extend(onto.classes.get(c, ()))
    result = frozenset(seen)
    cache[cls] = result
    return result


def _local(iri: str) -> str:
    for sep in ("#", "/", ":"):
        if sep in iri:
            iri = iri.rsplit(sep, 1)[1]
    return iri


def load_ontology(path: Path | str | None = None) -> Ontology:
    """Read an ontology (default: pingce's steel-production ontology)."""
    from rdflib import OWL, RDF, RDFS, BNode, URIRef
    from rdflib.collection import Collection

    p = Path(path) if path else STEEL_ONTOLOGY
    g = all_triples(parse_rdf(p, "ontology"))
    onto = Ontology(source=str(p))

    def class_set(node: object) -> frozenset[str]:
        if isinstance(node, URIRef):
            return frozenset([str(node)])
        if isinstance(node, BNode):
            for lst in g.objects(node, OWL.unionOf):
                return frozenset(str(c) for c in Collection(g, lst) if isinstance(c, URIRef))
        return frozenset()

    for kind in (OWL.Class, RDFS.Class):
        for c in g.subjects(RDF.type, kind):
            if isinstance(c, URIRef):
                onto.classes.setdefault(str(c), set())
    for c, sup in g.subject_objects(RDFS.subClassOf):
        if isinstance(c, URIRef) and isinstance(sup, URIRef):
            onto.classes.setdefault(str(c), set()).add(str(sup))
            onto.classes.setdefault(str(sup), set())
    for s, lab in g.subject_objects(RDFS.label):
        onto.labels.setdefault(str(s), []).append(str(lab))
    for a, b in g.subject_objects(OWL.disjointWith):
        onto.disjoint.add(frozenset([str(a), str(b)]))
    for node in g.subjects(RDF.type, OWL.AllDisjointClasses):
        for lst in g.objects(node, OWL.members):
            members = [str(c) for c in Collection(g, lst)]
            for i, a in enumerate(members):
                for b in members[i + 1 :]:
                    onto.disjoint.add(frozenset([a, b]))
    functional = {str(p) for p in g.subjects(RDF.type, OWL.FunctionalProperty)}
    for kind, rdf_kind in (("object", OWL.ObjectProperty), ("datatype", OWL.DatatypeProperty)):
        for prop in g.subjects(RDF.type, rdf_kind):
            if not isinstance(prop, URIRef):
                continue
            domain = frozenset().union(*[class_set(d) for d in g.objects(prop, RDFS.domain)])
            rng = (
                frozenset().union(*[class_set(r) for r in g.objects(prop, RDFS.range)])
                if kind == "object"
                else frozenset()
            )
            info = PropertyInfo(
                iri=str(prop),
                name=_local(str(prop)),
                kind=kind,
                domain=domain,
                range=rng,
                functional=str(prop) in functional,
            )
            onto.properties[info.name] = info
    if not onto.classes and not onto.properties:
        raise DataError(
            f"ontology {p}: no owl:Class, rdfs:Class or OWL property found",
            hint="give an OWL/RDFS ontology (Turtle, RDF/XML, JSON-LD ...)",
        )
    for name, info in onto.properties.items():
        onto._property_keys[info.iri] = name
        onto._property_keys[relation_text_key(name)] = name
        for lab in onto.labels.get(info.iri, []):
            onto._property_keys.setdefault(relation_text_key(lab), name)
    for c in onto.classes:
        onto._class_keys.setdefault(relation_text_key(_local(c)), c)
        for lab in onto.labels.get(c, []):
            onto._class_keys.setdefault(relation_text_key(lab), c)
    return onto
