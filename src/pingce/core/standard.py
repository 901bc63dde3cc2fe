"""The contract a standard implements to run through pingce's shared pipeline.

suite → plan (tasks → work units) → execute (records) → summarize (task scores with CIs,
dimension scores, indicators, verdicts) → store → report. A standard supplies these steps;
core supplies ids, fingerprints, resume, storage, statistics and rendering.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pingce.core.execute import WorkUnit
from pingce.core.spec import Indicator, SubjectSpec, Suite

if TYPE_CHECKING:
    from rich.progress import Progress

    from pingce.core.store import Store


class Subject(Protocol):
    """An opened subject under test (a loaded model, a server client, a data file...)."""

    def fingerprint(self) -> dict[str, Any]:
        """Identifies the subject's content; part of every record key."""
        ...

    def settings(self) -> dict[str, Any]:
        """Effective settings worth recording with the run."""
        ...


@dataclass
class PlannedTask:
    task_id: str
    units: list[WorkUnit]
    handler: Any  # the standard's own task object


@dataclass
class Plan:
    tasks: list[PlannedTask]
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunContext:
    store: Store
    run_id: str
    suite: Suite
    subject: Subject
    plan: Plan
    options: dict[str, Any]
    progress: Progress | None = None


class Standard(Protocol):
    id: str
    title: str
    title_zh: str

    def indicators(self) -> Sequence[Indicator]: ...

    def validate_suite(self, suite: Suite) -> None:
        """Check every task's type-specific fields; raise SpecError naming file and field."""
        ...

    def open_subject(self, subject: SubjectSpec, options: dict[str, Any]) -> Subject: ...

    # Optional: `check_data(suite, options) -> None` loads and checks the data before the
    # subject is opened, so data errors surface before a slow model load.
    # Optional: `failure_rules() -> Sequence[FailRule]` says when a stored sample failed (the
    # dashboard's failures filter and red marks, the report's sample table); without it the
    # registered metrics' directions decide (`pingce.core.sample_failure`).
    # Optional: `comparison_records(records) -> records` gives the per-sample records that
    # `pingce compare` pairs (a standard that stores samples in blocks expands them; each has
    # task, sample_id, scores).
    # Optional: `options_model`, a `pingce.core.options.CommonOptions` subclass: only its
    # fields are stored in a run's config and hash (`pingce.core.options.resolve_options`).

    def plan(self, suite: Suite, subject: Subject, options: dict[str, Any]) -> Plan:
        """Load data and build every task's work units (all bad input surfaces here)."""
        ...

    def execute(self, ctx: RunContext) -> None:
        """Compute and store the records the run does not have yet."""
        ...

    def summarize(
        self, suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        """From stored records alone: tasks, dimensions, overall, indicators, samples, notes."""
        ...


def task_row(
    spec: dict[str, Any],
    n_samples: int,
    primary: str,
    metrics: dict[str, Any],
    *,
    default_dimension: str = "general",
    default_language: str = "en",
    **fields: Any,
) -> dict[str, Any]:
    """One entry of a report's `tasks` list for the suite task `spec`
    (`pingce.core.report.kit.TaskRow.of(...).to_dict()`, kept for existing callers)."""
    from pingce.core.report.kit import task_row as kit_task_row

    return kit_task_row(
        spec,
        n_samples,
        primary,
        metrics,
        default_dimension=default_dimension,
        default_language=default_language,
        **fields,
    )


def execute_handlers(ctx: RunContext, chunk_size: Callable[[PlannedTask], int]) -> None:
    """The usual `Standard.execute`: each planned task's units not stored yet go through its
    handler's `process(subject, units)` in chunks of `chunk_size(task)`, with progress."""
    from pingce.core.execute import run_units

    for task in ctx.plan.tasks:
        run_units(
            ctx.store,
            ctx.run_id,
            task.task_id,
            task.units,
            lambda units, h=task.handler: h.process(ctx.subject, units),
            chunk_size=chunk_size(task),
            progress=ctx.progress,
            description=task.task_id,
        )
