"""Streaming readers: every input line becomes a Document or an InputProblem (never dropped).

Formats: JSONL (plain, .gz, .zst), Parquet, CSV/TSV, folders of .txt/.md files, and datasets
saved with Hugging Face `save_to_disk`. A corrupt gzip/zstd stream, a line that is not JSON or
not UTF-8, a record without the text field and an empty file each yield an `InputProblem`
naming the file and line; in strict mode the first one raises a one-line `DataError` instead.
"""

from __future__ import annotations

import csv
import glob
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from pydantic import ConfigDict

from pingce.core.errors import DataError
from pingce.data.document import Document
from pingce.data.io.fields import FieldSpec, extract_parts

Format = Literal["auto", "jsonl", "parquet", "csv", "tsv", "text", "hf"]
TEXT_SUFFIXES = {".txt", ".md", ".text"}


class InputSpec(FieldSpec):
    """The `input:` block of a pipeline: where the data is and how to read it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    format: Format = "auto"
    strict: bool = False
    encoding_errors: Literal["skip", "replace"] = "skip"
    files_per_shard: int = 1000  # text folders: files grouped into one shard


@dataclass(frozen=True)
class InputProblem:
    """A line that could not become a document, with where and why."""

    file: str
    line: int  # 1-based; 0 for whole-file problems (empty file, unreadable)
    reason: str
    kind: str = "malformed"  # invalid_json, not_utf8, missing_field, corrupt_stream, empty_file...

    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Shard:
    """A unit of parallel work: one input file, or a group of text files."""

    index: int
    paths: tuple[str, ...]
    format: str

    @property
    def label(self) -> str:
        return (
            self.paths[0] if len(self.paths) == 1 else f"{self.paths[0]} (+{len(self.paths) - 1})"
        )


def detect_format(path: str) -> str:
    name = path.lower()
    for suffix in (".gz", ".zst", ".zstd"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".tsv"):
        return "tsv"
    if Path(name).suffix in TEXT_SUFFIXES:
        return "text"
    raise DataError(
        f"{path}: cannot tell the format from the file name",
        hint="use .jsonl[.gz|.zst], .parquet, .csv, .tsv, .txt, or set input.format",
    )


# A folder written by `pingce data process` also holds these; they are not data.
PIPELINE_FILES = {"stats.json", "_pipeline.json"}
PIPELINE_DIRS = {"audit", ".pingce-work"}


def _skipped(rel: Path) -> bool:
    return (
        rel.name.startswith(".")
        or rel.name in PIPELINE_FILES
        or rel.name.endswith(".tmp")
        or (len(rel.parts) > 1 and rel.parts[0] in PIPELINE_DIRS)
    )


def list_shards(spec: InputSpec, base_dir: Path | None = None) -> list[Shard]:
    """The input's shards in a stable (sorted) order."""
    raw = Path(spec.path).expanduser()
    if not raw.is_absolute() and base_dir is not None:
        raw = base_dir / raw
    pattern = str(raw)
    if spec.format == "hf":
        if not raw.is_dir():
            raise DataError(f"{raw}: not a folder saved by datasets' save_to_disk")
        return [Shard(0, (str(raw),), "hf")]
    if any(ch in pattern for ch in "*?["):
        paths = sorted(p for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
    elif raw.is_dir():
        paths = sorted(
            str(p) for p in raw.rglob("*") if p.is_file() and not _skipped(p.relative_to(raw))
        )
    elif raw.is_file():
        paths = [str(raw)]
    else:
        raise DataError(f"input {spec.path!r} does not exist", hint="check input.path")
    if not paths:
        raise DataError(f"input {spec.path!r} matches no files")
    text_files = [p for p in paths if spec.format == "text" or Path(p).suffix in TEXT_SUFFIXES]
    other = [p for p in paths if p not in set(text_files)]
    shards: list[Shard] = []
    for p in other:
        fmt = spec.format if spec.format != "auto" else detect_format(p)
        shards.append(Shard(len(shards), (p,), fmt))
    step = max(1, spec.files_per_shard)
    for start in range(0, len(text_files), step):
        shards.append(Shard(len(shards), tuple(text_files[start : start + step]), "text"))
    return shards


def _open_binary(path: str) -> BinaryIO:
    lower = path.lower()
    if lower.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if lower.endswith((".zst", ".zstd")):
        import zstandard

        # The decompression reader has no readline; a buffered wrapper gives line iteration.
        return io.BufferedReader(zstandard.open(path, "rb"))  # type: ignore[arg-type]
    return open(path, "rb")


def _stream_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [gzip.BadGzipFile, EOFError, zlib.error, OSError]
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:  # pragma: no cover - zstandard is in the data extra
        pass
    return tuple(errors)


class _Reader:
    def __init__(self, spec: InputSpec) -> None:
        self.spec = spec

    def problem(self, file: str, line: int, reason: str, kind: str) -> InputProblem:
        p = InputProblem(file, line, reason, kind)
        if self.spec.strict:
            raise DataError(f"{p.where()}: {reason}", hint="fix the input or drop strict: true")
        return p

    def make_doc(self, rec: Any, file: str, line: int, stem: str) -> Document | InputProblem:
        if not isinstance(rec, dict):
            return self.problem(
                file, line, f"expected a JSON object, got {type(rec).__name__}", "not_object"
            )
        parts, error = extract_parts(rec, self.spec)
        if error:
            kind = "missing_field" if error.startswith("missing") else "bad_field"
            return self.problem(file, line, error, kind)
        id_field = self.spec.id_field
        doc_id = rec.get(id_field) if id_field else None
        doc_id = str(doc_id) if doc_id is not None else f"{stem}:{line}"
        text_fields = set(self.spec.text_fields())
        record = {k: v for k, v in rec.items() if k not in text_fields and k != id_field}
        if self.spec.kind == "messages":
            record["_messages_roles"] = [
                {k: v for k, v in m.items() if k != "content"}
                for m in rec[str(self.spec.messages_field)]
            ]
        return Document(id=doc_id, parts=parts, record=record, source=f"{file}:{line}")

    def decode(self, raw: bytes, file: str, line: int) -> str | InputProblem:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if self.spec.encoding_errors == "replace":
                return raw.decode("utf-8", errors="replace")
            return self.problem(
                file,
                line,
                f"not UTF-8 (byte {exc.start}: {raw[exc.start : exc.start + 1]!r})",
                "not_utf8",
            )

    # ---------------------------------------------------------------- formats
    def jsonl(self, path: str) -> Iterator[Document | InputProblem]:
        stem = Path(path).name
        line = 0
        seen_any = False
        try:
            with _open_binary(path) as fh:
                for raw in fh:
                    line += 1
                    seen_any = True
                    if not raw.strip():
                        continue
                    text = self.decode(raw, path, line)
                    if isinstance(text, InputProblem):
                        yield text
                        continue
                    try:
                        rec = json.loads(text)
                    except json.JSONDecodeError as exc:
                        yield self.problem(
                            path,
                            line,
                            f"invalid JSON ({exc.msg} at column {exc.colno})",
                            "invalid_json",
                        )
                        continue
                    yield self.make_doc(rec, path, line, stem)
        except _stream_errors() as exc:
            yield self.problem(
                path, line + 1, f"corrupt or truncated compressed stream ({exc})", "corrupt_stream"
            )
            return
        if not seen_any:
            yield self.problem(path, 0, "empty file", "empty_file")

    def parquet(self, path: str) -> Iterator[Document | InputProblem]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        stem = Path(path).name
        try:
            pf = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            yield self.problem(path, 0, f"not a readable Parquet file ({exc})", "corrupt_stream")
            return
        row = 0
        try:
            for batch in pf.iter_batches(batch_size=1024):
                for rec in batch.to_pylist():
                    row += 1
                    yield self.make_doc(rec, path, row, stem)
        except (pa.ArrowInvalid, OSError) as exc:
            yield self.problem(path, row + 1, f"corrupt Parquet data ({exc})", "corrupt_stream")
        if row == 0:
            yield self.problem(path, 0, "empty file", "empty_file")

    def csv(self, path: str, delimiter: str) -> Iterator[Document | InputProblem]:
        stem = Path(path).name
        csv.field_size_limit(1 << 30)
        with _open_binary(path) as fh:
            stream = io.TextIOWrapper(fh, encoding="utf-8", errors="strict", newline="")
            reader = csv.DictReader(stream, delimiter=delimiter)
            n = 0
            try:
                for rec in reader:
                    n += 1
                    yield self.make_doc(rec, path, reader.line_num, stem)
            except UnicodeDecodeError:
                yield self.problem(
                    path,
                    reader.line_num + 1,
                    "not UTF-8; the rest of the file is skipped",
                    "not_utf8",
                )
            except csv.Error as exc:
                yield self.problem(path, reader.line_num, f"malformed CSV ({exc})", "malformed_csv")
            if n == 0:
                yield self.problem(path, 0, "empty file (no header or no rows)", "empty_file")

    def text_files(self, paths: tuple[str, ...]) -> Iterator[Document | InputProblem]:
        for path in paths:
            raw = Path(path).read_bytes()
            if not raw.strip():
                yield self.problem(path, 0, "empty file", "empty_file")
                continue
            text = self.decode(raw, path, 1)
            if isinstance(text, InputProblem):
                yield text
                continue
            yield Document(id=path, parts=[("text", text)], source=f"{path}:1")

    def hf(self, path: str) -> Iterator[Document | InputProblem]:
        try:
            from datasets import load_from_disk
        except ImportError:
            raise DataError(
                "input.format hf needs the `datasets` package", hint="pip install 'pingce[llm]'"
            ) from None
        ds = load_from_disk(path)
        # A DatasetDict: read its splits in name order.
        splits = [ds[k] for k in sorted(ds.keys())] if hasattr(ds, "keys") else [ds]
        row = 0
        for split in splits:
            for rec in split:
                row += 1
                yield self.make_doc(rec, path, row, Path(path).name)


def read_shard(shard: Shard, spec: InputSpec) -> Iterator[Document | InputProblem]:
    """Every document and problem of one shard, in file order."""
    reader = _Reader(spec)
    if shard.format == "text":
        yield from reader.text_files(shard.paths)
        return
    path = shard.paths[0]
    if shard.format == "jsonl":
        yield from reader.jsonl(path)
    elif shard.format == "parquet":
        yield from reader.parquet(path)
    elif shard.format in ("csv", "tsv"):
        yield from reader.csv(path, "," if shard.format == "csv" else "\t")
    elif shard.format == "hf":
        yield from reader.hf(path)
    else:  # pragma: no cover - formats are validated by InputSpec
        raise DataError(f"unknown input format {shard.format!r}")


def read_all(spec: InputSpec, base_dir: Path | None = None) -> Iterator[Document | InputProblem]:
    for shard in list_shards(spec, base_dir):
        yield from read_shard(shard, spec)


def problem_dict(p: InputProblem) -> dict[str, Any]:
    return {"file": p.file, "line": p.line, "kind": p.kind, "reason": p.reason}
