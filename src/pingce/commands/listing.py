"""`pingce list`: standards, suites, tasks, indicators, runs, answer filters, metrics."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from pingce.commands.options import DbOpt
from pingce.core.cli_kit import fmt as _fmt
from pingce.core.cli_kit import (
    open_db,
    out,
    warn_integrity,
)
from pingce.core.errors import SpecError

MAX_LIST_LIMIT = 1_000_000  # `list runs --limit`: SQLite rejects integers past 2**63


class ListWhat(StrEnum):
    standards = "standards"
    suites = "suites"
    tasks = "tasks"
    indicators = "indicators"
    runs = "runs"
    filters = "filters"
    metrics = "metrics"


def list_(
    what: Annotated[
        ListWhat,
        typer.Argument(help="standards|suites|tasks|indicators|runs|filters|metrics"),
    ],
    standard: Annotated[str | None, typer.Option(help="Only this standard.")] = None,
    suite: Annotated[
        str | None, typer.Option(help="For `tasks`: the suite (default: every built-in suite).")
    ] = None,
    limit: Annotated[int, typer.Option(help="For `runs`: how many.")] = 50,
    db: DbOpt = None,
) -> None:
    """List standards, suites, tasks, indicators, stored runs, answer filters or metrics."""
    from pingce.core.registry import standards
    from pingce.core.spec import builtin_suite_names, load_suite

    table = Table()
    if what is ListWhat.standards:
        from pingce.core.registry import unavailable

        for col in ("id", "title", "标题"):
            table.add_column(col)
        for sid, std in standards.items():
            table.add_row(sid, std.title, std.title_zh)
        for sid, gone in unavailable.items():
            if sid not in standards:
                note = escape(f"unavailable: needs {gone.missing} ({gone.hint})")  # "[kg]"
                table.add_row(sid, note, "不可用", style="dim")
    elif what is ListWhat.suites:
        from pingce.core.spec import suite_standard

        for col in ("suite", "standard", "tasks", "family", "title"):
            table.add_column(col)
        rows = []
        for name in builtin_suite_names():
            sid = suite_standard(name)
            if standard and sid != standard:
                continue
            unusable = _suite_unusable(sid)
            if unusable is not None:
                if unusable:
                    rows.append(("", name, (name, sid, "–", "", escape(unusable)), "dim"))
                continue
            s = load_suite(name)
            cells = (name, sid, str(len(s.spec.tasks)), s.spec.family, escape(s.spec.title))
            rows.append((s.spec.family, name, cells, None))
        for cells, style in _family_order(rows):
            table.add_row(*cells, style=style)
    elif what is ListWhat.tasks:
        from pingce.core.spec import suite_standard

        for col in ("suite", "task", "type", "dimension", "language", "title"):
            table.add_column(col)
        for name in [suite] if suite else builtin_suite_names():
            if not suite and _suite_unusable(suite_standard(name)) is not None:
                continue
            s = load_suite(name)
            if standard and s.spec.standard != standard:
                continue
            for t in s.spec.tasks:
                table.add_row(s.name, t.id, t.type, t.dimension, t.language, t.title)
    elif what is ListWhat.indicators:
        for col in ("standard", "id", "name", "中文名", "unit", "better"):
            table.add_column(col)
        for sid, std in standards.items():
            if standard and sid != standard:
                continue
            for ind in std.indicators():
                table.add_row(sid, ind.id, ind.name, ind.name_zh, ind.unit, ind.direction)
    elif what is ListWhat.filters:
        from pingce.core.listing import filter_rows

        for col in ("filter", "parameters", "what it does"):
            table.add_column(col)
        for row in filter_rows():
            table.add_row(*(escape(cell) for cell in row))  # "[invalid]" is not markup
    elif what is ListWhat.metrics:
        from pingce.core.listing import metric_rows

        for col in ("metric", "中文名", "better", "scale", "task types", "definition"):
            table.add_column(col)
        for row in metric_rows():
            table.add_row(*(escape(cell) for cell in row))
    else:
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise SpecError(f"--limit must be between 1 and {MAX_LIST_LIMIT:,}, got {limit}")
        for col in ("run id", "standard", "suite", "subject", "status", "overall", "created"):
            table.add_column(col)
        from pingce.core.integrity import verify_runs

        store = open_db(db, create=False)
        rows = store.list_runs(standard=standard, limit=limit)
        # The saved overall score is only shown plain when the run's records and summary
        # still match the digest stored at completion.
        checked = verify_runs(store, rows)
        for row in rows:
            overall = (row.results or {}).get("overall", {}).get("score")
            table.add_row(
                row.id,
                row.standard,
                row.suite,
                row.subject,
                row.status,
                _fmt(overall) + (" (modified!)" if checked[row.id].modified else ""),
                str(row.created_at),
            )
        out.print(table)
        for row in rows:
            warn_integrity({"warning": checked[row.id].warning(row.id)})
        return
    out.print(table)


def _family_order(rows: list[tuple[str, str, Any, Any]]) -> list[tuple[Any, Any]]:
    """(family, name, cells, style) rows in name order, except that the suites of a family
    follow the family's first suite."""
    first: dict[str, int] = {}
    for i, (family, name, _, _) in enumerate(sorted(rows, key=lambda r: r[1])):
        first.setdefault(family or name, i)
    ordered = sorted(rows, key=lambda r: (first[r[0] or r[1]], r[1]))
    return [(cells, style) for _, _, cells, style in ordered]


def _suite_unusable(sid: str) -> str | None:
    """None when standard `sid` is registered; else the listing's note for its built-in
    suites: why it is unavailable, or "" when it is absent (disabled) and not listed."""
    from pingce.core.registry import standards, unavailable

    if sid in standards:
        return None
    if sid in unavailable:
        gone = unavailable.get(sid)
        return f"unavailable: needs {gone.missing} ({gone.hint})"
    return ""
