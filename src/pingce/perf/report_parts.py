"""What each server-perf task adds to the report: task rows, indicator entries, rows of the
conformance table, sections and notes (report kit records, turned into the document by
pingce.perf.summary)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pingce.core.report.kit import (
    Cell,
    IndicatorEntry,
    MetricRow,
    Section,
    TaskRow,
    Verdict,
)
from pingce.perf.metrics import METRIC_BY_NAME

CONFORMANCE_COLUMNS = ("task", "scenario", "arrival", "metric", "value", "verdict", "reason")


@dataclass(frozen=True)
class Conformance:
    """One row of the conformance table: VALID / INVALID (n/a when `valid` is None)."""

    task: str
    scenario: str
    arrival: str
    metric: str
    value: float | None
    valid: bool | None
    reason: str

    def cells(self) -> list[Cell]:
        label = "n/a" if self.valid is None else ("VALID" if self.valid else "INVALID")
        return [self.task, self.scenario, self.arrival, self.metric, self.value, label, self.reason]


@dataclass
class Parts:
    """The report parts of one or more tasks, in the order they are added."""

    tasks: list[TaskRow] = field(default_factory=list)
    indicators: list[IndicatorEntry] = field(default_factory=list)
    conformance: list[Conformance] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def extend(self, other: Parts) -> None:
        self.tasks += other.tasks
        self.indicators += other.indicators
        self.conformance += other.conformance
        self.sections += other.sections
        self.notes += other.notes


def scoped_indicator(
    task_id: str,
    name: str,
    row: MetricRow,
    verdict: Verdict | None = None,
    threshold: float | None = None,
    scenario: str | None = None,
) -> IndicatorEntry:
    """The indicator entry of metric `name` for a task; the scope names the scenario too when
    the task id does not, so metrics repeated across scenarios read apart."""
    scope = task_id if not scenario or scenario in task_id else f"{task_id} ({scenario})"
    return IndicatorEntry.from_metric(
        METRIC_BY_NAME[name], row, scope, threshold=threshold, verdict=verdict
    )


def metric_indicators(
    scope: str, rows: dict[str, MetricRow], thresholds: dict[str, float] | None = None
) -> list[IndicatorEntry]:
    """One indicator entry per metric row, with no verdict (a threshold, where given, is shown
    for reference: the task's conformance row carries its validity)."""
    return [
        IndicatorEntry.from_metric(
            METRIC_BY_NAME[name],
            row,
            scope,
            threshold=(thresholds or {}).get(name),
            verdict=None,
        )
        for name, row in rows.items()
    ]


def cdf_points(samples: Sequence[float], points: int | None = None) -> tuple[list[Any], list[Any]]:
    """An empirical CDF (sorted values, fraction of samples at or below), at most `points`
    evenly spaced ranks (all of them when None)."""
    import numpy as np

    xs = np.sort(np.asarray(samples, dtype=float))
    n = len(xs)
    idx = np.unique(np.linspace(0, n - 1, min(n, points or n)).astype(int))
    return xs[idx].tolist(), ((idx + 1) / n).tolist()
