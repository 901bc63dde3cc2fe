"""Local execution of work units with incremental, atomic record writes.

A standard turns each task into `WorkUnit`s, each keyed by a content hash. `run_units` skips
units whose key the run already stored (resume), processes the rest in chunks, and commits
each chunk's records in one transaction as soon as it completes. Progress goes to a rich bar.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

if TYPE_CHECKING:  # the store (SQLAlchemy) loads when a run starts, not with a standard
    from pingce.core.store import Store


@dataclass(frozen=True)
class WorkUnit:
    key: str  # content hash of (subject fingerprint, task, sample, requests)
    sample_id: str
    position: int  # order within the task, for stable reports
    payload: Any


@dataclass(frozen=True)
class Outcome:
    """What processing one unit produced; stored as one record."""

    scores: dict[str, Any]
    data: dict[str, Any]


def make_progress(enabled: bool = True) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
    )


def run_units(
    store: Store,
    run_id: str,
    task_id: str,
    units: Sequence[WorkUnit],
    process: Callable[[list[WorkUnit]], list[Outcome]],
    *,
    chunk_size: int,
    progress: Progress | None = None,
    description: str | None = None,
) -> int:
    """Process the units not yet stored for this run; returns how many were computed now."""
    done = store.existing_keys(run_id, task_id)
    todo = [u for u in units if u.key not in done]
    bar = None
    if progress is not None:
        bar = progress.add_task(
            description or task_id, total=len(units), completed=len(units) - len(todo)
        )
    for start in range(0, len(todo), max(1, chunk_size)):
        chunk = list(todo[start : start + chunk_size])
        outcomes = process(chunk)
        store.add_records(
            run_id,
            [
                {
                    "task": task_id,
                    "key": unit.key,
                    "sample_id": unit.sample_id,
                    "position": unit.position,
                    "scores": out.scores,
                    "data": out.data,
                }
                for unit, out in zip(chunk, outcomes, strict=True)
            ],
        )
        if progress is not None and bar is not None:
            progress.advance(bar, len(chunk))
    return len(todo)
