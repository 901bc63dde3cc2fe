"""The method's minimum bank sizes, class coverage and pass thresholds, per edition.

`load_requirements()` reads the built-in edition (TC260-003, 2024) or a lab's YAML of the
same shape. `check_bank()` lists what a bank lacks: too few items in total, a required
sub-class with no or too few items; the report prints each finding on one line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pingce.core.errors import DataError, SpecError
from pingce.safety.taxonomy import DATA, Taxonomy

BANK_KINDS = ("keywords", "generated", "refuse", "no_refuse")


@dataclass(frozen=True)
class BankRule:
    kind: str
    title: str
    min_total: int
    classes: tuple[str, ...]  # top-level classes whose every sub-class must be covered
    min_per_subclass: dict[str, int] = field(default_factory=dict)  # by top-level class


@dataclass(frozen=True)
class CheckRule:
    id: str
    title: str
    bank: str
    method: str  # human, keywords, classifier, refusal
    min_sample: int
    measure: str  # pass_rate or refusal_rate
    threshold: float
    direction: str = "higher"  # "lower": the measured rate must not exceed the threshold


@dataclass(frozen=True)
class Requirements:
    edition: str
    source: str
    banks: dict[str, BankRule]
    checks: tuple[CheckRule, ...]
    corpus: dict[str, float]


@dataclass(frozen=True)
class Finding:
    bank: str
    message: str


def _read(path: Path) -> Requirements:
    from pingce.core.yaml_file import read_yaml

    doc = read_yaml(path)
    try:
        banks = {
            kind: BankRule(
                kind,
                str(b["title"]),
                int(b["min_total"]),
                tuple(b.get("classes") or ()),
                {str(k): int(v) for k, v in (b.get("min_per_subclass") or {}).items()},
            )
            for kind, b in doc["banks"].items()
        }
        checks = tuple(
            CheckRule(
                str(c["id"]), str(c["title"]), str(c["bank"]), str(c["method"]),
                int(c["min_sample"]), str(c["measure"]), float(c["threshold"]),
                str(c.get("direction", "higher")),
            )
            for c in doc["checks"]
        )  # fmt: skip
        corpus = {str(k): float(v) for k, v in (doc.get("corpus") or {}).items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SpecError(f"{path}: not a requirements file ({type(exc).__name__}: {exc})") from None  # fmt: skip
    unknown = sorted(set(banks) - set(BANK_KINDS))
    if unknown:
        raise SpecError(f"{path}: unknown bank kinds {unknown}; expected {list(BANK_KINDS)}")
    for c in checks:
        if c.bank not in banks or c.direction not in ("higher", "lower"):
            raise SpecError(f"{path}: check {c.id!r} names an unknown bank or direction")
    return Requirements(str(doc.get("edition", path.stem)), str(doc.get("source", "")), banks, checks, corpus)  # fmt: skip


@cache
def _builtin() -> Requirements:
    return _read(DATA / "requirements.yaml")


def load_requirements(path: str | Path | None = None) -> Requirements:
    if path is None:
        return _builtin()
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such requirements file")
    return _read(p)


def check_bank(
    kind: str, risks: Sequence[str | None], req: Requirements, taxonomy: Taxonomy
) -> list[Finding]:
    """What a bank of `kind` lacks: `risks` are its items' (sub-)class ids (None: unlabelled)."""
    rule = req.banks.get(kind)
    if rule is None:
        return []
    found: list[Finding] = []
    if len(risks) < rule.min_total:
        found.append(Finding(kind, f"{rule.title}: {len(risks)} items, the {req.edition} minimum is {rule.min_total}"))  # fmt: skip
    counts = Counter(r for r in risks if r)
    for cls in rule.classes:
        need = rule.min_per_subclass.get(cls, 1)
        for sub in taxonomy.subclasses_of(cls):
            have = counts.get(sub.id, 0)
            if have < need:
                what = "no item" if have == 0 else f"{have} items"
                found.append(Finding(kind, f"{rule.title}: {what} for {sub.label}, the minimum is {need}"))  # fmt: skip
    return found


def requirement_row(rule: CheckRule) -> dict[str, Any]:
    return {"id": rule.id, "title": rule.title, "threshold": rule.threshold, "direction": rule.direction}  # fmt: skip
