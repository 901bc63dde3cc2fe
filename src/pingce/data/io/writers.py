"""Sharded, atomic writers: JSONL (plain, .gz, .zst) and Parquet.

A writer writes one input shard's documents to `PREFIX-SSSSS-PPP.EXT` parts of at most
`max_docs_per_file` documents. Parts are written under a `.tmp` name and renamed only when the
whole shard is done, so a crashed run leaves no half-written part that looks finished.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any, BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, Field

from pingce.data.document import Document
from pingce.data.io.fields import FieldSpec, rebuild_record

OutFormat = Literal["jsonl", "jsonl.gz", "jsonl.zst", "parquet"]


class OutputSpec(BaseModel):
    """The `output:` block of a pipeline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    format: OutFormat = "jsonl.zst"
    prefix: str = "part"
    max_docs_per_file: int = Field(default=100_000, ge=1)
    annotations_field: str | None = "pingce"  # operator annotations (language, cluster id, ...)


def open_out(path: Path) -> BinaryIO:
    name = path.name.removesuffix(".tmp")
    if name.endswith(".gz"):
        return gzip.open(path, "wb", compresslevel=6)  # type: ignore[return-value]
    if name.endswith(".zst"):
        import zstandard

        return zstandard.open(path, "wb", cctx=zstandard.ZstdCompressor(level=3))  # type: ignore[return-value]
    return open(path, "wb")


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write rows atomically (tmp file + rename); compression from the suffix."""
    tmp = path.with_name(path.name + ".tmp")
    with open_out(tmp) as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
    os.replace(tmp, path)


class ShardWriter:
    def __init__(self, spec: OutputSpec, fields: FieldSpec, out_dir: Path, shard: int) -> None:
        self.spec = spec
        self.fields = fields
        self.out_dir = out_dir
        self.shard = shard
        self.part = 0
        self.count = 0
        self.tmp_paths: list[Path] = []
        self._fh: BinaryIO | None = None
        self._rows: list[dict[str, Any]] = []
        out_dir.mkdir(parents=True, exist_ok=True)

    def _name(self, part: int) -> Path:
        return self.out_dir / f"{self.spec.prefix}-{self.shard:05d}-{part:03d}.{self.spec.format}"

    def row(self, doc: Document) -> dict[str, Any]:
        rec = rebuild_record(doc.id, doc.parts, doc.record, self.fields)
        if self.spec.annotations_field and doc.meta:
            rec[self.spec.annotations_field] = doc.meta
        return rec

    def write(self, doc: Document) -> None:
        if self.count and self.count % self.spec.max_docs_per_file == 0:
            self._close_part()
            self.part += 1
        rec = self.row(doc)
        if self.spec.format == "parquet":
            self._rows.append(rec)
        else:
            if self._fh is None:
                tmp = self._name(self.part).with_suffix(self._name(self.part).suffix + ".tmp")
                self.tmp_paths.append(tmp)
                self._fh = open_out(tmp)
            self._fh.write(json.dumps(rec, ensure_ascii=False).encode("utf-8") + b"\n")
        self.count += 1

    def _close_part(self) -> None:
        if self.spec.format == "parquet":
            if self._rows:
                import pyarrow as pa
                import pyarrow.parquet as pq

                tmp = self._name(self.part).with_suffix(".parquet.tmp")
                pq.write_table(pa.Table.from_pylist(self._rows), tmp)
                self.tmp_paths.append(tmp)
                self._rows = []
        elif self._fh is not None:
            self._fh.close()
            self._fh = None

    def close(self) -> list[Path]:
        """Finish the shard: every part is renamed to its final name."""
        self._close_part()
        final = []
        for tmp in self.tmp_paths:
            dest = tmp.with_name(tmp.name.removesuffix(".tmp"))
            os.replace(tmp, dest)
            final.append(dest)
        return final


def remove_shard_outputs(out_dir: Path, prefix: str, shard: int) -> None:
    """Delete what an interrupted attempt at this shard left behind."""
    for p in out_dir.glob(f"{prefix}-{shard:05d}-*"):
        p.unlink()
