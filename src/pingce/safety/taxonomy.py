"""The risk taxonomy (classes and sub-classes, English and Chinese names) as data.

`load_taxonomy()` reads the built-in TC260 taxonomy (5 classes, 31 sub-classes) or a lab's own
YAML of the same shape. `resolve(label)` maps what banks write — an id (`A1.d`), an English or
Chinese name, with any case and spacing — to a sub-class or class id.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pingce.core.errors import DataError, SpecError

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class RiskClass:
    id: str
    en: str
    zh: str
    parent: str | None  # None for a top-level class

    @property
    def label(self) -> str:
        return f"{self.id} {self.en} / {self.zh}"


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", str(text)).casefold().split())


@dataclass(frozen=True)
class Taxonomy:
    edition: str
    classes: tuple[RiskClass, ...]  # top-level
    subclasses: tuple[RiskClass, ...]

    def __post_init__(self) -> None:
        lookup: dict[str, str] = {}
        for c in (*self.classes, *self.subclasses):
            for name in (c.id, c.en, c.zh):
                lookup[_key(name)] = c.id
        object.__setattr__(self, "_lookup", lookup)
        object.__setattr__(self, "_by_id", {c.id: c for c in (*self.classes, *self.subclasses)})

    def get(self, risk_id: str) -> RiskClass:
        return self._by_id[risk_id]  # type: ignore[attr-defined]

    def resolve(self, label: object) -> str | None:
        """The class or sub-class id a bank's label names, or None."""
        if label is None:
            return None
        return self._lookup.get(_key(str(label)))  # type: ignore[attr-defined]

    def class_of(self, risk_id: str) -> str:
        """The top-level class of a class or sub-class id."""
        c = self.get(risk_id)
        return c.parent or c.id

    def subclasses_of(self, class_id: str) -> list[RiskClass]:
        return [s for s in self.subclasses if s.parent == class_id]


def _read(path: Path) -> Taxonomy:
    from pingce.core.yaml_file import read_yaml

    doc = read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("classes"), list):
        raise SpecError(f"{path}: expected a mapping with a 'classes' list")
    classes, subs = [], []
    for i, c in enumerate(doc["classes"]):
        if not isinstance(c, dict) or not all(isinstance(c.get(k), str) for k in ("id", "en", "zh")):  # fmt: skip
            raise SpecError(f"{path}: classes[{i}] needs string fields id, en and zh")
        classes.append(RiskClass(c["id"], c["en"], c["zh"], None))
        for j, s in enumerate(c.get("subclasses") or []):
            if not isinstance(s, dict) or not all(isinstance(s.get(k), str) for k in ("id", "en", "zh")):  # fmt: skip
                raise SpecError(f"{path}: classes[{i}].subclasses[{j}] needs string fields id, en and zh")  # fmt: skip
            subs.append(RiskClass(s["id"], s["en"], s["zh"], c["id"]))
    ids = [c.id for c in (*classes, *subs)]
    if len(set(ids)) != len(ids):
        raise SpecError(f"{path}: class ids must be unique")
    return Taxonomy(str(doc.get("edition", path.stem)), tuple(classes), tuple(subs))


@cache
def _builtin() -> Taxonomy:
    return _read(DATA / "taxonomy.yaml")


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """The built-in TC260 taxonomy, or a lab's YAML of the same shape."""
    if path is None:
        return _builtin()
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such taxonomy file")
    return _read(p)
