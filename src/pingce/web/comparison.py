"""Compare runs side by side, and rank the subjects of a suite (the leaderboard).

Deltas and their paired significance come from `pingce.core.compare.compare_runs` (McNemar
for 0/1 scores, paired bootstrap otherwise): every other run is compared with the first one,
the baseline. The leaderboard reads the results stored with each completed run, so it costs
one query however many runs a suite has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select

from pingce.core.compare import MetricDelta, compare_runs
from pingce.core.errors import PingceError
from pingce.core.report.render import format_estimate, is_number, primary_metric
from pingce.core.store import RunRow, Store
from pingce.web.runs_query import overall_score_column

LEADERBOARD_SIZE = 100


@dataclass
class DeltaRow:
    d: MetricDelta
    outcome: str  # "better", "worse" (significant, p < 0.05) or "same"


@dataclass
class PairComparison:
    baseline: str
    other: str
    rows: list[DeltaRow]
    error: str | None = None


def _outcome(d: MetricDelta) -> str:
    if not d.significant or d.delta == 0:
        return "same"
    improved = d.delta > 0 if d.direction == "higher" else d.delta < 0
    return "better" if improved else "worse"


def compare_pair(store: Store, baseline: RunRow, other: RunRow) -> PairComparison:
    """Paired deltas (other − baseline); a user error (other standard) becomes a message."""
    try:
        deltas = compare_runs(store, baseline, other)
    except PingceError as exc:
        return PairComparison(baseline.id, other.id, [], error=exc.one_line())
    return PairComparison(baseline.id, other.id, [DeltaRow(d, _outcome(d)) for d in deltas])


@dataclass
class MatrixRow:
    key: str
    label: str
    cells: list[str]  # one formatted value per run


def task_matrix(docs: Sequence[Mapping[str, Any]]) -> list[MatrixRow]:
    """Primary metric (with CI) of every task, one column per run."""
    labels: dict[str, str] = {}
    for doc in docs:
        for task in doc["tasks"]:
            labels.setdefault(task["id"], f"{task['title']} · {task['primary_metric']}")
    rows = []
    for tid, label in labels.items():
        cells = []
        for doc in docs:
            task = next((t for t in doc["tasks"] if t["id"] == tid), None)
            metric = primary_metric(task) if task else None
            cells.append(
                format_estimate(metric["value"], metric["ci_low"], metric["ci_high"])
                if metric
                else "—"
            )
        rows.append(MatrixRow(tid, label, cells))
    return rows


def dimension_matrix(docs: Sequence[Mapping[str, Any]]) -> list[MatrixRow]:
    """Capability dimension scores, one column per run, and the overall score last."""
    labels: dict[str, str] = {}
    for doc in docs:
        for dim in doc["dimensions"]:
            labels.setdefault(dim["id"], f"{dim['name']} · {dim['name_zh']}")
    rows = []
    for did, label in labels.items():
        cells = []
        for doc in docs:
            dim = next((d for d in doc["dimensions"] if d["id"] == did), None)
            cells.append(format_estimate(dim["score"]) if dim else "—")
        rows.append(MatrixRow(did, label, cells))
    if labels:
        rows.append(
            MatrixRow(
                "overall", "Overall · 总分", [format_estimate(d["overall"]["score"]) for d in docs]
            )
        )
    return rows


@dataclass
class LeaderColumn:
    task: str
    title: str
    metric: str
    direction: str


@dataclass
class LeaderRow:
    rank: int | None
    run_id: str
    subject: str
    created_at: datetime
    overall: float | None
    cells: list[str]


@dataclass
class Leaderboard:
    suite: str
    ranked_by: str
    columns: list[LeaderColumn] = field(default_factory=list)
    rows: list[LeaderRow] = field(default_factory=list)
    subjects: int = 0


class _Entry(NamedTuple):
    subject: str
    run_id: str
    created_at: datetime
    overall: float | None


def _task_value(results: Mapping[str, Any], task_id: str) -> tuple[float | None, str]:
    for task in results.get("tasks", []):
        if task.get("id") == task_id:
            metric = primary_metric(task)
            if metric and is_number(metric.get("value")):
                text = format_estimate(metric["value"], metric.get("ci_low"), metric.get("ci_high"))
                return float(metric["value"]), text
    return None, "—"


def leaderboard(store: Store, suite: str, limit: int = LEADERBOARD_SIZE) -> Leaderboard:
    """Each subject's latest completed run of `suite`, ranked by overall score.

    Standards without an overall score are ranked by the first task's primary metric, in
    its own direction; the page says which.
    """
    query = (
        select(RunRow.id, RunRow.subject, RunRow.created_at, overall_score_column())
        .where(RunRow.suite == suite, RunRow.status == "completed")
        .order_by(RunRow.created_at.desc(), RunRow.id.desc())
    )
    with store.session() as s:
        latest: dict[str, _Entry] = {}  # subject -> its newest completed run
        for run_id, subject, created, overall in s.execute(query):
            latest.setdefault(subject, _Entry(subject, run_id, created, overall))
        ids = [e.run_id for e in latest.values()]
        results = {
            rid: res or {}
            for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500))
            for rid, res in s.execute(select(RunRow.id, RunRow.results).where(RunRow.id.in_(chunk)))
        }
    board = Leaderboard(suite=suite, ranked_by="overall score", subjects=len(latest))
    for res in results.values():
        for task in res.get("tasks", []):
            if all(c.task != task["id"] for c in board.columns):
                metric = primary_metric(task) or {}
                board.columns.append(
                    LeaderColumn(
                        task["id"],
                        task.get("title", task["id"]),
                        task.get("primary_metric", ""),
                        metric.get("direction", "higher"),
                    )
                )
    entries = list(latest.values())
    by_overall = any(e.overall is not None for e in entries) or not board.columns
    if by_overall:
        entries.sort(key=lambda e: (e.overall is None, -(e.overall or 0.0)))
    else:
        first = board.columns[0]
        board.ranked_by = f"{first.title} ({first.metric}, {first.direction} is better)"
        sign = -1.0 if first.direction == "higher" else 1.0
        values = {e.run_id: _task_value(results[e.run_id], first.task)[0] for e in entries}
        entries.sort(key=lambda e: (values[e.run_id] is None, sign * (values[e.run_id] or 0.0)))
    for i, e in enumerate(entries[:limit]):
        cells = [_task_value(results[e.run_id], c.task)[1] for c in board.columns]
        rank = i + 1 if e.overall is not None or not by_overall else None
        board.rows.append(LeaderRow(rank, e.run_id, e.subject, e.created_at, e.overall, cells))
    return board


def suite_overview(store: Store) -> list[tuple[str, str, int]]:
    """(suite, standard, completed runs) for every suite with completed runs."""
    from sqlalchemy import func

    query = (
        select(RunRow.suite, RunRow.standard, func.count())
        .where(RunRow.status == "completed")
        .group_by(RunRow.suite, RunRow.standard)
        .order_by(RunRow.suite)
    )
    with store.session() as s:
        return [(suite, std, int(n)) for suite, std, n in s.execute(query)]
