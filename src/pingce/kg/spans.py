"""Entity and relation extraction scored on character spans (seqeval-compatible).

An entity counts as correct when its span [start, end) and its type equal a gold entity's,
which is what seqeval's default (CoNLL) evaluation gives on IOB2 tags for non-overlapping
spans. Predicted mentions without offsets are located in the text: the first occurrence not
already taken by another mention (a mention that does not occur is kept as a spurious one).

A relation counts as correct in *boundaries* mode when the head span, tail span and relation
equal a gold relation's, and in *strict* mode when the two entity types also match (the two
modes of Taillé et al. 2020, "Let's Stop Incorrect Comparisons in End-to-end Relation
Extraction"). Systems that output triples only are scored on relations located from their
triples' subject and object strings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pingce.kg.model import Item, Mention, RelationMention
from pingce.kg.normalize import QUANTITY_RE, parse_quantity
from pingce.kg.ontology import VALUE_TYPE, Ontology

Span = tuple[int, int]


def _free(i: int, j: int, taken: list[Span]) -> bool:
    return not any(i < b and a < j for a, b in taken)


def locate(text: str, mention: str, taken: list[Span]) -> Span | None:
    """Where `mention` occurs in `text`, overlapping no span in `taken`.

    The first free exact occurrence; else a case-insensitive one; else, for a quantity, the
    first quantity in the text with the same canonical spelling (``1250-1350 degC`` is found
    as ``1250–1350 °C``).
    """
    if not mention:
        return None
    for hay, needle in ((text, mention), (text.lower(), mention.lower())):
        if len(hay) != len(text):
            continue  # lower() changed the length: offsets would not map back
        start = 0
        while (i := hay.find(needle, start)) >= 0:
            if _free(i, i + len(needle), taken):
                return i, i + len(needle)
            start = i + 1
    q = parse_quantity(mention)
    if q is not None:
        want = q.canonical()
        for m in QUANTITY_RE.finditer(text):
            i = (
                m.start("cmp") if m.group("cmp") else m.start("a")
            )  # a hedge ("about") is not part of it
            found = parse_quantity(text[i : m.end()])
            if found is not None and found.canonical() == want and _free(i, m.end(), taken):
                return i, m.end()
    return None


def with_spans(text: str, mentions: Sequence[Mention]) -> list[Mention]:
    """Mentions with offsets; given offsets are kept, others located in `text`."""
    taken: list[Span] = [
        (m.start, m.end) for m in mentions if m.start is not None and m.end is not None
    ]
    out = []
    for m in mentions:
        if m.start is not None and m.end is not None:
            out.append(m)
            continue
        span = locate(text, m.text, taken)
        if span is None:
            out.append(Mention(m.text, m.type, -1, -1))  # not in the text: never correct
        else:
            taken.append(span)
            out.append(Mention(m.text, m.type, span[0], span[1]))
    return out


def entity_type_label(name: str | None, ontology: Ontology | None) -> str | None:
    """The top-level class local name a type resolves to (gold labels are top-level classes)."""
    if not name:
        return None
    if name == VALUE_TYPE or ontology is None:
        return name
    for part in name.split(";"):
        cls = ontology.resolve_class(part)
        if cls is None:
            continue
        tops = [c for c in ontology.ancestors(cls) if not ontology.classes.get(c)]
        return ontology.name(sorted(tops)[0]) if tops else ontology.name(cls)
    return name


def predicted_mentions(pred: Item, ontology: Ontology | None) -> list[Mention]:
    """Entity mentions of a prediction: its own list, else its triples' typed arguments."""
    if pred.entities:
        ents = list(pred.entities)
    else:
        ents = []
        seen: set[tuple[str, str | None]] = set()
        for t in pred.triples:
            for text, typ in ((t.subject, t.subject_type), (t.object, t.object_type)):
                if typ and (text, typ) not in seen:
                    seen.add((text, typ))
                    ents.append(Mention(text, typ))
    located = with_spans(pred.text, ents)
    return [Mention(m.text, entity_type_label(m.type, ontology), m.start, m.end) for m in located]


def predicted_relations(
    pred: Item, text: str, ontology: Ontology | None, mentions: Sequence[Mention] = ()
) -> list[RelationMention]:
    """Relation mentions of a prediction: its own list, else one per triple.

    Arguments without offsets take the span of the predicted entity with the same text
    (`mentions`, located jointly so that e.g. "sinter" is not found inside "sintering"),
    else their first free occurrence in `text`.
    """
    from pingce.kg.matching import relation_key

    spans = {m.text: m for m in mentions if m.start is not None and m.start >= 0}
    raw = pred.relations or [
        RelationMention(
            Mention(t.subject, t.subject_type), t.predicate, Mention(t.object, t.object_type)
        )
        for t in pred.triples
    ]
    out = []
    for r in raw:
        ends = []
        for m in (r.head, r.tail):
            known = spans.get(m.text)
            if m.start is None and known is not None:
                m = Mention(m.text, m.type or known.type, known.start, known.end)
            ends.append(m)
        head, tail = with_spans(text, ends)
        out.append(
            RelationMention(
                Mention(head.text, entity_type_label(head.type, ontology), head.start, head.end),
                relation_key(r.type, ontology),
                Mention(tail.text, entity_type_label(tail.type, ontology), tail.start, tail.end),
            )
        )
    return out


def entity_counts(pred: Sequence[Mention], gold: Sequence[Mention]) -> dict[str, list[int]]:
    """Per entity type [true positives, predicted, gold] of (start, end, type) sets."""
    p = {(m.start, m.end, m.type) for m in pred if m.type}
    g = {(m.start, m.end, m.type) for m in gold}
    counts: dict[str, list[int]] = {}
    for _, _, t in p | g:
        counts.setdefault(str(t), [0, 0, 0])
    for _, _, t in p & g:
        counts[str(t)][0] += 1
    for _, _, t in p:
        counts[str(t)][1] += 1
    for _, _, t in g:
        counts[str(t)][2] += 1
    return counts


def _rel_keys(rels: Sequence[RelationMention], strict: bool) -> set[tuple[object, ...]]:
    keys: set[tuple[object, ...]] = set()
    for r in rels:
        if r.head.start is None or r.head.start < 0 or r.tail.start is None or r.tail.start < 0:
            keys.add(("unlocated", r.head.text, r.type, r.tail.text))
            continue
        head: tuple[object, ...] = (r.head.start, r.head.end)
        tail: tuple[object, ...] = (r.tail.start, r.tail.end)
        if strict:
            head, tail = (*head, r.head.type), (*tail, r.tail.type)
        keys.add((head, r.type, tail))
    return keys


def relation_counts(
    pred: Sequence[RelationMention], gold: Sequence[RelationMention], strict: bool
) -> tuple[int, int, int]:
    """[true positives, predicted, gold] of relation mentions in one mode."""
    p, g = _rel_keys(pred, strict), _rel_keys(gold, strict)
    return len(p & g), len(p), len(g)


def merge(into: dict[str, list[int]], counts: dict[str, list[int]]) -> None:
    for k, v in counts.items():
        row = into.setdefault(k, [0, 0, 0])
        for i in range(3):
            row[i] += v[i]


def type_histogram(mentions: Sequence[Mention]) -> Counter[str]:
    return Counter(str(m.type) for m in mentions)
