"""The records extraction is scored on: mentions, triples and items (one text each)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Mention:
    """An entity mention: its text, type and (when known) character span [start, end)."""

    text: str
    type: str | None = None
    start: int | None = None
    end: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "type": self.type, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Triple:
    """(subject, predicate, object) as strings, with the argument types when known."""

    subject: str
    predicate: str
    object: str
    subject_type: str | None = None
    object_type: str | None = None

    def to_list(self) -> list[str]:
        return [self.subject, self.predicate, self.object]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"subject": self.subject, "predicate": self.predicate}
        d["object"] = self.object
        if self.subject_type:
            d["subject_type"] = self.subject_type
        if self.object_type:
            d["object_type"] = self.object_type
        return d


@dataclass(frozen=True)
class RelationMention:
    head: Mention
    type: str
    tail: Mention


@dataclass
class Item:
    """One text (sentence or paragraph) with its triples, entity and relation mentions."""

    id: str
    text: str = ""
    lang: str = ""
    triples: list[Triple] = field(default_factory=list)
    entities: list[Mention] = field(default_factory=list)
    relations: list[RelationMention] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "lang": self.lang,
            "triples": [t.to_dict() for t in self.triples],
            "entities": [m.to_dict() for m in self.entities],
            "relations": [
                {"head": r.head.to_dict(), "type": r.type, "tail": r.tail.to_dict()}
                for r in self.relations
            ],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Item:
        def mention(m: dict[str, Any]) -> Mention:
            return Mention(m["text"], m.get("type"), m.get("start"), m.get("end"))

        return cls(
            id=d["id"],
            text=d.get("text", ""),
            lang=d.get("lang", ""),
            triples=[
                Triple(
                    t["subject"],
                    t["predicate"],
                    t["object"],
                    t.get("subject_type"),
                    t.get("object_type"),
                )
                for t in d.get("triples", [])
            ],
            entities=[mention(m) for m in d.get("entities", [])],
            relations=[
                RelationMention(mention(r["head"]), r["type"], mention(r["tail"]))
                for r in d.get("relations", [])
            ],
        )


@dataclass
class Predictions:
    """What a system produced: items by text id, plus triples with no text id (pooled)."""

    source: str
    format: str
    items: dict[str, Item] = field(default_factory=dict)
    pooled: list[Triple] = field(default_factory=list)

    def n_triples(self) -> int:
        return sum(len(i.triples) for i in self.items.values()) + len(self.pooled)
