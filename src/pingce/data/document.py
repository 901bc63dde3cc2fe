"""One document flowing through a data pipeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Document:
    """A text record.

    `parts` holds the record's text fields in order as (field, text): one ("text", ...) part for
    pre-training text, ("prompt", ...) and ("response", ...) for instruction pairs, or one part
    per chat message ("messages.0.user", ...). Cleaning operators rewrite every part; filters see
    `text`, the parts joined by blank lines. `record` keeps the input's other fields so writers
    can restore the original shape; `meta` holds what operators annotate (language, cluster id,
    PII counts, ...). `source` is "file:line" for audit trails.
    """

    id: str
    parts: list[tuple[str, str]]
    record: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def text(self) -> str:
        if len(self.parts) == 1:
            return self.parts[0][1]
        return "\n\n".join(t for _, t in self.parts)

    def map_text(self, fn: Callable[[str], str]) -> bool:
        """Apply `fn` to every text part; returns True when any part changed."""
        changed = False
        new_parts = []
        for name, text in self.parts:
            out = fn(text)
            changed = changed or out != text
            new_parts.append((name, out))
        self.parts = new_parts
        return changed

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parts": [list(p) for p in self.parts],
            "record": self.record,
            "meta": self.meta,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Document:
        return cls(
            id=d["id"],
            parts=[(p[0], p[1]) for p in d["parts"]],
            record=d.get("record", {}),
            meta=d.get("meta", {}),
            source=d.get("source", ""),
        )
