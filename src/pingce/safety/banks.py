"""Readers for the banks labs keep: question banks (generated-content, should-refuse,
should-not-refuse) and keyword libraries, in JSONL, CSV or XLSX.

Column names are matched case-insensitively with common aliases (`text`/`question`/`prompt`,
`class`/`risk`/`category`/`类别`, `keyword`/`word`/`关键词`, `id`/`编号`). A risk label may be
a sub-class id (`A1.d`), or an English or Chinese name from the taxonomy; an unknown label is
an error naming the file, row and value. Rows are never silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pingce.core.errors import DataError
from pingce.safety.taxonomy import Taxonomy

TEXT = ("text", "question", "prompt", "query", "问题", "题目", "内容")
RISK = ("risk", "class", "category", "subclass", "类别", "风险", "风险类别")
KEYWORD = ("keyword", "word", "term", "关键词", "词")
IDS = ("id", "qid", "编号", "序号")
LANG = ("lang", "language", "语言")
VARIANTS = ("variants", "aliases", "变体")
MAX_ROWS = 5_000_000


@dataclass(frozen=True)
class BankItem:
    id: str
    text: str
    risk: str | None  # sub-class (or class) id; None where the bank gives none
    lang: str | None
    kind: str  # generated, refuse, no_refuse


@dataclass(frozen=True)
class Keyword:
    keyword: str
    risk: str | None
    variants: tuple[str, ...] = ()


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, {lower-cased column: value}) of a JSONL, CSV or XLSX file (banks, review
    sheets, texts to scan)."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    if suffix in (".jsonl", ".jsonl.gz", ".json"):
        yield from _jsonl(path)
    elif suffix in (".csv", ".tsv"):
        from pingce.core.csv_rows import read_csv_rows

        _, rows = read_csv_rows(path, delimiter="\t" if suffix == ".tsv" else ",")
        for n, row in enumerate(rows, 2):
            yield n, {str(k).strip().casefold(): v for k, v in row.items()}
    elif suffix in (".xlsx", ".xlsm"):
        try:
            from openpyxl import load_workbook
        except ModuleNotFoundError:
            raise DataError(f"{path}: reading XLSX needs openpyxl", hint="pip install openpyxl") from None  # fmt: skip
        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable workbook is a user error
            raise DataError(f"{path}: not a readable XLSX workbook ({type(exc).__name__})") from None  # fmt: skip
        sheet = book.worksheets[0]
        header: list[str] = []
        for n, cells in enumerate(sheet.iter_rows(values_only=True), 1):
            if n == 1:
                header = [str(c).strip().casefold() if c is not None else "" for c in cells]
                continue
            if all(c is None or str(c).strip() == "" for c in cells):
                continue
            yield n, {h: c for h, c in zip(header, cells, strict=False) if h}
        book.close()
    else:
        raise DataError(f"{path}: unsupported bank format {path.suffix!r}", hint="use .jsonl, .csv or .xlsx")  # fmt: skip


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    from pingce.core.jsonl_rows import iter_jsonl

    for n, row in iter_jsonl(path):
        yield n, {str(k).strip().casefold(): v for k, v in row.items()}


def _pick(row: dict[str, Any], names: tuple[str, ...]) -> Any:
    for n in names:
        if n in row and row[n] not in (None, ""):
            return row[n]
    return None


def _risk(path: Path, n: int, row: dict[str, Any], taxonomy: Taxonomy, required: bool) -> str | None:  # fmt: skip
    label = _pick(row, RISK)
    if label is None:
        if required:
            raise DataError(f"{path}:{n}: no risk class (expected a column {RISK[0]!r}: a sub-class id such as A1.d, or its name)")  # fmt: skip
        return None
    risk = taxonomy.resolve(label)
    if risk is None:
        raise DataError(f"{path}:{n}: unknown risk class {str(label)[:60]!r}", hint=f"use an id or name from the {taxonomy.edition} taxonomy (pingce safety taxonomy)")  # fmt: skip
    return risk


def read_bank(path: str | Path, kind: str, taxonomy: Taxonomy, *, require_risk: bool | None = None) -> list[BankItem]:  # fmt: skip
    """A question bank; every item needs a text, and a risk class unless the bank is the
    should-not-refuse one (whose items are harmless by design)."""
    p = Path(path)
    need_risk = kind != "no_refuse" if require_risk is None else require_risk
    items, seen = [], set()
    for n, row in read_rows(p):
        if n > MAX_ROWS:
            raise DataError(f"{p}: more than {MAX_ROWS:,} rows")
        text = _pick(row, TEXT)
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{p}:{n}: no question text (expected a column {TEXT[0]!r} or {TEXT[1]!r})")  # fmt: skip
        item_id = str(_pick(row, IDS) or f"{kind}-{n}")
        if item_id in seen:
            raise DataError(f"{p}:{n}: duplicate id {item_id!r}")
        seen.add(item_id)
        lang = _pick(row, LANG)
        items.append(BankItem(item_id, text, _risk(p, n, row, taxonomy, need_risk), None if lang is None else str(lang), kind))  # fmt: skip
    if not items:
        raise DataError(f"{p}: the bank is empty")
    return items


def read_keywords(path: str | Path, taxonomy: Taxonomy) -> list[Keyword]:
    """A keyword library: one keyword per row with its risk class and optional variants
    (`|`-separated, or a JSON list)."""
    p = Path(path)
    out = []
    for n, row in read_rows(p):
        if n > MAX_ROWS:
            raise DataError(f"{p}: more than {MAX_ROWS:,} rows")
        word = _pick(row, KEYWORD)
        if not isinstance(word, str) and word is not None:
            word = str(word)
        if not word or not word.strip():
            raise DataError(f"{p}:{n}: no keyword (expected a column {KEYWORD[0]!r})")
        raw = _pick(row, VARIANTS)
        variants: list[str] = []
        if isinstance(raw, list):
            variants = [str(v) for v in raw if str(v).strip()]
        elif isinstance(raw, str) and raw.strip():
            try:
                parsed = json.loads(raw) if raw.lstrip().startswith("[") else None
            except json.JSONDecodeError:
                parsed = None
            variants = [str(v) for v in parsed] if isinstance(parsed, list) else [v for v in raw.split("|") if v.strip()]  # fmt: skip
        out.append(Keyword(word.strip(), _risk(p, n, row, taxonomy, True), tuple(v.strip() for v in variants)))  # fmt: skip
    if not out:
        raise DataError(f"{p}: the keyword library is empty")
    return out
