"""The results store: runs, records and their aggregates, in SQLAlchemy.

A SQLite file by default (no server needed); any SQLAlchemy URL, PostgreSQL included, through
`--db URL` or the `PINGCE_DB` environment variable. Records are inserted one chunk per
transaction, so a crash or `kill -9` loses at most the chunk in flight and never leaves a
half-written record.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from pingce.core.errors import StoreError

RUN_STATUSES = ("created", "running", "completed", "failed", "interrupted")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    standard: Mapped[str] = mapped_column(String(64), index=True)
    suite: Mapped[str] = mapped_column(String(256), index=True)
    suite_title: Mapped[str] = mapped_column(String(256), default="")
    subject: Mapped[str] = mapped_column(String(1024), index=True)
    subject_fingerprint: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    config_hash: Mapped[str] = mapped_column(String(64))
    environment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), index=True, default="created")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    results: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RecordRow(Base):
    __tablename__ = "records"
    __table_args__ = (UniqueConstraint("run_id", "key", name="uq_record_run_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    task: Mapped[str] = mapped_column(String(128), index=True)
    key: Mapped[str] = mapped_column(String(64))
    sample_id: Mapped[str] = mapped_column(String(256))
    position: Mapped[int] = mapped_column(Integer)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RunSealRow(Base):
    """The digest of a completed run's records and summary (see pingce.core.integrity).

    A table of its own rather than a column of `runs`: stores created before it need no
    migration (it is created with the other tables when missing), and stores opened read-only
    without it simply have no digests (their runs are "unsigned").
    """

    __tablename__ = "run_seals"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    seal: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def default_db_url() -> str:
    """`PINGCE_DB`, else a SQLite file under the user's data folder."""
    env = os.environ.get("PINGCE_DB")
    if env:
        return env
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "pingce"
    return f"sqlite:///{base / 'pingce.db'}"


def _as_url(db: str) -> str:
    """Accept a plain file path as shorthand for a SQLite URL."""
    return db if "://" in db else f"sqlite:///{Path(db).expanduser().resolve()}"


def _safe_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url.split("@", 1)[-1] if "@" in url else url


# JSON has no NaN or infinities: SQLite stores Python's `NaN` token, PostgreSQL rejects it. A
# model can produce them (fp16 overflow, -inf loglikelihoods), so they are stored as a tagged
# object on every backend and read back as the same float.
_NONFINITE_TAG = "$float"


def _encode_nonfinite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return {_NONFINITE_TAG: repr(obj)}  # 'nan', 'inf', '-inf'
    if isinstance(obj, dict):
        return {k: _encode_nonfinite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_encode_nonfinite(v) for v in obj]
    return obj


