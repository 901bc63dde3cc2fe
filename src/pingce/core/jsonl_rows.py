"""Strict JSON-lines reading for datasets, banks and predictions (the JSONL twin of csv_rows).

One JSON object per line; blank lines are skipped; `.gz` files are read compressed. Every
problem is a `DataError` naming the file and line: invalid JSON, a line that is not an object,
text that is not UTF-8 (text is decoded in blocks, so the bad byte is somewhere after the last
line read).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pingce.core.errors import DataError


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of `path`."""
    n = 0
    opener: Any = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{n}: invalid JSON ({exc.msg})") from None
                if not isinstance(row, dict):
                    raise DataError(f"{path}:{n}: expected a JSON object per line")
                yield n, row
    except UnicodeDecodeError:
        where = f" after line {n}" if n else ""
        raise DataError(f"{path}: not UTF-8 text{where}", hint="save the file as UTF-8") from None
    except (gzip.BadGzipFile, EOFError) as exc:  # a truncated or corrupt .gz
        raise DataError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from None
