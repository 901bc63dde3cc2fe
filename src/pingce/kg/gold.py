"""The gold set: texts annotated with entity spans, relations and triples.

One JSON object per line::

    {"id": "en-01", "lang": "en", "text": "...",
     "entities": [{"id": "e1", "start": 0, "end": 9, "text": "Sintering", "type": "Process",
                   "class": "Sintering"}, ...],
     "relations": [{"head": "e1", "type": "hasInput", "tail": "e2"}, ...],
     "triples": [["Sintering", "hasInput", "fine iron ore"], ...]}

Spans are character offsets into `text` ([start, end), Python string indices); `type` is the
entity label scored by entity F1 (a top-level ontology class, or ``Value`` for a quantity);
`class` is the optional fine-grained ontology class used when the gold set becomes a graph.
Triples may be omitted: they are then the relations written with the mention texts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pingce.core.errors import DataError
from pingce.kg.model import Item, Mention, RelationMention, Triple
from pingce.kg.ontology import STEEL_GOLD


def _fail(where: str, message: str) -> DataError:
    return DataError(f"{where}: {message}", hint="see docs/standards/kg.md for the gold format")


def parse_gold_item(raw: Any, where: str) -> tuple[Item, dict[str, str]]:
    """One gold line as an Item, and its entities' fine classes by entity text."""
    if not isinstance(raw, dict):
        raise _fail(where, "expected a JSON object")
    for key in ("id", "text"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise _fail(where, f"field {key!r} must be a non-empty string")
    text = raw["text"]
    by_id: dict[str, Mention] = {}
    classes: dict[str, str] = {}
    mentions: list[Mention] = []
    for k, ent in enumerate(raw.get("entities", [])):
        at = f"{where}: entities[{k}]"
        if not isinstance(ent, dict):
            raise _fail(at, "expected an object")
        start, end, etype = ent.get("start"), ent.get("end"), ent.get("type")
        if (
            not isinstance(start, int)
            or not isinstance(end, int)
            or not 0 <= start < end <= len(text)
        ):
            raise _fail(at, f"start/end must be offsets with 0 <= start < end <= {len(text)}")
        if not isinstance(etype, str) or not etype:
            raise _fail(at, "field 'type' must be a non-empty string")
        span_text = text[start:end]
        if "text" in ent and ent["text"] != span_text:
            raise _fail(at, f"text {ent['text']!r} does not match the span text {span_text!r}")
        m = Mention(span_text, etype, start, end)
        mentions.append(m)
        by_id[str(ent.get("id", f"e{k + 1}"))] = m
        if ent.get("class"):
            classes[span_text] = str(ent["class"])
    relations: list[RelationMention] = []
    for k, rel in enumerate(raw.get("relations", [])):
        at = f"{where}: relations[{k}]"
        if not isinstance(rel, dict) or not isinstance(rel.get("type"), str):
            raise _fail(at, "expected an object with 'head', 'type' and 'tail'")
        try:
            relations.append(RelationMention(by_id[rel["head"]], rel["type"], by_id[rel["tail"]]))
        except KeyError as exc:
            raise _fail(at, f"unknown entity id {exc.args[0]!r}") from None
    types = {m.text: m.type for m in mentions}
    triples: list[Triple] = []
    raw_triples = raw.get("triples")
    if raw_triples is None:
        raw_triples = [[r.head.text, r.type, r.tail.text] for r in relations]
    for k, t in enumerate(raw_triples):
        if not (isinstance(t, list) and len(t) == 3 and all(isinstance(x, str) and x for x in t)):
            raise _fail(f"{where}: triples[{k}]", "expected [subject, predicate, object] strings")
        triples.append(Triple(t[0], t[1], t[2], types.get(t[0]), types.get(t[2])))
    item = Item(
        id=raw["id"],
        text=text,
        lang=str(raw.get("lang", "")),
        triples=triples,
        entities=sorted(mentions, key=lambda m: (m.start or 0, m.end or 0)),
        relations=relations,
    )
    return item, classes


def load_gold_with_classes(
    path: Path | str | None = None,
) -> tuple[list[Item], dict[str, dict[str, str]]]:
    """Gold items in file order, and each item's fine entity classes (by entity text)."""
    p = Path(path) if path else STEEL_GOLD
    if not p.is_file():
        raise DataError(f"gold file {p} does not exist", hint="give --gold FILE.jsonl")
    items: list[Item] = []
    classes: dict[str, dict[str, str]] = {}
    with p.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{p}:{n}"
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise _fail(where, f"not JSON ({exc.msg})") from None
            item, cls = parse_gold_item(raw, where)
            if item.id in classes:
                raise _fail(where, f"duplicate id {item.id!r}")
            items.append(item)
            classes[item.id] = cls
    if not items:
        raise DataError(f"gold file {p} has no items")
    return items, classes


def load_gold(path: Path | str | None = None) -> list[Item]:
    """Gold items (default: pingce's steel-production gold set)."""
    return load_gold_with_classes(path)[0]
