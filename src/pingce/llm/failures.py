"""Failed records: samples whose model requests failed for good, kept with their reasons.

A sample whose requests failed after every retry is stored as a record with
`data.failed = true` and `data.error`, and no scores. Scores, efficiency figures and reports
skip such records and say how many there are; resuming the run (`pingce run --resume ID`)
first forgets them and then sends exactly their requests again (finished requests come from
the request cache), so nothing is lost or counted twice.

Core has no notion of a failed record yet; until it has one (see docs/standards/llm-served.md,
"Failed requests"), the llm standard calls `forget_failed` before each task and
`partition_failed` before summarizing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete

from pingce.backends.failures import RequestsFailed
from pingce.core.errors import ModelError
from pingce.core.execute import Outcome, WorkUnit
from pingce.core.store import RecordRow, Store


def failed_outcome(unit: WorkUnit, exc: RequestsFailed) -> Outcome:
    reasons = sorted(set(exc.reasons.values()))
    prompt = unit.payload.get("context") or unit.payload.get("text") or ""
    return Outcome(
        scores={},
        data={
            "failed": True,
            "error": reasons[0],
            "errors": reasons,
            "failed_requests": len(exc.reasons),
            "requests": exc.total,
            "prompt": prompt if isinstance(prompt, str) else "",
        },
    )


def is_failed(record: dict[str, Any]) -> bool:
    return bool(record.get("data", {}).get("failed"))


def partition_failed(
    records: Sequence[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(completed records, failed records)."""
    ok, failed = [], []
    for r in records:
        (failed if is_failed(r) else ok).append(r)
    return ok, failed


def forget_failed(store: Store, run_id: str, task: str) -> int:
    """Delete the task's failed records so the run recomputes exactly those samples."""
    rows = store.records(run_id, task)
    ids = [r.id for r in rows if (r.data or {}).get("failed")]
    if not ids:
        return 0
    with store.session() as s, s.begin():
        s.execute(delete(RecordRow).where(RecordRow.id.in_(ids)))
    return len(ids)


def failure_summary(failed: Sequence[dict[str, Any]]) -> dict[str, Any]:
    by_reason = Counter(r["data"].get("error", "unknown") for r in failed)
    return {
        "failed_samples": len(failed),
        "by_task": dict(Counter(r["task"] for r in failed)),
        "reasons": [{"reason": k, "samples": v} for k, v in by_reason.most_common(10)],
    }


def failure_note(failed: Sequence[dict[str, Any]]) -> list[str]:
    if not failed:
        return []
    summary = failure_summary(failed)
    top = summary["reasons"][0]
    return [
        f"{len(failed)} samples failed after retries and are left out of every score "
        f"(most common: {top['reason']}, {top['samples']}x); "
        "`pingce run --resume RUN_ID` retries exactly these."
    ]


def raise_if_failed(store: Store, run_id: str) -> None:
    """End a run whose samples did not all complete as failed (resumable), naming why."""
    from pingce.core.store import records_as_dicts

    _, failed = partition_failed(records_as_dicts(store.records(run_id)))
    if failed:
        top = failure_summary(failed)["reasons"][0]
        raise ModelError(
            f"{len(failed)} samples failed after retries (most common: {top['reason']}); "
            "every other sample is stored",
            hint=f"retry exactly the failed ones with `pingce run --resume {run_id}`",
        )
