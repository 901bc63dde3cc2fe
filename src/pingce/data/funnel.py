"""A processing pipeline's funnel (its stats.json): checked before a run stores it, and
printed as a table after `pingce data process` and in the demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from pingce.core.errors import SpecError


def print_funnel(stats: dict[str, Any], console: Console | None = None) -> None:
    """The funnel table of a pipeline run (its stats.json) and its first input problems."""
    console = console or Console()
    reader = stats["reader"]
    table = Table(
        title=f"funnel: {reader['documents']} documents read, {stats['documents_out']} written"
    )
    for col in ("operator", "in", "kept", "removed", "modified", "top reasons", "s"):
        table.add_column(col, justify="left" if col in ("operator", "top reasons") else "right")
    for s in stats["funnel"]:
        top = sorted(s["removed_by_reason"].items(), key=lambda kv: -kv[1])[:3]
        table.add_row(
            s["name"],
            str(s["docs_in"]),
            str(s["kept"]),
            str(s["removed"]),
            str(s["modified"]),
            ", ".join(f"{k} {v}" for k, v in top),
            f"{s['seconds']:.2f}",
        )
    console.print(table)
    if reader["problems"]:
        kinds = ", ".join(f"{k} {v}" for k, v in reader["problems_by_kind"].items())
        console.print(f"[yellow]input problems:[/yellow] {reader['problems']} ({kinds})")
        for p in reader["first_problems"][:5]:
            where = f"{p['file']}:{p['line']}" if p["line"] else p["file"]
            console.print(f"  {where}: {p['reason']}")


class _FunnelStep(BaseModel):
    name: str
    docs_in: int
    kept: int
    removed: int
    modified: int
    removed_by_reason: dict[str, int]
    seconds: float


class _FunnelReader(BaseModel):
    documents: int
    problems: int


class _Funnel(BaseModel):
    """The parts of a pipeline's stats.json that the report reads."""

    reader: _FunnelReader
    funnel: list[_FunnelStep]
    documents_out: int | None = None


def read_funnel(path: Path) -> dict[str, Any]:
    """A pipeline's stats.json, checked before it is stored with the run (`--stats`)."""
    from pingce.core.spec import format_validation_error

    where = f"--stats {path}"
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise SpecError(f"{where} {what}; expected a pipeline's stats.json file")
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise SpecError(f"{where}: not UTF-8 text; expected a pipeline's stats.json") from None
    except json.JSONDecodeError as exc:
        raise SpecError(f"{where}: invalid JSON at line {exc.lineno} ({exc.msg})") from None
    if not isinstance(data, dict):
        raise SpecError(f"{where}: expected a JSON object (a pipeline's stats.json)")
    try:
        _Funnel.model_validate(data)
    except ValidationError as exc:
        raise SpecError(format_validation_error(where, exc, _Funnel)) from None
    return data
