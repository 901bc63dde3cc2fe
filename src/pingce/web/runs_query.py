"""The runs list: filters, text search and keyset pagination over (created_at, id).

Newest first. A page is found by seeking past the last row of the previous page instead of
skipping rows with OFFSET, so every page costs one index range scan whatever its position
(see benchmarks/dashboard_pagination.py). Cursors are opaque, URL-safe strings that encode the
boundary row; a tampered cursor is a 400, never a database error.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, tuple_

from pingce.core.store import RUN_STATUSES, RunRow, Store
from pingce.web.errors import BadRequest

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Counting every match would cost a full scan on a huge store; past this the page says "N+".
COUNT_CAP = 10_000


@dataclass(frozen=True)
class RunFilters:
    """What the runs list is narrowed to; empty strings mean "any"."""

    standard: str = ""
    suite: str = ""
    subject: str = ""  # substring, case-insensitive
    status: str = ""
    date_from: date | None = None  # inclusive, UTC
    date_to: date | None = None  # inclusive, UTC
    q: str = ""  # substring of id, suite, suite title, subject or standard

    def query_items(self) -> list[tuple[str, str]]:
        """The filters as URL query pairs (for links that keep them)."""
        items = [
            ("standard", self.standard),
            ("suite", self.suite),
            ("subject", self.subject),
            ("status", self.status),
            ("date_from", self.date_from.isoformat() if self.date_from else ""),
            ("date_to", self.date_to.isoformat() if self.date_to else ""),
            ("q", self.q),
        ]
        return [(k, v) for k, v in items if v]


@dataclass(frozen=True)
class RunItem:
    """One row of the runs list (no large JSON columns are loaded)."""

    id: str
    standard: str
    suite: str
    suite_title: str
    subject: str
    status: str
    created_at: datetime
    finished_at: datetime | None
    overall: float | None


@dataclass
class RunPage:
    items: list[RunItem]
    next_cursor: str | None  # older rows exist past the last item
    prev_cursor: str | None  # newer rows exist before the first item
    total: int  # capped at COUNT_CAP + 1
    page_size: int
    filters: RunFilters
    facets: dict[str, list[str]] = field(default_factory=dict)

    @property
    def total_text(self) -> str:
        return f"{COUNT_CAP:,}+" if self.total > COUNT_CAP else f"{self.total:,}"


def parse_date(value: str | None, name: str, latest: date = date.max) -> date | None:
    """A YYYY-MM-DD query parameter; `latest` bounds it (date_to's next day must exist)."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} must be a date like 2026-11-28, got {value!r}") from None
    if day > latest:
        raise BadRequest(f"{name} must be {latest.isoformat()} or earlier, got {value!r}")
    return day


def parse_page_size(value: str | None) -> int:
    if not value:
        return DEFAULT_PAGE_SIZE
    try:
        n = int(value)
    except ValueError:
        raise BadRequest(f"limit must be a whole number, got {value!r}") from None
    if not 1 <= n <= MAX_PAGE_SIZE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {n}")
    return n


def filters_from_query(params: Any) -> RunFilters:
    """RunFilters from request query parameters; bad values raise BadRequest."""
    status = params.get("status", "") or ""
    if status and status not in RUN_STATUSES:
        raise BadRequest(f"status must be one of {', '.join(RUN_STATUSES)}, got {status!r}")
    return RunFilters(
        standard=(params.get("standard") or "").strip(),
        suite=(params.get("suite") or "").strip(),
        subject=(params.get("subject") or "").strip(),
        status=status,
        date_from=parse_date(params.get("date_from"), "date_from"),
        date_to=parse_date(params.get("date_to"), "date_to", latest=date.max - timedelta(days=1)),
        q=(params.get("q") or "").strip(),
    )


def encode_cursor(created_at: datetime, run_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), run_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, run_id = json.loads(raw)
        if not isinstance(run_id, str) or not isinstance(stamp, str):
            raise ValueError
        return datetime.fromisoformat(stamp), run_id
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadRequest("the page cursor is not valid; start again from the first page") from None


def _conditions(f: RunFilters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.standard:
        conds.append(RunRow.standard == f.standard)
    if f.suite:
        conds.append(RunRow.suite == f.suite)
    if f.status:
        conds.append(RunRow.status == f.status)
    if f.subject:
        conds.append(RunRow.subject.icontains(f.subject, autoescape=True))
    if f.date_from:
        conds.append(RunRow.created_at >= datetime.combine(f.date_from, time(), UTC))
    if f.date_to:
        end = datetime.combine(f.date_to + timedelta(days=1), time(), UTC)
        conds.append(RunRow.created_at < end)
    if f.q:
        conds.append(
            or_(
                *(
                    col.icontains(f.q, autoescape=True)
                    for col in (
                        RunRow.id,
                        RunRow.suite,
                        RunRow.suite_title,
                        RunRow.subject,
                        RunRow.standard,
                    )
                )
            )
        )
    return conds


def overall_score_column() -> ColumnElement[float]:
    """The stored overall score, read from the results JSON by the database."""
    return RunRow.results[("overall", "score")].as_float()


def _item_query(conds: Sequence[ColumnElement[bool]]) -> Select[Any]:
    return select(
        RunRow.id,
        RunRow.standard,
        RunRow.suite,
        RunRow.suite_title,
        RunRow.subject,
        RunRow.status,
        RunRow.created_at,
        RunRow.finished_at,
        overall_score_column(),
    ).where(*conds)


def list_runs(
    store: Store,
    filters: RunFilters,
    *,
    after: str | None = None,
    before: str | None = None,
    last: bool = False,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> RunPage:
    """One page of runs, newest first; `after`/`before` are cursors, `last` the oldest page."""
    conds = _conditions(filters)
    key = tuple_(RunRow.created_at, RunRow.id)
    query = _item_query(conds)
    backwards = False
    if after:
        query = query.where(key < tuple_(*decode_cursor(after)))
    elif before:
        query = query.where(key > tuple_(*decode_cursor(before)))
        backwards = True
    elif last:
        backwards = True
    if backwards:
        query = query.order_by(RunRow.created_at.asc(), RunRow.id.asc())
    else:
        query = query.order_by(RunRow.created_at.desc(), RunRow.id.desc())
    with store.session() as s:
        rows = list(s.execute(query.limit(page_size + 1)).all())
        counted = select(RunRow.id).where(*conds).limit(COUNT_CAP + 1).subquery()
        total = s.scalar(select(func.count()).select_from(counted)) or 0
    more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()
    items = [RunItem(*row) for row in rows]
    # Backwards pages (`before`, `last`) were read oldest-first: "more" means newer rows.
    newer = bool(items) and (more if backwards else bool(after))
    older = bool(items) and (bool(before) if backwards else more)
    return RunPage(
        items=items,
        next_cursor=encode_cursor(items[-1].created_at, items[-1].id) if older else None,
        prev_cursor=encode_cursor(items[0].created_at, items[0].id) if newer else None,
        total=total,
        page_size=page_size,
        filters=filters,
    )


def facets(store: Store) -> dict[str, list[str]]:
    """Distinct standards and suites for the filter drop-downs (both columns are indexed)."""
    with store.session() as s:
        standards = s.scalars(select(RunRow.standard).distinct().order_by(RunRow.standard)).all()
        suites = s.scalars(select(RunRow.suite).distinct().order_by(RunRow.suite)).all()
    return {"standards": list(standards), "suites": list(suites), "statuses": list(RUN_STATUSES)}


def runs_of_suite(store: Store, suite: str, exclude: str, limit: int = 50) -> list[RunItem]:
    """Recent runs of one suite, for "compare with" pickers."""
    query = (
        _item_query([RunRow.suite == suite, RunRow.id != exclude])
        .order_by(RunRow.created_at.desc(), RunRow.id.desc())
        .limit(limit)
    )
    with store.session() as s:
        return [RunItem(*row) for row in s.execute(query).all()]


def offset_page(store: Store, filters: RunFilters, offset: int, page_size: int) -> list[RunItem]:
    """The same page found with OFFSET: the naive anchor the benchmark compares against."""
    query = (
        _item_query(_conditions(filters))
        .order_by(RunRow.created_at.desc(), RunRow.id.desc())
        .offset(offset)
        .limit(page_size)
    )
    with store.session() as s:
        return [RunItem(*row) for row in s.execute(query).all()]
