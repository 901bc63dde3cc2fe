"""CSV and JSON downloads of the dashboard's tables (runs list, compare, leaderboards, trends).

The tables hold untrusted text (subjects, suite names, model output): a CSV cell that a
spreadsheet would read as a formula (starting with =, +, -, @, a tab or a carriage return)
is prefixed with a single quote, as OWASP advises against CSV injection; numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from typing import Any

from starlette.responses import Response

from pingce.core.csv_rows import inert_cell

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    return inert_cell(str(value))


def table_response(
    fmt: str, name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> Response:
    """`rows` under `columns` as an attachment: CSV (formula-safe) or JSON (a list of objects)."""
    filename = _SAFE.sub("_", name)[:120] or "table"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([csv_cell(c) for c in columns])
        writer.writerows([csv_cell(v) for v in row] for row in rows)
        body, media = buf.getvalue(), "text/csv; charset=utf-8"
    else:
        items = [dict(zip(columns, row, strict=False)) for row in rows]
        body = json.dumps(items, ensure_ascii=False, indent=1, default=str)
        media = "application/json; charset=utf-8"
    headers = {"content-disposition": f'attachment; filename="{filename}.{fmt}"'}
    return Response(body.encode("utf-8", "replace"), media_type=media, headers=headers)
