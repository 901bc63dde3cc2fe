"""Ontology conformance and hallucination of extracted triples (after Text2KGBench).

Text2KGBench (Mihindukulasooriya et al., ISWC 2023) defines, per test sentence:

- ontology conformance: the share of triples whose relation is in the ontology;
- relation hallucination: 1 - ontology conformance;
- subject / object hallucination: the share of triples whose subject / object does not
  occur in the sentence or among the ontology's concept labels (both normalised).

Their script stems English words (Porter) before the substring test; pingce instead
normalises both sides with `entity_key` (NFKC, case, spaces, quantity spelling), which also
works for Chinese. pingce adds a stricter *typed* conformance: the relation is in the ontology
and no argument whose type is known contradicts its domain or range (a datatype property
such as ``hasValue`` needs a quantity as object).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pingce.kg.model import Mention, Triple
from pingce.kg.normalize import entity_key, parse_quantity
from pingce.kg.ontology import VALUE_TYPE, Ontology


@dataclass(frozen=True)
class TripleCheck:
    relation_known: bool
    typed_conformant: bool
    types_checked: bool  # at least one argument type was known and checked
    subject_hallucinated: bool
    object_hallucinated: bool
    reason: str  # why a triple does not conform ("" when it does)


def grounding_key(text: str, ontology: Ontology | None) -> str:
    """The normalised haystack a triple's subject and object must occur in."""
    parts = [text]
    if ontology is not None:
        parts.extend(ontology.concept_labels())
    return "\u241e".join(entity_key(p) for p in parts)  # a separator no key contains


def _type_of(name: str | None, ontology: Ontology) -> str | None:
    if not name or name == VALUE_TYPE:
        return None
    for part in name.split(";"):
        cls = ontology.resolve_class(part)
        if cls:
            return cls
    return None


def check_triple(
    t: Triple, haystack: str, ontology: Ontology, types: dict[str, str] | None = None
) -> TripleCheck:
    """Conformance and grounding of one triple; `types` maps mention text to a type name."""
    types = types or {}
    info = ontology.resolve_property(t.predicate)
    s_key, o_key = entity_key(t.subject), entity_key(t.object, context=t.subject)
    subj_h = not s_key or s_key not in haystack
    obj_h = not o_key or o_key not in haystack
    if info is None:
        return TripleCheck(
            False, False, False, subj_h, obj_h, f"relation {t.predicate!r} not in the ontology"
        )
    reason = ""
    checked = False
    s_cls = _type_of(t.subject_type or types.get(t.subject), ontology)
    if s_cls is not None:
        checked = True
        if not ontology.is_a(s_cls, info.domain):
            reason = f"subject type {ontology.name(s_cls)} outside the domain of {info.name}"
    if info.kind == "datatype":
        checked = True
        if info.name == "hasValue" and parse_quantity(t.object) is None and not reason:
            reason = f"object {t.object!r} of {info.name} is not a quantity"
    else:
        o_type = t.object_type or types.get(t.object)
        if o_type == VALUE_TYPE and not reason:
            checked = True
            reason = f"object of object property {info.name} is a literal value"
        o_cls = _type_of(o_type, ontology)
        if o_cls is not None:
            checked = True
            if not ontology.is_a(o_cls, info.range) and not reason:
                reason = f"object type {ontology.name(o_cls)} outside the range of {info.name}"
    return TripleCheck(True, not reason, checked, subj_h, obj_h, reason)


def mention_types(mentions: Sequence[Mention]) -> dict[str, str]:
    return {m.text: m.type for m in mentions if m.type}
