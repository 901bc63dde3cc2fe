"""The operator contract: one small block with `process(batch)` and its own counters.

A map operator looks at one document at a time through `apply(doc)`, which returns
`KEEP` (unchanged), `MODIFIED` (rewritten in place) or a removal reason string. A global
operator (dedup) needs the whole corpus: it computes a picklable per-shard summary in
`summarize_shard`, `decide`s across shards in the parent process, then removes/annotates
documents in `process` from that decision. Every operator counts documents in, kept, removed
by reason, modified, and seconds; the pipeline sums the counters over shards into a funnel.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from pingce.core.registry import Registry
from pingce.core.spec import validate_params
from pingce.data.document import Document

KEEP: None = None
MODIFIED = True
Verdict = str | bool | None


class OpParams(BaseModel):
    """Base of every operator's parameters: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class OpStats:
    """One operator's counters (summed over shards)."""

    name: str
    docs_in: int = 0
    kept: int = 0
    modified: int = 0
    removed: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def removed_total(self) -> int:
        return sum(self.removed.values())

    def merge(self, other: OpStats) -> None:
        self.docs_in += other.docs_in
        self.kept += other.kept
        self.modified += other.modified
        self.removed.update(other.removed)
        self.seconds += other.seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "docs_in": self.docs_in,
            "kept": self.kept,
            "modified": self.modified,
            "removed": self.removed_total,
            "removed_by_reason": dict(sorted(self.removed.items())),
            "seconds": round(self.seconds, 6),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OpStats:
        return cls(
            name=d["name"],
            docs_in=d["docs_in"],
            kept=d["kept"],
            modified=d.get("modified", 0),
            removed=Counter(d.get("removed_by_reason", {})),
            seconds=d.get("seconds", 0.0),
        )


Removed = list[tuple[Document, str]]


class Operator:
    """Base class of map operators."""

    name: ClassVar[str]
    Params: ClassVar[type[OpParams]] = OpParams
    kind: ClassVar[str] = "map"

    def __init__(self, params: OpParams, label: str | None = None) -> None:
        self.params = params
        self.label = label or self.name
        self.stats = OpStats(self.label)

    def apply(self, doc: Document) -> Verdict:  # pragma: no cover - overridden
        raise NotImplementedError

    def run_batch(self, batch: list[Document]) -> tuple[list[Document], Removed, int]:
        """Kept documents, removed (doc, reason) pairs, and how many were modified."""
        kept: list[Document] = []
        removed: Removed = []
        modified = 0
        for doc in batch:
            verdict = self.apply(doc)
            if isinstance(verdict, str):
                removed.append((doc, verdict))
            else:
                kept.append(doc)
                modified += verdict is True
        return kept, removed, modified

    def process(self, batch: list[Document]) -> tuple[list[Document], Removed]:
        """Run the operator on a batch and update its counters."""
        start = time.perf_counter()
        kept, removed, modified = self.run_batch(batch)
        st = self.stats
        st.seconds += time.perf_counter() - start
        st.docs_in += len(batch)
        st.kept += len(kept)
        st.modified += modified
        for _, reason in removed:
            st.removed[reason] += 1
        return kept, removed


class GlobalOperator(Operator):
    """An operator that decides over the whole corpus (dedup)."""

    kind: ClassVar[str] = "global"

    def summarize_shard(self, docs: list[Document]) -> Any:
        """A picklable summary of one shard (hashes, signatures), computed in a worker."""
        raise NotImplementedError

    def decide(self, summaries: list[Any]) -> list[dict[int, tuple[str | None, dict[str, Any]]]]:
        """Per shard: document position -> (removal reason or None, annotations)."""
        raise NotImplementedError

    def process_decided(
        self,
        batch: list[Document],
        offset: int,
        decision: dict[int, tuple[str | None, dict[str, Any]]],
    ) -> tuple[list[Document], Removed]:
        start = time.perf_counter()
        kept: list[Document] = []
        removed: Removed = []
        for i, doc in enumerate(batch, start=offset):
            reason, notes = decision.get(i, (None, {}))
            doc.meta.update(notes)
            if reason:
                removed.append((doc, reason))
            else:
                kept.append(doc)
        st = self.stats
        st.seconds += time.perf_counter() - start
        st.docs_in += len(batch)
        st.kept += len(kept)
        for _, reason in removed:
            st.removed[reason] += 1
        return kept, removed


OPERATORS: Registry[type[Operator]] = Registry("data operator")


def build_operator(name: str, params: dict[str, Any] | None, where: str) -> Operator:
    """Instantiate a registered operator, validating its parameters ('where: field: message')."""
    from pingce.data.operators import builtin  # noqa: F401  (registers the built-in operators)

    # Built-in operators are found without loading every plugin (all standards, ~0.3 s),
    # which each spawned pipeline worker would otherwise pay; a plugin cannot reuse their names.
    cls = OPERATORS.get_loaded(name) or OPERATORS.get(name)
    p = validate_params(cls.Params, params or {}, where)
    return cls(p)
