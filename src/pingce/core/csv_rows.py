"""Strict CSV reading for datasets and predictions.

`csv.DictReader` forgives too much for evaluation data: a short row fills its missing cells
with `None` (which later prints as the reference string "None"), a long row files its extra
cells under the key `None` (which breaks hashing), and the file's encoding errors surface as
tracebacks. Here each of those is a `DataError` naming the file, the line and the columns.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from pingce.core.errors import DataError


def read_csv_rows(
    path: Path, *, delimiter: str = ",", encoding: str = "utf-8-sig"
) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows (column -> cell text) of a CSV file with a header line.

    Blank lines are skipped; every other line must have exactly one cell per column.
    """
    header: list[str] = []
    rows: list[dict[str, str]] = []
    try:
        with path.open(encoding=encoding, newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            try:
                for cells in reader:
                    if not cells:
                        continue
                    if not header:
                        header = cells
                        _check_header(path, header)
                        continue
                    if len(cells) != len(header):
                        missing = header[len(cells) :]
                        detail = (
                            f"no value for column {', '.join(repr(c) for c in missing)}"
                            if missing
                            else f"{len(cells) - len(header)} value(s) past the last column"
                        )
                        raise DataError(
                            f"{path}: line {reader.line_num}: {len(cells)} values for "
                            f"{len(header)} columns ({detail})",
                            hint="quote cells that contain the delimiter; write empty cells as ''",
                        )
                    rows.append(dict(zip(header, cells, strict=True)))
            except csv.Error as exc:
                raise DataError(f"{path}: line {reader.line_num}: malformed CSV ({exc})") from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not UTF-8 text (invalid byte at offset {exc.start})",
            hint="save the file as UTF-8",
        ) from None
    return header, rows


def _check_header(path: Path, header: list[str]) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path}: line 1: column {name!r} appears twice in the header")
        seen.add(name)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def inert_cell(text: str) -> str:
    """Untrusted text for a spreadsheet cell: a leading =, +, -, @, tab or CR would make the
    cell a formula (CSV injection), so it gets a leading quote; plain numbers stay as they are."""
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text
