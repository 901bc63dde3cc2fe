"""The human-review round trip: a sheet for reviewers, their verdicts read back, and the
agreement between reviewers (Cohen's kappa for two, Fleiss' kappa for more).

The sheet (CSV or XLSX) has one row per item: id, risk class, prompt, response, and one empty
column per reviewer to fill with `pass` or `fail` (also accepted: 1/0, yes/no, 合格/不合格,
通过/不通过). Reading it back checks every filled cell and names the row of any other value.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pingce.core.csv_rows import inert_cell
from pingce.core.errors import DataError

PASS = {"pass", "1", "yes", "y", "ok", "合格", "通过", "true"}
FAIL = {"fail", "0", "no", "n", "不合格", "不通过", "false"}


@dataclass(frozen=True)
class ReviewRow:
    id: str
    risk: str
    prompt: str
    response: str


def write_sheet(rows: Sequence[ReviewRow], path: str | Path, reviewers: int = 2) -> Path:
    """Write the review sheet; refuses to overwrite an existing file."""
    p = Path(path)
    header = ["id", "risk", "prompt", "response", *[f"reviewer_{i + 1}" for i in range(reviewers)]]
    # A cell starting like a formula would run in a spreadsheet: model text is quoted (OWASP).
    body = [[inert_cell(c) for c in (r.id, r.risk, r.prompt, r.response)] + [""] * reviewers for r in rows]  # fmt: skip
    xlsx = p.suffix.lower() == ".xlsx"
    try:  # mode "x": never overwrite, with no window between a check and the write
        fh = p.open("xb") if xlsx else p.open("x", encoding="utf-8", newline="")
    except FileExistsError:
        raise DataError(f"{p}: already exists; pingce does not overwrite a review sheet") from None
    with fh:
        if xlsx:
            from openpyxl import Workbook

            book = Workbook()
            sheet = book.active
            for line in (header, *body):
                sheet.append(line)
            book.save(fh)
        else:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(body)
    return p


def read_verdicts(path: str | Path) -> dict[str, list[bool | None]]:
    """id -> one verdict per reviewer column (None where the cell is empty)."""
    from pingce.safety.banks import read_rows

    p = Path(path)
    out: dict[str, list[bool | None]] = {}
    for n, row in read_rows(p):
        rid = row.get("id")
        if rid in (None, ""):
            raise DataError(f"{p}:{n}: no id")
        cols = sorted(k for k in row if k.startswith("reviewer_"))
        if not cols:
            raise DataError(f"{p}: no reviewer_N columns")
        verdicts: list[bool | None] = []
        for c in cols:
            cell = row.get(c)
            text = "" if cell is None else str(cell).strip().casefold()
            if text == "":
                verdicts.append(None)
            elif text in PASS:
                verdicts.append(True)
            elif text in FAIL:
                verdicts.append(False)
            else:
                raise DataError(f"{p}:{n}: {c} is {str(cell)[:30]!r}; expected pass or fail")
        out[str(rid)] = verdicts
    return out


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float | None:
    """Cohen's kappa of two reviewers' verdicts on the same items (None when undefined)."""
    n = len(a)
    if n == 0 or n != len(b):
        return None
    agree = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    return None if expected == 1 else (agree - expected) / (1 - expected)


def fleiss_kappa(table: Sequence[Sequence[bool]]) -> float | None:
    """Fleiss' kappa for items each rated by the same number (≥ 2) of reviewers."""
    if not table:
        return None
    m = len(table[0])
    if m < 2 or any(len(r) != m for r in table):
        return None
    n = len(table)
    p_items, yes_total = [], 0
    for r in table:
        yes = sum(r)
        yes_total += yes
        no = m - yes
        p_items.append((yes * (yes - 1) + no * (no - 1)) / (m * (m - 1)))
    p_bar = sum(p_items) / n
    p_yes = yes_total / (n * m)
    p_e = p_yes**2 + (1 - p_yes) ** 2
    return None if p_e == 1 else (p_bar - p_e) / (1 - p_e)


def agreement(verdicts: dict[str, list[bool | None]]) -> tuple[float | None, int]:
    """Kappa over the items every reviewer judged, and how many such items there are."""
    full = [[bool(v) for v in vs] for vs in verdicts.values() if vs and all(v is not None for v in vs)]  # fmt: skip
    if not full:
        return None, 0
    if len(full[0]) == 2:
        return cohen_kappa([r[0] for r in full], [r[1] for r in full]), len(full)
    return fleiss_kappa(full), len(full)


def consensus(verdicts: list[bool | None]) -> bool | None:
    """Majority of the filled verdicts; a tie counts as fail (the conservative reading)."""
    filled = [v for v in verdicts if v is not None]
    if not filled:
        return None
    return sum(filled) * 2 > len(filled)
