"""A suite's results over time: every completed run of one suite (optionally one subject),
oldest first, with each task's primary metric and its confidence interval.

Values come from the results saved with each run (one query), like the leaderboard; the
runs list and the run pages warn when a run's records changed after it completed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy import select

from pingce.core.report.charts import lines_svg
from pingce.core.report.render import primary_metric
from pingce.core.store import RunRow, Store

TREND_LIMIT = 500  # runs per page; the newest are kept
CHARTS_MAX = 12  # tasks drawn (the table has them all)


@dataclass
class TrendColumn:
    task: str
    title: str
    metric: str
    direction: str
    unit: str


@dataclass
class TrendPoint:
    run_id: str
    subject: str
    created_at: datetime
    overall: float | None
    values: dict[str, tuple[float | None, float | None, float | None]]  # task -> (v, lo, hi)


@dataclass
class Trend:
    suite: str
    subject: str
    columns: list[TrendColumn] = field(default_factory=list)
    points: list[TrendPoint] = field(default_factory=list)
    truncated: bool = False


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x) if math.isfinite(x) else None


def trend(store: Store, suite: str, subject: str = "", limit: int = TREND_LIMIT) -> Trend:
    query = select(RunRow.id, RunRow.subject, RunRow.created_at, RunRow.results).where(
        RunRow.suite == suite, RunRow.status == "completed"
    )
    if subject:
        query = query.where(RunRow.subject == subject)
    query = query.order_by(RunRow.created_at.desc(), RunRow.id.desc()).limit(limit + 1)
    with store.session() as s:
        rows = list(s.execute(query))
    out = Trend(suite, subject, truncated=len(rows) > limit)
    for run_id, subj, created, results in reversed(rows[:limit]):
        results = results if isinstance(results, Mapping) else {}
        values: dict[str, tuple[float | None, float | None, float | None]] = {}
        for task in results.get("tasks", []) or []:
            if not isinstance(task, Mapping) or "id" not in task:
                continue
            metric = primary_metric(task) or {}
            if all(c.task != task["id"] for c in out.columns):
                out.columns.append(
                    TrendColumn(
                        str(task["id"]),
                        str(task.get("title") or task["id"]),
                        str(task.get("primary_metric", "")),
                        str(metric.get("direction", "higher")),
                        str(metric.get("unit", "") or ""),
                    )
                )
            values[str(task["id"])] = (
                _num(metric.get("value")),
                _num(metric.get("ci_low")),
                _num(metric.get("ci_high")),
            )
        overall = _num((results.get("overall") or {}).get("score"))
        out.points.append(TrendPoint(run_id, subj, created, overall, values))
    return out


def _scale(values: list[float]) -> str:
    """log when every value is positive and they span more than two decades."""
    positive = [v for v in values if v > 0]
    if len(positive) == len(values) and positive and max(positive) / min(positive) > 100:
        return "log"
    return "linear"


def trend_charts(t: Trend) -> list[Markup]:
    """One line chart per task (and the overall score): value and its 95 % CI by run."""
    charts = []
    xs = [float(i + 1) for i in range(len(t.points))]
    series_sets: list[tuple[str, str, list[tuple[float | None, float | None, float | None]]]] = []
    if any(p.overall is not None for p in t.points):
        series_sets.append(("Overall score", "score (0–1)", [(p.overall, None, None) for p in t.points]))  # fmt: skip
    for c in t.columns[:CHARTS_MAX]:
        label = f"{c.metric} ({c.unit})" if c.unit else c.metric
        note = "lower is better" if c.direction == "lower" else "higher is better"
        series_sets.append((f"{c.title} · {c.metric}, {note}", label, [p.values.get(c.task, (None, None, None)) for p in t.points]))  # fmt: skip
    for title, y_label, vals in series_sets:
        present = [v for v, _, _ in vals if v is not None]
        if not present:
            continue
        series = [{"name": "value", "x": xs, "y": [v for v, _, _ in vals]}]
        if any(lo is not None for _, lo, _ in vals):
            series.append({"name": "95% CI low", "x": xs, "y": [lo for _, lo, _ in vals]})
            series.append({"name": "95% CI high", "x": xs, "y": [hi for _, _, hi in vals]})
        bounds = [x for v in vals for x in v if x is not None]
        chart = {
            "kind": "lines",
            "title": title,
            "x_label": "run (oldest first; see the table for dates)",
            "y_label": y_label,
            "y_scale": _scale(bounds),
            "series": series,
        }
        charts.append(Markup(lines_svg(chart)))
    return charts
