"""Turning text-level triples into an RDF knowledge graph in the steel ontology.

Entities become individuals named by their normalised text and typed with their ontology
class, so the same entity mentioned in several texts is one node. Parameters are the
exception: a parameter's value belongs to its context, so each text gets its own parameter
node. A ``hasValue`` quantity becomes structured values as well: ``steel:numericValue`` (or
``steel:minValue``/``steel:maxValue`` for ranges and bounds) and a UCUM-style ``steel:unit``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from hashlib import sha1
from typing import Any
from urllib.parse import quote

from pingce.kg.model import Item
from pingce.kg.normalize import entity_key, parse_quantity
from pingce.kg.ontology import STEEL_NS, VALUE_TYPE, Ontology

KG_NS = "https://w3id.org/pingce/steel/kg/"


def _slug(text: str) -> str:
    """An IRI segment for a name: its key with IRI-unsafe characters as '_' (Unicode kept)."""
    key = entity_key(text)
    readable = re.sub(r"[^\w\-.~]", "_", key)
    return (
        readable
        if len(readable) <= 48
        else readable[:32] + "-" + sha1(key.encode()).hexdigest()[:10]
    )


def _decimal_lexical(d: Decimal) -> str:
    """The lexical form Turtle writes back unchanged (``1650.0``), so graphs round-trip."""
    text = format(d.normalize(), "f")
    return text if "." in text else text + ".0"


def items_to_graph(
    items: Iterable[Item],
    ontology: Ontology,
    classes: dict[str, dict[str, str]] | None = None,
) -> Any:
    """An rdflib Graph of the items' triples (types from `classes` or the triples' types)."""
    from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef

    steel = Namespace(STEEL_NS)
    g = Graph()
    g.bind("steel", steel)
    g.bind("kg", Namespace(KG_NS))
    classes = classes or {}
    param_cls = f"{STEEL_NS}Parameter"

    def class_of(item_id: str, text: str, type_name: str | None) -> str | None:
        fine = classes.get(item_id, {}).get(text)
        return ontology.resolve_class(fine) or ontology.resolve_class(type_name)

    def node(item: Item, text: str, cls: str | None) -> URIRef:
        if cls is not None and ontology.is_a(cls, frozenset([param_cls])):
            iri = URIRef(f"{KG_NS}param/{quote(item.id, safe='')}/{_slug(text)}")
        else:
            top = "entity"
            if cls is not None:
                tops = [c for c in ontology.ancestors(cls) if not ontology.classes.get(c)]
                top = ontology.name(sorted(tops)[0]) if tops else ontology.name(cls)
            iri = URIRef(f"{KG_NS}{top}/{_slug(text)}")
        if cls is not None:
            g.add((iri, RDF.type, URIRef(cls)))
        g.add((iri, RDFS.label, Literal(text, lang=item.lang or None)))
        return iri

    for item in items:
        for t in item.triples:
            s_cls = class_of(item.id, t.subject, t.subject_type)
            s = node(item, t.subject, s_cls)
            prop = ontology.resolve_property(t.predicate)
            p = URIRef(prop.iri) if prop else URIRef(f"{KG_NS}relation/{_slug(t.predicate)}")
            if (prop and prop.kind == "datatype") or t.object_type == VALUE_TYPE:
                g.add((s, p, Literal(t.object)))
                # The subject's name and class say whether an ambiguous "度" is a temperature.
                q = parse_quantity(t.object, context=f"{t.subject} {s_cls or ''}")
                if q is not None and prop is not None and prop.name == "hasValue":
                    low = Literal(_decimal_lexical(q.low), datatype=XSD.decimal)
                    high = Literal(_decimal_lexical(q.high), datatype=XSD.decimal)
                    if q.comparator in ("<", "≤"):
                        g.add((s, steel.maxValue, high))
                    elif q.comparator in (">", "≥"):
                        g.add((s, steel.minValue, low))
                    elif q.low != q.high:
                        g.add((s, steel.minValue, low))
                        g.add((s, steel.maxValue, high))
                    else:
                        g.add((s, steel.numericValue, low))
                    g.add((s, steel.unit, Literal(q.ucum)))
                continue
            o = node(item, t.object, class_of(item.id, t.object, t.object_type))
            g.add((s, p, o))
    return g
