"""Indexes the dashboard's keyset pagination needs, created at start-up when missing.

Every list the dashboard pages through is ordered by an index, so a page costs the same
whether it is the first or the ten-thousandth: runs by (created_at, id), optionally behind an
equality filter (standard, status, suite), records by id within a run (and within a task).
`CREATE INDEX IF NOT EXISTS` works on SQLite and PostgreSQL alike; a store the dashboard may
not write to (a read-only role) still serves pages, only slower, and says so once in the log.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from pingce.core.store import Store

log = logging.getLogger("pingce.web")

# name -> (table, columns). Kept in one place so docs/design/dashboard.md and core/store.py
# (should these move there) can list the same set.
INDEXES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ix_runs_created_id": ("runs", ("created_at", "id")),
    "ix_runs_standard_created_id": ("runs", ("standard", "created_at", "id")),
    "ix_runs_status_created_id": ("runs", ("status", "created_at", "id")),
    "ix_runs_suite_created_id": ("runs", ("suite", "created_at", "id")),
    "ix_records_run_id_id": ("records", ("run_id", "id")),
    "ix_records_run_task_id": ("records", ("run_id", "task", "id")),
    "ix_records_run_task_sample": ("records", ("run_id", "task", "sample_id")),
}


def ensure_indexes(store: Store) -> list[str]:
    """Create the missing dashboard indexes; returns the names it could not create."""
    failed = []
    for name, (table, columns) in INDEXES.items():
        ddl = f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(columns)})"
        try:
            with store.engine.begin() as conn:
                conn.execute(text(ddl))
        except SQLAlchemyError as exc:
            failed.append(name)
            log.warning("cannot create index %s (pages stay correct, only slower): %s", name, exc)
    if store.engine.dialect.name == "sqlite" and len(failed) < len(INDEXES):
        # Fresh statistics let SQLite's planner prefer the composite indexes.
        try:
            with store.engine.begin() as conn:
                conn.execute(text("PRAGMA optimize"))
        except SQLAlchemyError:
            pass
    return failed
