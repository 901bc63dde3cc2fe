"""Options and choices several `pingce` commands share."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Results store URL or SQLite path (default: $PINGCE_DB or ~/.local/share/pingce/pingce.db).",
    ),
]


class Format(StrEnum):
    html = "html"
    md = "md"
    json = "json"