def _decode_nonfinite(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and obj.get(_NONFINITE_TAG) in {"nan", "inf", "-inf"}:
        return float(obj[_NONFINITE_TAG])
    return obj


def _json_dumps(value: Any) -> str:
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:
        return json.dumps(_encode_nonfinite(value), allow_nan=False)


def _json_loads(text: str | bytes) -> Any:
    return json.loads(text, object_hook=_decode_nonfinite)


class Store:
    """Access to the results database; create one per process with `open_store`."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        """Open (and with `create`, create) the store; read-only commands pass create=False
        so a mistyped path is an error, not a new empty store."""
        self.url = _as_url(url)
        if self.url.startswith("sqlite:///"):
            db_path = Path(self.url.removeprefix("sqlite:///"))
            if not create:
                _check_sqlite_store(db_path)
            try:
                db_path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the store folder {db_path.parent}: {exc}"
                ) from None
        try:
            self.engine = create_engine(
                self.url,
                future=True,
                json_serializer=_json_dumps,
                json_deserializer=_json_loads,
            )
        except (ArgumentError, ImportError, SQLAlchemyError) as exc:
            raise StoreError(
                f"cannot open results store {_safe_url(self.url)!r}: {exc}",
                hint="use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB",
            ) from None
        self.display_url = self.engine.url.render_as_string(hide_password=True)
        if self.engine.dialect.name == "sqlite":
            # A read-only open leaves the journal mode alone: switching an older store to
            # WAL is a lasting change to a file the command only reads.
            event.listen(
                self.engine, "connect", _sqlite_pragmas if create else _sqlite_read_pragmas
            )
        try:
            if create:
                Base.metadata.create_all(self.engine)
            elif not inspect(self.engine).has_table(RunRow.__tablename__):
                raise StoreError(
                    f"{self.display_url} is not a pingce results store (it has no runs table)",
                    hint="check --db or $PINGCE_DB",
                )
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            raise StoreError(f"cannot open results store {self.display_url!r}: {reason}") from None
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self._session()

    # ---- runs -------------------------------------------------------------------------
    def create_run(self, **fields: Any) -> RunRow:
        # Full precision: 'latest' must tell apart runs created within the same second.
        now = datetime.now(UTC)
        row = RunRow(created_at=now, updated_at=now, **fields)
        with self.session() as s, s.begin():
            s.add(row)
        return row

    def get_run(self, run_id: str) -> RunRow:
        """A run by id, by a unique id prefix, or 'latest'."""
        with self.session() as s:
            if run_id == "latest":
                row = s.scalars(select(RunRow).order_by(RunRow.created_at.desc()).limit(1)).first()
            else:
                row = s.get(RunRow, run_id)
                if row is None:
                    matching = RunRow.id.startswith(run_id, autoescape=True)
                    ids = s.scalars(select(RunRow.id).where(matching).order_by(RunRow.id)).all()
                    if len(ids) > 1:
                        shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" * (len(ids) > 5))
                        raise StoreError(
                            f"run id prefix {run_id!r} is ambiguous: {len(ids)} runs match "
                            f"({shown})",
                            hint="give more of the run id",
                        )
                    row = s.get(RunRow, ids[0]) if ids else None
        if row is None:
            raise StoreError(
                f"no run {run_id!r} in {self.display_url}", hint="see `pingce list runs`"
            )
        return row

    def list_runs(self, standard: str | None = None, limit: int = 50) -> list[RunRow]:
        query = select(RunRow).order_by(RunRow.created_at.desc()).limit(limit)
        if standard:
            query = query.where(RunRow.standard == standard)
        with self.session() as s:
            return list(s.scalars(query).all())

    def update_run(self, run_id: str, **fields: Any) -> None:
        with self.session() as s, s.begin():
            row = s.get(RunRow, run_id)
            if row is None:
                raise StoreError(f"no run {run_id!r} in {self.display_url}")
            for name, value in fields.items():
                setattr(row, name, value)
            row.updated_at = utcnow()
            if fields.get("status") in {"completed", "failed", "interrupted"}:
                row.finished_at = row.updated_at

    # ---- records ----------------------------------------------------------------------
    def existing_keys(self, run_id: str, task: str | None = None) -> set[str]:
        query = select(RecordRow.key).where(RecordRow.run_id == run_id)
        if task is not None:
            query = query.where(RecordRow.task == task)
        with self.session() as s:
            return set(s.scalars(query).all())

    def add_records(self, run_id: str, records: Iterable[dict[str, Any]]) -> int:
        """Insert records in ONE transaction; keys already stored for this run are skipped."""
        batch = list(records)
        if not batch:
            return 0
        now = utcnow()
        with self.session() as s, s.begin():
            keys = [r["key"] for r in batch]
            present = set(
                s.scalars(
                    select(RecordRow.key).where(RecordRow.run_id == run_id, RecordRow.key.in_(keys))
                ).all()
            )
            added = 0
            for rec in batch:
                if rec["key"] in present:
                    continue
                present.add(rec["key"])
                s.add(RecordRow(run_id=run_id, created_at=now, **rec))
                added += 1
        return added

    def records(self, run_id: str, task: str | None = None) -> list[RecordRow]:
        query = select(RecordRow).where(RecordRow.run_id == run_id)
        if task is not None:
            query = query.where(RecordRow.task == task)
        with self.session() as s:
            return list(s.scalars(query.order_by(RecordRow.task, RecordRow.position)).all())

    def count_records(self, run_id: str) -> int:
        from sqlalchemy import func

        with self.session() as s:
            return (
                s.scalar(
                    select(func.count()).select_from(RecordRow).where(RecordRow.run_id == run_id)
                )
                or 0
            )

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL keeps readers (reports, dashboards) from blocking the writer during a run.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_read_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # What a reader needs; no journal_mode (a run's store is WAL already, an older one stays).
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _check_sqlite_store(db_path: Path) -> None:
    """A read-only command's SQLite store must exist and be pingce's; checked through a
    read-only connection, so a mistyped path or a foreign database is never written to."""
    if not db_path.is_file():
        raise StoreError(
            f"no store at {db_path}", hint="check --db or $PINGCE_DB; a run creates the store"
        )
    try:
        con = sqlite3.connect(f"file:{quote(str(db_path))}?mode=ro", uri=True)
        try:
            found = con.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                (RunRow.__tablename__,),
            ).fetchone()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open results store {db_path}: {exc}") from None
    if found is None:
        raise StoreError(
            f"{db_path} is not a pingce results store (it has no runs table)",
            hint="check --db or $PINGCE_DB",
        )


def open_store(url: str | None = None, *, create: bool = True) -> Store:
    """The store at `url` (default: `default_db_url()`); `create=False` for read-only use."""
    return Store(url or default_db_url(), create=create)


def records_as_dicts(rows: Sequence[RecordRow]) -> list[dict[str, Any]]:
    return [
        {
            "task": r.task,
            "key": r.key,
            "sample_id": r.sample_id,
            "position": r.position,
            "scores": r.scores,
            "data": r.data,
        }
        for r in rows
    ]


def records_by_task(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Record dicts grouped by task id, each group in sample (position) order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        groups.setdefault(rec["task"], []).append(rec)
    for group in groups.values():
        group.sort(key=lambda r: r["position"])
    return groups
