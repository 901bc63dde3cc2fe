"""Strict CSV rows (pingce.core.csv_rows), checked against Python's csv.DictReader."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pingce.core.csv_rows import read_csv_rows
from pingce.core.errors import DataError


def test_well_formed_file_reads_as_dictreader_reads_it(tmp_path: Path) -> None:
    """Reference: csv.DictReader on a file whose rows all fit the header."""
    path = tmp_path / "ok.csv"
    path.write_text(
        '\ufeffquestion,answer,note\n"a, quoted",1,""\n\n"line\nbreak",2,x\n"say ""hi""",3,y\n',
        encoding="utf-8",
    )
    header, rows = read_csv_rows(path)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        expected = [dict(r) for r in csv.DictReader(fh)]
    assert header == ["question", "answer", "note"]
    assert rows == expected
    assert rows[0] == {"question": "a, quoted", "answer": "1", "note": ""}


def test_short_row_names_file_line_and_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("question,answer\nok,1\nwhat\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_csv_rows(path)
    assert info.value.message == (
        f"{path}: line 3: 1 values for 2 columns (no value for column 'answer')"
    )


def test_long_row_and_duplicate_header(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("q,a\nx,1,extra\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"line 2: 3 values for 2 columns \(1 value"):
        read_csv_rows(path)
    path.write_text("q,q\nx,1\n", encoding="utf-8")
    with pytest.raises(DataError, match="column 'q' appears twice"):
        read_csv_rows(path)


def test_not_utf8_and_tabs(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("q,a\ncafé,1\n".encode("latin-1"))
    with pytest.raises(DataError, match="latin1.csv: not UTF-8 text"):
        read_csv_rows(path)
    tsv = tmp_path / "x.tsv"
    tsv.write_text("q\ta\nx, y\t1\n", encoding="utf-8")
    assert read_csv_rows(tsv, delimiter="\t")[1] == [{"q": "x, y", "a": "1"}]
