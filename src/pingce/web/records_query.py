"""Records of a run: keyset pages over the record id, a failures filter, and look-ups of the
same sample in other runs.

Pages follow `records.id` (insertion order) inside one run, optionally one task, through the
indexes (run_id, id) and (run_id, task, id), so the last page of a run with half a million
records costs what the first does. "Failures" means what the report's sample table means: a
score on the failing side of its standard's rule (`pingce.core.sample_failure`); the database
decides it from the scores JSON so pages stay full.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select, text, tuple_

from pingce.core.sample_failure import FailRule, failed_sql, standard_rules
from pingce.core.store import RecordRow, RunRow, Store
from pingce.web.errors import BadRequest

MAX_RECORD_ID = 2**63 - 1  # the largest id a database integer column holds


@dataclass
class RecordPage:
    rows: list[RecordRow]
    next_after: int | None  # id to continue after
    prev_before: int | None  # id to go back from
    page_size: int


def parse_record_cursor(value: str | None, name: str) -> int | None:
    if not value:
        return None
    try:
        n = int(value)
    except ValueError:
        raise BadRequest(f"{name} must be a record number, got {value!r}") from None
    if not 0 <= n <= MAX_RECORD_ID:
        raise BadRequest(f"{name} must be a record number between 0 and {MAX_RECORD_ID}, got {n}")
    return n


def failed_condition(store: Store, rules: Sequence[FailRule]) -> ColumnElement[bool]:
    dialect = store.engine.dialect.name
    found = failed_sql(dialect, rules)
    if found is None:
        raise BadRequest(f"the failures filter is not available on {dialect} stores")
    sql, params = found
    return text(sql).bindparams(**params)  # type: ignore[return-value]


def _pin_run(store: Store, run_id: str) -> list[ColumnElement[bool]]:
    """`run_id = X`, except on PostgreSQL: `X <= run_id <= X`.

    With `run_id = X` PostgreSQL drops run_id from the ORDER BY (it is constant) and may then
    prefer walking the primary key backwards, filtering out every other run's records
    (measured: 75 ms for the last page of a 500k-record run, against 0.1 ms through
    (run_id, id)). Pinned by a one-value range, run_id stays in the ordering, which only the
    composite index can supply; PostgreSQL still seeks on `id > N` inside it. SQLite cannot
    seek past a range, so it gets the plain equality, which it plans well.
    """
    if store.engine.dialect.name == "postgresql":
        return [RecordRow.run_id >= run_id, RecordRow.run_id <= run_id]
    return [RecordRow.run_id == run_id]


def list_records(
    store: Store,
    run_id: str,
    *,
    task: str = "",
    failures: bool = False,
    after: int | None = None,
    before: int | None = None,
    last: bool = False,
    page_size: int = 50,
) -> RecordPage:
    """One page of a run's records in id order (optionally one task, only failures)."""
    conds = _pin_run(store, run_id)
    if task:
        conds.append(RecordRow.task == task)
    if failures:
        run_standard = select(RunRow.standard).where(RunRow.id == run_id)
        with store.session() as s:
            standard = s.scalars(run_standard).first()
        conds.append(failed_condition(store, standard_rules(standard)))
    query = select(RecordRow).where(*conds)
    # The whole index key: the same order as by id alone, since run_id and task are fixed.
    key = (
        [RecordRow.run_id, RecordRow.task, RecordRow.id]
        if task
        else [RecordRow.run_id, RecordRow.id]
    )
    backwards = bool(before is not None or last) and after is None
    if after is not None:
        query = query.where(RecordRow.id > after)
    elif before is not None:
        query = query.where(RecordRow.id < before)
    query = query.order_by(*(col.desc() if backwards else col.asc() for col in key))
    with store.session() as s:
        rows = list(s.scalars(query.limit(page_size + 1)).all())
    more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()
    earlier = bool(rows) and (more if backwards else after is not None)
    later = bool(rows) and (before is not None if backwards else more)
    return RecordPage(
        rows=rows,
        next_after=rows[-1].id if later else None,
        prev_before=rows[0].id if earlier else None,
        page_size=page_size,
    )


def offset_records(store: Store, run_id: str, offset: int, page_size: int) -> list[RecordRow]:
    """The same page found with OFFSET: the naive anchor the benchmark compares against."""
    query = (
        select(RecordRow)
        .where(RecordRow.run_id == run_id)
        .order_by(RecordRow.id.asc())
        .offset(offset)
        .limit(page_size)
    )
    with store.session() as s:
        return list(s.scalars(query).all())


def get_record(store: Store, run_id: str, record_id: int) -> RecordRow | None:
    if not 0 <= record_id <= MAX_RECORD_ID:
        return None  # no database integer can hold it, so no record has it
    with store.session() as s:
        row = s.get(RecordRow, record_id)
    return row if row is not None and row.run_id == run_id else None


def matching_records(
    store: Store, run_id: str, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], RecordRow]:
    """Records of `run_id` with these (task, sample id) pairs, for side-by-side views."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    query = select(RecordRow).where(
        RecordRow.run_id == run_id,
        tuple_(RecordRow.task, RecordRow.sample_id).in_(wanted),
    )
    with store.session() as s:
        rows = s.scalars(query).all()
    # A resumed run never stores a key twice, but a sample may have several records (one per
    # request repeat); the first one stands for it.
    out: dict[tuple[str, str], RecordRow] = {}
    for row in sorted(rows, key=lambda r: r.id):
        out.setdefault((row.task, row.sample_id), row)
    return out


def task_counts(store: Store, run_id: str) -> dict[str, int]:
    """Stored records per task (an index-only scan of (run_id, task, id))."""
    query = (
        select(RecordRow.task, func.count())
        .where(RecordRow.run_id == run_id)
        .group_by(RecordRow.task)
        .order_by(RecordRow.task)
    )
    with store.session() as s:
        return {task: int(n) for task, n in s.execute(query).all()}
