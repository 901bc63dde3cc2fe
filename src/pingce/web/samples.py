"""A stored record as the sample browser shows it: prompt, output, extracted answer,
reference, scores, and whatever else the standard kept.

Standards store different things in `data`; the four text fields are shown when present
(the llm standard fills them) and everything else appears as formatted JSON. Nothing here
marks text safe: the templates escape it all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pingce.core.report.render import format_number, is_number, json_safe
from pingce.core.sample_failure import FailRule, sample_failed
from pingce.core.store import RecordRow

TEXT_FIELDS = ("prompt", "output", "extracted", "reference")


@dataclass
class SampleView:
    record_id: int
    run_id: str
    task: str
    sample_id: str
    position: int
    texts: dict[str, str | None]  # the TEXT_FIELDS present in data (None: stored as null)
    scores: list[tuple[str, str]]  # numeric scores, formatted, by name
    raw_scores: dict[str, Any]
    extra: str  # the rest of `data` (and non-numeric scores) as indented JSON, or ""
    failed: bool


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(json_safe(value), ensure_ascii=False, default=str)


def sample_view(row: RecordRow, rules: Sequence[FailRule]) -> SampleView:
    """`row` for the templates; `rules`: its run's standard's failure rules."""
    data = row.data or {}
    scores = row.scores or {}
    numeric = {k: v for k, v in scores.items() if is_number(v)}
    texts = {name: _as_text(data[name]) for name in TEXT_FIELDS if name in data}
    rest = {k: v for k, v in data.items() if k not in TEXT_FIELDS}
    other_scores = {k: v for k, v in scores.items() if k not in numeric}
    if other_scores:
        rest["scores (not numeric)"] = other_scores
    extra = json.dumps(json_safe(rest), indent=2, ensure_ascii=False, default=str) if rest else ""
    return SampleView(
        record_id=row.id,
        run_id=row.run_id,
        task=row.task,
        sample_id=row.sample_id,
        position=row.position,
        texts=texts,
        scores=[(k, format_number(v)) for k, v in sorted(numeric.items())],
        raw_scores=numeric,
        extra=extra,
        failed=sample_failed(numeric, rules),
    )
