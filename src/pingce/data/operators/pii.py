"""The PII operator: mask (default), remove, or only annotate documents containing PII."""

from __future__ import annotations

from collections import Counter
from typing import ClassVar, Literal

from pydantic import Field

from pingce.data.document import Document
from pingce.data.operators.base import KEEP, MODIFIED, OPERATORS, Operator, OpParams, Verdict
from pingce.data.pii import ALL_KINDS, find_pii, mask_pii


class PiiParams(OpParams):
    kinds: list[Literal["email", "url", "id_cn", "bank_card", "phone", "ip"]] = Field(
        default_factory=lambda: list(ALL_KINDS)
    )
    action: Literal["mask", "remove", "annotate"] = "mask"
    max_spans: int = Field(default=0, ge=0)  # action remove: remove when spans > max_spans


@OPERATORS.register("pii")
class Pii(Operator):
    """Annotates `pii` = {kind: count}; masks spans with tags, or removes the document."""

    name: ClassVar[str] = "pii"
    Params = PiiParams

    def apply(self, doc: Document) -> Verdict:
        p: PiiParams = self.params  # type: ignore[assignment]
        counts: Counter[str] = Counter()
        masked_parts = []
        for name, text in doc.parts:
            spans = find_pii(text, p.kinds)
            counts.update(s.kind for s in spans)
            masked_parts.append((name, mask_pii(text, spans) if spans else text))
        if counts:
            doc.meta["pii"] = dict(counts)
        if p.action == "remove" and sum(counts.values()) > p.max_spans:
            return "pii"
        if p.action == "mask" and counts:
            doc.parts = masked_parts
            return MODIFIED
        return KEEP
