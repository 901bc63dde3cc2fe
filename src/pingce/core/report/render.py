"""Render a validated report document to files: JSON here, Markdown and HTML by their own
modules; `write_report` validates the document once and writes every format atomically.

The report document is a plain dict described by the shipped ``schema.json`` and built with
the records of `pingce.core.report.kit`; every renderer reads only that shape, so a standard
never needs its own report code. The names re-exported below keep older imports working.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pingce.core.errors import ReportError
from pingce.core.report.formatting import (  # noqa: F401  (re-exported)
    MISSING,
    direction_text,
    environment_rows,
    format_cell,
    format_estimate,
    format_number,
    format_plain,
    format_score,
    gpu_text,
    is_number,
    json_safe,
    package_rows,
    primary_metric,
    sample_failed,
    seed_text,
    threshold_text,
)
from pingce.core.report.markdown import render_markdown
from pingce.core.report.validation import (  # noqa: F401  (re-exported)
    IMAGE_URI,
    MAX_IMAGE_CHARS,
    SCHEMA_VERSION,
    axis_scale,
    check_sections,
    image_uri_problem,
    load_schema,
    validate_report,
)

FORMATS: dict[str, str] = {"html": "report.html", "md": "report.md", "json": "report.json"}


def render_json(doc: Mapping[str, Any], *, validate: bool = True) -> str:
    """Serialise the document (validated first unless `validate` is False because the caller
    has just validated it); non-finite numbers become null."""
    if validate:
        validate_report(doc)
    # default=str: free-form sections (config, extra) may hold paths or dates; a report
    # at the end of a long run should not die over them.
    return (
        json.dumps(json_safe(doc), indent=2, ensure_ascii=False, allow_nan=False, default=str)
        + "\n"
    )


def _renderers() -> dict[str, Callable[..., str]]:
    # Imported here, not at the top: html.py imports this module for its helpers.
    from pingce.core.report.html import render_html

    return {"html": render_html, "md": render_markdown, "json": render_json}


def _fsync_dir(folder: Path) -> None:
    """Persist the rename itself; best effort, since not every platform allows it."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to a temporary sibling, fsync it, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # os.open with 0o666 lets the umask decide, unlike mkstemp's private 0o600.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            # Stores written before model text was repaired may hold lone surrogates: replaced
            # here, so a report can be written for every stored run.
            fh.write(text.encode("utf-8", "replace"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _folder_error(out_dir: Path, exc: OSError) -> ReportError:
    reason = exc.strerror or exc.__class__.__name__
    return ReportError(
        f"cannot write the report to folder {out_dir}: {reason}",
        hint="choose another output folder, or check that it is a writable directory",
    )


def write_report(
    doc: Mapping[str, Any],
    out_dir: Path,
    formats: Sequence[str] = ("html", "md", "json"),
) -> list[Path]:
    """Render ``doc`` in each format and write report.<ext> files atomically into ``out_dir``."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ReportError(
            f"unknown report format {unknown[0]!r}",
            hint=f"choose from {', '.join(FORMATS)}",
        )
    wanted = list(dict.fromkeys(formats))  # drop duplicates, keep order
    renderers = _renderers()
    validate_report(doc)  # once for every format
    # Render everything before touching the disk so a bad document leaves no partial set.
    texts = {fmt: renderers[fmt](doc, validate=False) for fmt in wanted}
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for fmt in wanted:
            path = out_dir / FORMATS[fmt]
            _atomic_write(path, texts[fmt])
            paths.append(path)
    except OSError as exc:
        raise _folder_error(out_dir, exc) from exc
    _fsync_dir(out_dir)
    return paths
