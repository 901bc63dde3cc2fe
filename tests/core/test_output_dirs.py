"""core.paths: pingce deletes or replaces only output folders that carry its marker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pingce.core.errors import SpecError
from pingce.core.paths import (
    OUTPUT_MARKER,
    is_pingce_output,
    prepare_output_dir,
    remove_output_dir,
)


def test_new_folder_is_created_and_marked(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    assert prepare_output_dir(out, command="pingce test") is False
    marker = json.loads((out / OUTPUT_MARKER).read_text(encoding="utf-8"))
    assert marker["command"] == "pingce test"
    assert marker["created_by"].startswith("pingce ") and marker["time"].endswith("+00:00")


def test_empty_folder_is_taken_and_marked(tmp_path: Path) -> None:
    assert prepare_output_dir(tmp_path, command="x") is False
    assert is_pingce_output(tmp_path)


def test_unmarked_folder_is_refused_even_with_overwrite(tmp_path: Path) -> None:
    (tmp_path / "NOTES.txt").write_text("mine", encoding="utf-8")
    for overwrite in (False, True):
        with pytest.raises(SpecError, match="not created by pingce"):
            prepare_output_dir(tmp_path, command="x", overwrite=overwrite)
    assert (tmp_path / "NOTES.txt").read_text(encoding="utf-8") == "mine"
    assert not is_pingce_output(tmp_path)
    with pytest.raises(SpecError, match="nothing was deleted"):
        remove_output_dir(tmp_path)
    assert (tmp_path / "NOTES.txt").is_file()


def test_marked_folder_is_kept_or_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    prepare_output_dir(out, command="first")
    (out / "part-0.jsonl").write_text("{}\n", encoding="utf-8")
    assert prepare_output_dir(out, command="second") is True  # kept for resuming
    assert (out / "part-0.jsonl").is_file()
    assert prepare_output_dir(out, command="third", overwrite=True) is False
    assert sorted(p.name for p in out.iterdir()) == [OUTPUT_MARKER]
    assert json.loads((out / OUTPUT_MARKER).read_text(encoding="utf-8"))["command"] == "third"


def test_output_equal_to_or_containing_an_input_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "corpus.jsonl").write_text("{}\n", encoding="utf-8")
    with pytest.raises(SpecError, match="is the input"):
        prepare_output_dir(data, command="x", inputs=[data])
    with pytest.raises(SpecError, match="contains the input"):
        prepare_output_dir(tmp_path, command="x", inputs=[data / "corpus.jsonl"])
    # a marked folder holding an input is refused too, before anything is deleted
    (tmp_path / OUTPUT_MARKER).write_text("{}", encoding="utf-8")
    with pytest.raises(SpecError, match="contains the input"):
        prepare_output_dir(tmp_path, command="x", overwrite=True, inputs=[data])
    assert (data / "corpus.jsonl").is_file()
    # an output folder beside (or inside) the input folder is fine
    assert prepare_output_dir(data / "clean", command="x", inputs=[data]) is False


def test_a_file_or_a_link_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "file.txt"
    f.write_text("x", encoding="utf-8")
    with pytest.raises(SpecError, match="not a folder"):
        prepare_output_dir(f, command="x")
    marked = tmp_path / "marked"
    prepare_output_dir(marked, command="x")
    link = tmp_path / "link"
    link.symlink_to(marked)
    with pytest.raises(SpecError, match="not a folder"):
        prepare_output_dir(link, command="x", overwrite=True)
    with pytest.raises(SpecError, match="not created by pingce"):
        remove_output_dir(link)
    assert is_pingce_output(marked)


def test_an_unwritable_place_is_one_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(SpecError, match="cannot create output folder"):
        prepare_output_dir(blocker / "out", command="x")  # a file where a folder must go
