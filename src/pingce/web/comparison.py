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

from markupsafe import Markup
from sqlalchemy import select

from pingce.core.compare import MetricDelta, compare_runs
from pingce.core.errors import PingceError
from pingce.core.report.charts import ci_bars_svg
from pingce.core.report.render import format_estimate, is_number, primary_metric
from pingce.core.store import RunRow, Store
from pingce.web.runs_query import overall_score_column

LEADERBOARD_SIZE = 100
LEADERBOARD_CHART_MAX = 25  # subjects drawn in the ranking chart


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
    values: list[float | None] = field(default_factory=list)  # raw primary value per column
    # the ranking quantity and its 95 % CI (the overall score has none)
    rank_value: float | None = None
    rank_ci: tuple[float | None, float | None] = (None, None)


@dataclass
class Leaderboard:
    suite: str
    ranked_by: str
    columns: list[LeaderColumn] = field(default_factory=list)
    rows: list[LeaderRow] = field(default_factory=list)
    subjects: int = 0
    rank_column: LeaderColumn | None = None  # None: ranked by the overall score


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
    standard_id = next(iter(_standards(store, ids[:1]).values()), None)
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
    column = None
    if by_overall:
        entries.sort(key=lambda e: (e.overall is None, -(e.overall or 0.0)))
    else:
        column = _ranking_column(board.columns, standard_id)
        board.ranked_by = f"{column.title} ({column.metric}, {column.direction} is better)"
        sign = -1.0 if column.direction == "higher" else 1.0
        values = {e.run_id: _task_value(results[e.run_id], column.task)[0] for e in entries}
        entries.sort(key=lambda e: (values[e.run_id] is None, sign * (values[e.run_id] or 0.0)))
    for i, e in enumerate(entries[:limit]):
        found = [_task_value(results[e.run_id], c.task) for c in board.columns]
        rank = i + 1 if e.overall is not None or not by_overall else None
        row = LeaderRow(
            rank, e.run_id, e.subject, e.created_at, e.overall,
            [text for _, text in found], [value for value, _ in found],
        )  # fmt: skip
        if column is None:
            row.rank_value = e.overall
        else:
            row.rank_value, row.rank_ci = _task_estimate(results[e.run_id], column.task)
        board.rows.append(row)
    board.rank_column = column
    return board


def _standards(store: Store, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    with store.session() as s:
        query = select(RunRow.id, RunRow.standard).where(RunRow.id.in_(ids))
        return {rid: std for rid, std in s.execute(query)}


def _ranking_column(columns: list[LeaderColumn], standard_id: str | None) -> LeaderColumn:
    """The column a suite without an overall score is ranked by: the first of the standard's
    declared `leaderboard_metrics` (e.g. throughput before latency for server performance,
    never an accuracy gate) that some task reports, else the first task's primary metric."""
    from pingce.core.registry import standards

    preferred: tuple[str, ...] = ()
    if standard_id and standard_id in standards:
        preferred = tuple(getattr(standards.get(standard_id), "leaderboard_metrics", ()) or ())
    for metric in preferred:
        for c in columns:
            if c.metric == metric:
                return c
    return columns[0]


def _task_estimate(results: Mapping[str, Any], task_id: str) -> tuple[float | None, tuple[float | None, float | None]]:  # fmt: skip
    for task in results.get("tasks", []):
        if task.get("id") == task_id:
            metric = primary_metric(task) or {}
            value = metric.get("value")
            if is_number(value):
                lo, hi = metric.get("ci_low"), metric.get("ci_high")
                return float(value), (lo if is_number(lo) else None, hi if is_number(hi) else None)
    return None, (None, None)


def leaderboard_chart(board: Leaderboard) -> Markup | None:
    """The ranking quantity of each ranked subject, best first, with 95 % CI whiskers; bars
    only for bounded metrics (a 0–1 score), plain values otherwise."""
    rows = [r for r in board.rows if r.rank_value is not None][:LEADERBOARD_CHART_MAX]
    if not rows:
        return None
    scale = 1.0 if board.rank_column is None else _bounded(board, board.rank_column)
    data = [(f"#{r.rank or '–'} {r.subject}", r.rank_value, *r.rank_ci, scale) for r in rows]
    return Markup(ci_bars_svg(data))


def _bounded(board: Leaderboard, column: LeaderColumn) -> float | None:
    values = [r.rank_value for r in board.rows if r.rank_value is not None]
    return 1.0 if values and all(0.0 <= v <= 1.0 for v in values) and column.direction == "higher" else None  # fmt: skip


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
