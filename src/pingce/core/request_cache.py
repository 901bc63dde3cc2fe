"""Request-level cache in the results store: finished model requests, reusable by any run.

A record is keyed by its work unit; a unit may need many requests (one per choice, one per
judge, one per window), and a served model answers them one by one. This table keeps each
finished request's parsed answer under

    sha256(subject fingerprint, endpoint, request body, repeat index)

where the body holds the prompt and every sampling parameter and the seed, and the repeat
index tells apart identical sampled requests (the n-th identical sampled request of a batch
is repeat n), so sampled answers are cached per repeat and never shared between repeats.
Nothing about how requests are sent (concurrency, executor, timeouts, rate limits) is in the
key, so a rerun with other settings reuses every finished request.

The table lives on the same engine as runs and records (`pingce.core.store.Base`); it is
created when a `RequestCache` is opened, whether or not this module was imported before the
store, so older stores gain it on first use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String, select
from sqlalchemy.orm import Mapped, mapped_column

from pingce.core.fingerprint import content_hash
from pingce.core.store import Base, Store

# SQLite limits bound parameters per statement; stay far below it.
_IN_CHUNK = 500


class RequestCacheRow(Base):
    __tablename__ = "request_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(32), index=True)  # hash of the fingerprint
    kind: Mapped[str] = mapped_column(String(32))  # loglikelihood, generation, ...
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def request_key(
    subject_fingerprint: Mapping[str, Any], endpoint: str, body: Mapping[str, Any], repeat: int
) -> str:
    """The cache key of one request (64 hex characters)."""
    return content_hash(dict(subject_fingerprint), endpoint, dict(body), repeat, length=64)


class RequestCache:
    """Reads and writes finished requests of one subject."""

    def __init__(self, store: Store, subject_fingerprint: Mapping[str, Any]) -> None:
        self.store = store
        self.subject = content_hash(dict(subject_fingerprint))
        RequestCacheRow.__table__.create(store.engine, checkfirst=True)  # type: ignore[attr-defined]

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, dict[str, Any]] = {}
        with self.store.session() as s:
            for start in range(0, len(wanted), _IN_CHUNK):
                part = wanted[start : start + _IN_CHUNK]
                rows = s.execute(
                    select(RequestCacheRow.key, RequestCacheRow.response).where(
                        RequestCacheRow.key.in_(part)
                    )
                ).all()
                found.update({k: v for k, v in rows})
        return found

    def put_many(self, kind_by_key: Mapping[str, str], responses: Mapping[str, Any]) -> int:
        """Store finished requests in one transaction; keys already present are kept."""
        if not responses:
            return 0
        now = datetime.now(UTC)
        keys = list(responses)
        added = 0
        with self.store.session() as s, s.begin():
            present: set[str] = set()
            for start in range(0, len(keys), _IN_CHUNK):
                part = keys[start : start + _IN_CHUNK]
                present.update(
                    s.scalars(select(RequestCacheRow.key).where(RequestCacheRow.key.in_(part)))
                )
            for key in keys:
                if key in present:
                    continue
                s.add(
                    RequestCacheRow(
                        key=key,
                        subject=self.subject,
                        kind=kind_by_key.get(key, ""),
                        response=responses[key],
                        created_at=now,
                    )
                )
                added += 1
        return added

    def count(self) -> int:
        from sqlalchemy import func

        with self.store.session() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(RequestCacheRow)
                    .where(RequestCacheRow.subject == self.subject)
                )
                or 0
            )
