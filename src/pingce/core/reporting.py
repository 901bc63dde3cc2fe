"""Assemble the report document of a run from the store (always from stored records)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pingce import __version__
from pingce.core.integrity import summary_disagreement, verify_run
from pingce.core.registry import standards
from pingce.core.report.validation import SCHEMA_VERSION
from pingce.core.run import fresh_summary, summarize_run
from pingce.core.store import RunRow, Store


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def build_report_doc(store: Store, row: RunRow) -> dict[str, Any]:
    """The versioned report document (validated against schema.json when it is rendered).

    The scores come from the stored records: summarized here, or, for a run this process
    has just completed, the summary computed then (the stored results are that summary).
    A standard may set `demo_note`: the note that leads the report of its demo runs (runs
    whose options have `demo: true`).
    """
    standard = standards.get(row.standard)
    results = fresh_summary(row) or summarize_run(store, row)
    integrity = integrity_of(store, row, results)
    notes = list(results.get("notes", []))
    if integrity["warning"]:
        notes.insert(0, f"Integrity warning: {integrity['warning']}.")
    if row.status != "completed":
        notes.insert(0, f"Run status is {row.status}: scores cover only the records stored so far.")
    demo_note = getattr(standard, "demo_note", None)
    if demo_note and row.config.get("options", {}).get("demo"):
        notes.insert(0, demo_note)
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "pingce_version": __version__,
        "run": {
            "id": row.id,
            "standard": row.standard,
            "suite": row.suite,
            "suite_title": row.suite_title,
            "subject": row.subject,
            "status": row.status,
            "created_at": _iso(row.created_at),
            "finished_at": _iso(row.finished_at),
            "config_hash": row.config_hash,
            "config": {
                "options": row.config.get("options", {}),
                "settings": row.config.get("settings", {}),
                "suite_source": row.config.get("suite_source"),
                "suite_sha256": row.config.get("suite_sha256"),
                "subject_fingerprint": row.subject_fingerprint,
            },
            "environment": row.environment,
        },
        "standard": {"id": standard.id, "title": standard.title, "title_zh": standard.title_zh},
        "tasks": results["tasks"],
        "dimensions": results["dimensions"],
        "overall": results["overall"],
        "indicators": results["indicators"],
        "samples": results["samples"],
        "notes": notes,
        "sections": results.get("sections", []),
        "extra": results.get("extra", {}),
        "integrity": integrity,
    }


def integrity_of(store: Store, row: RunRow, recomputed: dict[str, Any]) -> dict[str, Any]:
    """The report's `integrity` entry: the digest check (pingce.core.integrity) and, as
    `warning`, what a reader must be told loudly: records or summary modified after
    completion, or saved scores that differ from the scores recomputed from the records."""
    found = verify_run(store, row)
    warning = found.warning(row.id)
    if warning is None and row.status == "completed":
        differs = summary_disagreement(row.results, recomputed)
        if differs is not None:
            warning = f"run {row.id}: {differs}"
    return {**found.to_dict(), "warning": warning}
