"""Tamper evidence for finished runs: a digest of the records and summary, checked on every read.

When a run completes, `seal_run` stores a SHA-256 digest over every record (sorted by task and
record key; identifying columns as canonical JSON, scores and data as the JSON text the store
holds) and over a canonical serialisation of the summary saved with the run (the
scores `pingce list runs` and the dashboard's runs list show). `verify_run` recomputes it
from what the store holds now:

- ``verified``: records and summary are what the run completed with;
- ``modified``: something changed after completion (which task, or the summary, is named);
- ``unsigned``: no digest to check against (the run is not completed, or it completed
  before pingce stored digests).

The digest is not a signature: whoever can write the store and knows this scheme can
recompute it. It makes an edit that does not also recompute the digest (a record rewritten
with `sqlite3`, a score changed by hand, a program that reached the store) visible. See
docs/design/integrity.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, cast, delete, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from pingce.core.store import RecordRow, RunRow, RunSealRow, Store, _encode_nonfinite

ALGORITHM = "sha256/stored-json/v1"
VERIFIED, MODIFIED, UNSIGNED = "verified", "modified", "unsigned"


def canonical(value: Any) -> bytes:
    """One byte string per JSON value, whatever the backend returned: sorted keys, no
    spaces, ASCII escapes (lone surrogates included), non-finite floats tagged."""
    return json.dumps(
        _encode_nonfinite(_plain(value)),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=False,
        default=str,
    ).encode("ascii")


def _plain(value: Any) -> Any:
    """numpy scalars and arrays (a freshly computed summary may hold them) as Python values,
    so they serialise like the same numbers read back from the store."""
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Integrity:
    """What the verification of one run found."""

    status: str  # verified | modified | unsigned
    digest: str | None  # the digest stored when the run completed
    detail: str

    @property
    def modified(self) -> bool:
        return self.status == MODIFIED

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "digest": self.digest, "detail": self.detail}

    def warning(self, run_id: str) -> str | None:
        """One line for stderr when the run was modified, else None."""
        if not self.modified:
            return None
        return f"run {run_id} was modified after it completed: {self.detail}"


def _record_bytes(
    task: str, key: str, sample_id: str, position: int, scores: str, data: str
) -> bytes:
    """One record: its identifying columns as canonical JSON, then its scores and data as the
    JSON text the store holds, each part length-prefixed so no two records read alike."""
    parts = (
        canonical([task, key, sample_id, position]),
        *(
            (v if isinstance(v, str) else json.dumps(v)).encode("utf-8", "surrogatepass")
            for v in (scores, data)
        ),
    )
    return b"".join(len(p).to_bytes(8, "big") + p for p in parts)


def _record_rows(store: Store, run_id: str) -> list[tuple[Any, ...]]:
    """The run's records with scores and data as stored JSON text (not decoded: decoding and
    re-encoding every record would double the cost of a check)."""
    query = select(
        RecordRow.task,
        RecordRow.key,
        RecordRow.sample_id,
        RecordRow.position,
        cast(RecordRow.scores, Text),
        cast(RecordRow.data, Text),
    ).where(RecordRow.run_id == run_id)
    with store.session() as s:
        rows = [tuple(r) for r in s.execute(query).all()]
    # Sorted here, not by the database: SQLite and PostgreSQL collate text differently.
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


def compute_seal(records: Iterable[Sequence[Any]], results: Any) -> dict[str, Any]:
    """The seal of records (task, key, sample_id, position, scores JSON text, data JSON
    text), sorted by (task, key), and of the run's saved summary `results` (canonical JSON)."""
    tasks: dict[str, Any] = {}
    count = 0
    for task, *rest in records:
        h = tasks.get(task)
        if h is None:
            h = tasks[task] = hashlib.sha256()
        part = _record_bytes(task, *rest)
        h.update(len(part).to_bytes(8, "big") + part)
        count += 1
    task_digests = {t: h.hexdigest() for t, h in tasks.items()}
    summary = _sha(canonical(results))
    body = {"algorithm": ALGORITHM, "records": count, "tasks": task_digests, "summary": summary}
    return {**body, "digest": _sha(canonical(body))}


def current_seal(store: Store, row: RunRow) -> dict[str, Any]:
    """The seal of what the store holds for the run now."""
    return compute_seal(_record_rows(store, row.id), row.results)


def seal_run(store: Store, run_id: str) -> dict[str, Any]:
    """Store the digest of a run that has just completed (replacing any earlier one)."""
    row = store.get_run(run_id)
    seal = current_seal(store, row)
    with store.session() as s, s.begin():
        s.execute(delete(RunSealRow).where(RunSealRow.run_id == run_id))
        s.add(RunSealRow(run_id=run_id, seal=seal, created_at=datetime.now(UTC)))
    return seal


