"""Readers: every format, and every kind of bad input counted with file:line (or strict errors)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from pingce.core.errors import DataError
from pingce.data.document import Document
from pingce.data.io.fields import rebuild_record
from pingce.data.io.readers import InputProblem, InputSpec, read_all
from pingce.data.io.writers import OutputSpec, ShardWriter


def _split(items):
    items = list(items)
    docs = [x for x in items if isinstance(x, Document)]
    probs = [x for x in items if isinstance(x, InputProblem)]
    return docs, probs


def test_bad_inputs_are_counted_with_file_and_line(tmp_path: Path) -> None:
    good = tmp_path / "a.jsonl"
    good.write_bytes(
        b'{"id": 1, "text": "hello"}\n'
        b"not json\n"
        b'{"id": 3}\n'
        b'{"id": 4, "text": "caf\xe9"}\n'
        b"[1, 2]\n"
        b'{"id": 6, "text": "last"}\n'
    )
    (tmp_path / "b.jsonl").write_bytes(b"")
    corrupt = tmp_path / "c.jsonl.gz"
    blob = gzip.compress(b"".join(b'{"text": "line %d"}\n' % i for i in range(200)))
    corrupt.write_bytes(blob[: len(blob) // 2])  # truncated gzip stream
    docs, probs = _split(read_all(InputSpec(path=str(tmp_path))))
    assert [d.id for d in docs[:2]] == ["1", "6"]
    where = {(Path(p.file).name, p.line, p.kind) for p in probs}
    assert ("a.jsonl", 2, "invalid_json") in where
    assert ("a.jsonl", 3, "missing_field") in where
    assert ("a.jsonl", 4, "not_utf8") in where
    assert ("a.jsonl", 5, "not_object") in where
    assert ("b.jsonl", 0, "empty_file") in where
    assert any(p.kind == "corrupt_stream" and Path(p.file).name == "c.jsonl.gz" for p in probs)
    # The part of the gzip stream before the damage is still read.
    assert sum(1 for d in docs if d.source.startswith(str(corrupt))) > 0


def test_strict_mode_stops_with_one_line(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_text('{"text": "ok"}\n{"text": \n', encoding="utf-8")
    with pytest.raises(DataError) as err:
        list(read_all(InputSpec(path=str(f), strict=True)))
    assert f"{f}:2: invalid JSON" in err.value.one_line()
    assert "\n" not in err.value.one_line()


def test_formats_parquet_csv_text_zst(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import zstandard

    pq.write_table(
        pa.Table.from_pylist([{"id": "p1", "text": "parquet row"}]), tmp_path / "x.parquet"
    )
    (tmp_path / "y.csv").write_text('id,text\nc1,"csv, with comma"\n', encoding="utf-8")
    with zstandard.open(tmp_path / "z.jsonl.zst", "wb") as fh:
        fh.write(b'{"id": "z1", "text": "zstd row"}\n')
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "doc.txt").write_text("a text file", encoding="utf-8")
    docs, probs = _split(read_all(InputSpec(path=str(tmp_path))))
    assert not probs
    assert sorted(d.text for d in docs) == [
        "a text file",
        "csv, with comma",
        "parquet row",
        "zstd row",
    ]


def test_instruction_and_messages_round_trip(tmp_path: Path) -> None:
    f = tmp_path / "sft.jsonl"
    rows = [{"id": "i1", "instruction": "Add", "input": "1+1", "output": "2", "src": "x"}]
    f.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    spec = InputSpec(path=str(f), prompt_field=["instruction", "input"], response_field="output")
    (doc,) = list(read_all(spec))
    assert doc.parts == [("prompt", "Add\n1+1"), ("response", "2")]
    rec = rebuild_record(doc.id, doc.parts, doc.record, spec)
    assert rec["output"] == "2" and rec["src"] == "x"

    m = tmp_path / "chat.jsonl"
    chat = {
        "id": "m1",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello", "w": 1},
        ],
    }
    m.write_text(json.dumps(chat), encoding="utf-8")
    mspec = InputSpec(path=str(m), messages_field="messages")
    (doc,) = list(read_all(mspec))
    assert doc.text == "hi\n\nhello"
    w = ShardWriter(
        OutputSpec(path=str(tmp_path / "o"), format="jsonl", annotations_field=None),
        mspec,
        tmp_path / "o",
        0,
    )
    w.write(doc)
    (path,) = w.close()
    assert json.loads(path.read_text(encoding="utf-8")) == chat


def test_writer_shards_parts_atomically(tmp_path: Path) -> None:
    spec = OutputSpec(path=str(tmp_path), format="jsonl.gz", max_docs_per_file=2)
    w = ShardWriter(spec, InputSpec(path="-"), tmp_path, 3)
    for i in range(5):
        w.write(Document(id=str(i), parts=[("text", f"t{i}")]))
    assert not list(tmp_path.glob("*.gz"))  # nothing final before close
    paths = w.close()
    assert [p.name for p in paths] == [
        "part-00003-000.jsonl.gz",
        "part-00003-001.jsonl.gz",
        "part-00003-002.jsonl.gz",
    ]
    assert sum(len(gzip.decompress(p.read_bytes()).splitlines()) for p in paths) == 5


def test_hf_datasets_saved_folder_with_splits(tmp_path: Path) -> None:
    """format: hf reads a folder written by datasets' save_to_disk (a DatasetDict here).

    Reference: the rows written by the test; splits are read in name order.
    """
    datasets = pytest.importorskip("datasets")
    dd = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list(
                [{"id": "t1", "text": "first train row"}, {"id": "t2", "text": "second"}]
            ),
            "test": datasets.Dataset.from_list([{"id": "e1", "text": "a test row"}]),
        }
    )
    dd.save_to_disk(str(tmp_path / "saved"))
    docs, probs = _split(read_all(InputSpec(path=str(tmp_path / "saved"), format="hf")))
    assert not probs
    assert [(d.id, d.text) for d in docs] == [
        ("e1", "a test row"),
        ("t1", "first train row"),
        ("t2", "second"),
    ]
    with pytest.raises(DataError, match="not a folder saved by datasets' save_to_disk"):
        list(read_all(InputSpec(path=str(tmp_path / "missing"), format="hf")))
