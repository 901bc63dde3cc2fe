"""Export every per-item record of a run (any standard) as JSON Lines, CSV or Parquet.

Reports keep a sample of the records (e.g. the first 100 per LLM task); `pingce export RUN
--records` writes all of them. Records are streamed from the store in batches, so memory stays
flat however large the run; the file is written to a temporary name beside the target and
renamed into place only when complete, and an existing file is never replaced unless the
caller says so (`overwrite`).

Columns (CSV and Parquet; JSON Lines keeps `scores` and `data` as nested objects):
`run_id, task, sample_id, position, key, created_at`, one `score.<name>` column per score
whose value is a number or boolean in every record that has it (empty where a record lacks
it), then `scores` and `data` as JSON text.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pingce.core.errors import ReportError

FORMATS = ("jsonl", "csv", "parquet")
BATCH = 1000


def _clean(text: str) -> str:
    """Store contents are untrusted: lone surrogates cannot be written as UTF-8."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _dumps(value: Any) -> str:
    return _clean(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))


def _rows(store: Any, run_id: str) -> Iterator[Any]:
    from sqlalchemy import select

    from pingce.core.store import RecordRow

    query = (
        select(RecordRow)
        .where(RecordRow.run_id == run_id)
        .order_by(RecordRow.task, RecordRow.position, RecordRow.id)
        .execution_options(yield_per=BATCH)
    )
    with store.session() as s:
        yield from s.scalars(query)


def _scalar_scores(store: Any, run_id: str) -> list[str]:
    """Score names whose every value is a number or boolean (a first, light pass)."""
    from sqlalchemy import select

    from pingce.core.store import RecordRow

    ok: dict[str, bool] = {}
    query = (
        select(RecordRow.scores)
        .where(RecordRow.run_id == run_id)
        .execution_options(yield_per=BATCH)
    )
    with store.session() as s:
        for scores in s.scalars(query):
            for name, value in (scores or {}).items():
                scalar = isinstance(value, int | float | bool)
                ok[name] = ok.get(name, True) and scalar
    return sorted(name for name, good in ok.items() if good)


def _flat(row: Any, run_id: str, score_names: list[str]) -> dict[str, Any]:
    scores = row.scores or {}
    flat: dict[str, Any] = {
        "run_id": run_id,
        "task": _clean(row.task),
        "sample_id": _clean(row.sample_id),
        "position": row.position,
        "key": row.key,
        "created_at": row.created_at.isoformat() if row.created_at else None,
    }
    for name in score_names:
        value = scores.get(name)
        flat[f"score.{name}"] = float(value) if isinstance(value, int | float) else None
    flat["scores"] = _dumps(scores)
    flat["data"] = _dumps(row.data or {})
    return flat


def export_records(
    store: Any, run_id: str, out: Path, fmt: str = "jsonl", *, overwrite: bool = False
) -> int:
    """Write every record of run `run_id` to `out` in `fmt`; returns the number written."""
    if fmt not in FORMATS:
        raise ReportError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if out.is_dir():
        raise ReportError(f"--output {out} is a folder; expected a file path")
    if not out.parent.is_dir():
        raise ReportError(f"--output {out}: the folder {out.parent} does not exist")
    if out.exists() and not overwrite:
        raise ReportError(
            f"--output {out} already exists", hint="choose another path or pass --overwrite"
        )
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ReportError(
                "--format parquet needs pyarrow", hint="pip install pyarrow, or use jsonl/csv"
            ) from None
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    try:
        if fmt == "jsonl":
            n = _write_jsonl(store, run_id, tmp)
        else:
            names = _scalar_scores(store, run_id)
            writer = _write_csv if fmt == "csv" else _write_parquet
            n = writer(store, run_id, tmp, names)
        os.replace(tmp, out)
    except OSError as exc:
        raise ReportError(f"--output {out}: cannot write the file: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return n


def _write_jsonl(store: Any, run_id: str, path: Path) -> int:
    n = 0
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in _rows(store, run_id):
            record = {
                "run_id": run_id,
                "task": row.task,
                "sample_id": row.sample_id,
                "position": row.position,
                "key": row.key,
                "created_at": row.created_at.isoformat() if row.created_at else None,
                "scores": row.scores or {},
                "data": row.data or {},
            }
            fh.write(_dumps(record) + "\n")
            n += 1
    return n


def _write_csv(store: Any, run_id: str, path: Path, names: list[str]) -> int:
    columns = _columns(names)
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in _rows(store, run_id):
            writer.writerow(_flat(row, run_id, names))
            n += 1
    return n


def _columns(names: list[str]) -> list[str]:
    return [
        "run_id",
        "task",
        "sample_id",
        "position",
        "key",
        "created_at",
        *(f"score.{name}" for name in names),
        "scores",
        "data",
    ]


def _write_parquet(store: Any, run_id: str, path: Path, names: list[str]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = [
        pa.field("run_id", pa.string()),
        pa.field("task", pa.string()),
        pa.field("sample_id", pa.string()),
        pa.field("position", pa.int64()),
        pa.field("key", pa.string()),
        pa.field("created_at", pa.string()),
        *(pa.field(f"score.{name}", pa.float64()) for name in names),
        pa.field("scores", pa.string()),
        pa.field("data", pa.string()),
    ]
    schema = pa.schema(fields)
    n = 0
    batch: list[dict[str, Any]] = []
    with pq.ParquetWriter(str(path), schema) as writer:
        for row in _rows(store, run_id):
            batch.append(_flat(row, run_id, names))
            if len(batch) >= BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                n += len(batch)
                batch = []
        if batch or n == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            n += len(batch)
    return n