def unseal_run(store: Store, run_id: str) -> None:
    """Drop a run's digest before it is resumed (its records will legitimately change)."""
    if _has_seal_table(store):
        with store.session() as s, s.begin():
            s.execute(delete(RunSealRow).where(RunSealRow.run_id == run_id))


def _has_seal_table(store: Store) -> bool:
    known = getattr(store, "_has_seal_table", None)
    if known:
        return True
    try:
        found = inspect(store.engine).has_table(RunSealRow.__tablename__)
    except SQLAlchemyError:
        found = False
    if found:
        store._has_seal_table = True  # type: ignore[attr-defined]
    return found


def stored_seals(store: Store, run_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored seals of these runs (runs without one are absent)."""
    if not run_ids or not _has_seal_table(store):
        return {}
    with store.session() as s:
        rows = s.execute(
            select(RunSealRow.run_id, RunSealRow.seal).where(RunSealRow.run_id.in_(list(run_ids)))
        ).all()
    return {rid: seal for rid, seal in rows if isinstance(seal, dict)}


def compare_seals(stored: dict[str, Any], now: dict[str, Any]) -> Integrity:
    """`verified` when they agree; else `modified`, naming what differs."""
    digest = stored.get("digest") if isinstance(stored.get("digest"), str) else None
    if stored.get("algorithm") != ALGORITHM:
        return Integrity(
            UNSIGNED, digest, f"digest algorithm {stored.get('algorithm')!r} is not known"
        )
    if (
        digest == now["digest"]
        and _sha(canonical({k: v for k, v in stored.items() if k != "digest"})) == digest
    ):
        return Integrity(
            VERIFIED,
            digest,
            f"{now['records']} records and the summary match the digest stored at completion",
        )
    problems = []
    old_tasks = stored.get("tasks") if isinstance(stored.get("tasks"), dict) else {}
    changed = sorted(
        t for t in set(old_tasks) | set(now["tasks"]) if old_tasks.get(t) != now["tasks"].get(t)
    )
    if stored.get("records") != now["records"]:
        problems.append(f"{now['records']} records stored, {stored.get('records')} at completion")
    if changed:
        shown = ", ".join(changed[:5]) + (
            f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        )
        problems.append(f"records of task {shown} changed")
    if stored.get("summary") != now["summary"]:
        problems.append("the saved summary (scores) changed")
    if not problems:
        problems.append("the stored digest itself was altered")
    return Integrity(MODIFIED, digest, "; ".join(problems))


NO_DIGEST = (
    "no digest was stored for this run (it completed before pingce stored digests, "
    "or the digest was removed)"
)


def verify_run(store: Store, row: RunRow) -> Integrity:
    """Check a run against the digest stored when it completed."""
    return verify_runs(store, [row])[row.id]


def verify_runs(store: Store, rows: Sequence[Any]) -> dict[str, Integrity]:
    """Check several runs (objects with `id` and `status`, e.g. RunRow or the runs list's
    items) against their stored digests; the summary is read from the store."""
    seals = stored_seals(store, [r.id for r in rows if r.status == "completed"])
    results: dict[str, Any] = {}
    if seals:
        with store.session() as s:
            results = dict(
                s.execute(select(RunRow.id, RunRow.results).where(RunRow.id.in_(list(seals)))).all()
            )
    out: dict[str, Integrity] = {}
    for r in rows:
        seal = seals.get(r.id)
        if r.status != "completed":
            out[r.id] = Integrity(
                UNSIGNED, None, f"the run is {r.status}; a digest is stored when it completes"
            )
        elif seal is None:
            out[r.id] = Integrity(UNSIGNED, None, NO_DIGEST)
        else:
            now = compute_seal(_record_rows(store, r.id), results.get(r.id))
            out[r.id] = compare_seals(seal, now)
    return out


def summary_disagreement(stored: Any, recomputed: dict[str, Any]) -> str | None:
    """Where the summary saved at completion and the one recomputed from the records give
    different scores (overall or a task's metric), or None when they agree."""
    if not isinstance(stored, dict):
        return None
    old_overall = (
        (stored.get("overall") or {}).get("score")
        if isinstance(stored.get("overall"), dict)
        else None
    )
    new_overall = (recomputed.get("overall") or {}).get("score")
    if canonical(old_overall) != canonical(new_overall):
        return f"the saved overall score {old_overall} differs from {new_overall} recomputed from the records"
    old_tasks = {t.get("id"): t for t in stored.get("tasks") or [] if isinstance(t, dict)}
    for task in recomputed.get("tasks") or []:
        old = old_tasks.get(task.get("id"))
        if old is None:
            continue
        for name, metric in (task.get("metrics") or {}).items():
            old_metric = (old.get("metrics") or {}).get(name)
            if isinstance(old_metric, dict) and canonical(old_metric.get("value")) != canonical(
                metric.get("value")
            ):
                return (
                    f"task {task.get('id')} {name}: the saved value {old_metric.get('value')} "
                    f"differs from {metric.get('value')} recomputed from the records"
                )
    return None
