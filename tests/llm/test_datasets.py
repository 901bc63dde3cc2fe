"""Dataset loaders: the same rows through every format, and the errors a user can make."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from pingce.core.errors import DataError
from pingce.llm.datasets import DatasetSpec, load_rows, load_task_rows

# Strings only, so CSV (which has no types) round-trips them too; the text exercises quoting,
# embedded newlines, commas and non-ASCII.
ROWS: list[dict[str, Any]] = [
    {"id": "a1", "question": "What is 2+3?", "answer": "5"},
    {"id": "a2", "question": "天空是什么颜色？", "answer": "蓝色"},
    {"id": "a3", "question": 'Say "hi", then\na new line', "answer": " spaced "},
]
TYPED: list[dict[str, Any]] = [
    {"id": "t1", "choices": ["x", "y"], "answer": 1, "score": 0.5, "ok": True},
    {"id": "t2", "choices": ["中", "文"], "answer": 0, "score": 1.5, "ok": False},
]


@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep `datasets`' cache inside the test's folder (never ~/.cache/huggingface)."""
    datasets = pytest.importorskip("datasets")
    cache = tmp_path / "hf-datasets-cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    return cache


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_same_rows_from_every_file_format(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", ROWS)
    (tmp_path / "list.json").write_text(json.dumps(ROWS, ensure_ascii=False), "utf-8")
    (tmp_path / "wrapped.json").write_text(
        json.dumps({"version": "1.0", "data": ROWS}, ensure_ascii=False), "utf-8"
    )
    write_csv(tmp_path / "d.csv", ROWS)
    write_parquet(tmp_path / "d.parquet", ROWS)
    for name in ("d.jsonl", "list.json", "wrapped.json", "d.csv", "d.parquet"):
        assert load_rows(name, tmp_path) == ROWS, name
    # Absolute paths ignore base_dir; an explicit format overrides the extension.
    assert load_rows(str(tmp_path / "d.jsonl"), Path("/nonexistent")) == ROWS
    (tmp_path / "data.txt").write_text((tmp_path / "d.jsonl").read_text("utf-8"), "utf-8")
    assert load_rows("data.txt", tmp_path, "jsonl") == ROWS


def test_csv_with_bom_and_blank_jsonl_lines(tmp_path: Path) -> None:
    text = "id,answer\r\nb1,yes\r\n"
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_rows("bom.csv", tmp_path) == [{"id": "b1", "answer": "yes"}]
    (tmp_path / "gaps.jsonl").write_text('\n{"id": "x"}\n   \n{"id": "y"}\n\n', "utf-8")
    assert load_rows("gaps.jsonl", tmp_path) == [{"id": "x"}, {"id": "y"}]


def test_types_survive_jsonl_json_and_parquet(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "t.jsonl", TYPED)
    (tmp_path / "t.json").write_text(json.dumps({"test": TYPED}), "utf-8")
    write_parquet(tmp_path / "t.parquet", TYPED)
    for name in ("t.jsonl", "t.json", "t.parquet"):
        assert load_rows(name, tmp_path) == TYPED, name


def test_hf_loader_on_a_local_jsonl_file(tmp_path: Path, hf_cache: Path) -> None:
    """Through `datasets.load_dataset("json", ...)`, the builder hub datasets use."""
    write_jsonl(tmp_path / "d.jsonl", ROWS)
    assert load_rows("d.jsonl", tmp_path, "hf") == ROWS
    write_jsonl(tmp_path / "t.jsonl", TYPED)
    assert load_rows("t.jsonl", tmp_path, "hf") == TYPED
    write_csv(tmp_path / "d.csv", ROWS)
    assert load_rows("d.csv", tmp_path, "hf") == ROWS
    assert hf_cache.exists()  # the builder's cache went where the fixture put it


def test_hf_loader_on_a_saved_dataset_folder(tmp_path: Path, hf_cache: Path) -> None:
    import datasets

    datasets.Dataset.from_list(ROWS).save_to_disk(str(tmp_path / "saved"))
    # A folder is read as a `datasets` folder without naming the format.
    assert load_rows("saved", tmp_path) == ROWS
    assert load_rows("saved", tmp_path, "hf") == ROWS
    dd = datasets.DatasetDict(
        {"train": datasets.Dataset.from_list(TYPED), "test": datasets.Dataset.from_list(ROWS)}
    )
    dd.save_to_disk(str(tmp_path / "dict"))
    assert load_rows("dict", tmp_path, split="test") == ROWS
    assert load_rows("dict", tmp_path, split="train") == TYPED
    assert load_rows("dict", tmp_path) == TYPED  # no split: the first one
    with pytest.raises(DataError, match="cannot load dataset"):
        load_rows("dict", tmp_path, split="validation")


def test_hf_loader_errors(tmp_path: Path, hf_cache: Path) -> None:
    (tmp_path / "d.txt").write_text("x", "utf-8")
    with pytest.raises(DataError, match="cannot infer a datasets builder"):
        load_rows("d.txt", tmp_path, "hf")
    (tmp_path / "broken.jsonl").write_text('{"id": 1}\n{not json\n', "utf-8")
    with pytest.raises(DataError, match="cannot load dataset"):
        load_rows("broken.jsonl", tmp_path, "hf")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist") as info:
        load_rows("nope.jsonl", tmp_path)
    assert str(tmp_path / "nope.jsonl") in info.value.message


@pytest.mark.parametrize("name", ["e.jsonl", "e.csv", "e.json"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    content = {"e.jsonl": "\n\n", "e.csv": "id,answer\n", "e.json": "[]"}[name]
    (tmp_path / name).write_text(content, "utf-8")
    with pytest.raises(DataError, match="is empty"):
        load_rows(name, tmp_path)


def test_invalid_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "1"}\n{"id": "2"}\n{"id": 3,,}\n', "utf-8")
    with pytest.raises(DataError) as info:
        load_rows("bad.jsonl", tmp_path)
    assert f"{path}:3: invalid JSON" in info.value.message
    path.write_text('{"id": "1"}\n[1, 2]\n', "utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl:2: expected a JSON object"):
        load_rows("bad.jsonl", tmp_path)


def test_invalid_json_documents(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('[{"id": 1},\n{"id": 2]', "utf-8")
    with pytest.raises(DataError, match="bad.json: invalid JSON at line 2"):
        load_rows("bad.json", tmp_path)
    (tmp_path / "two.json").write_text(json.dumps({"train": ROWS, "test": ROWS}), "utf-8")
    with pytest.raises(DataError, match="expected a JSON list of objects"):
        load_rows("two.json", tmp_path)
    (tmp_path / "scalars.json").write_text("[1, 2]", "utf-8")
    with pytest.raises(DataError, match="expected a JSON list of objects"):
        load_rows("scalars.json", tmp_path)


def test_corrupt_parquet(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="cannot read Parquet"):
        load_rows("bad.parquet", tmp_path)


def test_unknown_extension(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("hello", "utf-8")
    with pytest.raises(DataError, match="cannot tell the format") as info:
        load_rows("data.txt", tmp_path)
    assert info.value.hint == "set dataset.format"


def test_task_rows_with_a_fewshot_file(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "test.jsonl", ROWS)
    write_csv(tmp_path / "dev.csv", ROWS[:2])
    rows, shots = load_task_rows(DatasetSpec(path="test.jsonl", fewshot_path="dev.csv"), tmp_path)
    assert rows == ROWS
    assert shots == ROWS[:2]
    rows, shots = load_task_rows(DatasetSpec(path="test.jsonl"), tmp_path)
    assert shots == []
