"""Check a report document against the shipped JSON Schema, once, before it is rendered.

Beyond the schema (``schema.json``), the lengths inside ``sections`` must agree, section ids
must be unique, and a ``boxes`` chart's image must be a small base64 PNG/JPEG/WebP data: URI.
`SCHEMA_VERSION` is defined here only.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import json
import re
from collections.abc import Mapping, Sequence
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from pingce.core.errors import ReportError
from pingce.core.report.formatting import is_number
from pingce.core.report.formatting import one_line as _one_line

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

SCHEMA_VERSION = "1.0"

_BUG_HINT = "this is a bug in pingce; please report it together with the run id"

# The only URIs a report may carry: base64 images of these types in ``boxes`` charts. The
# strict charset keeps quotes, angle brackets and other schemes out of the page; the first
# bytes must match the type named so a mislabelled payload is refused too.
IMAGE_URI = re.compile(r"data:image/(png|jpeg|webp);base64,([A-Za-z0-9+/]*={0,2})")
# A thumbnail is a few kB; this stops a standard embedding full-size photos by mistake.
MAX_IMAGE_CHARS = 1_000_000


@functools.cache
def load_schema() -> dict[str, Any]:
    """Return the shipped report JSON Schema (draft 2020-12)."""
    text = files("pingce.core.report").joinpath("schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@functools.cache
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_report(doc: Mapping[str, Any]) -> None:
    """Raise ReportError unless ``doc`` matches the report schema.

    Beyond the schema, the lengths inside ``sections`` must agree (see `check_sections`).
    """
    from jsonschema.exceptions import best_match

    error = best_match(_validator().iter_errors(doc))
    if error is None:
        check_sections(doc.get("sections", []))
        return
    if error.validator == "pattern" and isinstance(error.instance, str):
        # The default message quotes the whole value first, which may be a long data: URI,
        # and the cut below would then drop the pattern it failed.
        detail = f"{_clip(error.instance)} does not match {error.validator_value!r}"
    else:
        detail = " ".join(error.message.split())
    if len(detail) > 160:  # messages can embed a whole sub-document; keep one short line
        detail = detail[:157] + "..."
    where = f"{error.json_path}{_section_context(doc, list(error.absolute_path))}"
    raise ReportError(f"report document is invalid at {where}: {detail}", hint=_BUG_HINT)


def _clip(text: str, limit: int = 40) -> str:
    """``repr`` of the start of ``text``, marked when cut."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def _image_magic_ok(kind: str, raw: bytes) -> bool:
    if kind == "png":
        return raw.startswith(b"\x89PNG\r\n\x1a\n")
    if kind == "jpeg":
        return raw.startswith(b"\xff\xd8\xff")
    return raw[:4] == b"RIFF" and raw[8:12] == b"WEBP"


def image_uri_problem(uri: Any) -> str | None:
    """What is wrong with a ``boxes`` chart's image URI, or None when it may be embedded.

    Accepted: ``data:image/png|jpeg|webp;base64,...`` of at most `MAX_IMAGE_CHARS`
    characters whose payload is strict base64 and starts with that format's signature.
    """
    if not isinstance(uri, str):
        return f"image must be a data: URI string or null, not {type(uri).__name__}"
    if len(uri) > MAX_IMAGE_CHARS:
        return (
            f"image data: URI has {len(uri):,} characters, more than {MAX_IMAGE_CHARS:,}; "
            "embed a downscaled thumbnail"
        )
    match = IMAGE_URI.fullmatch(uri)
    if match is None:
        return f"image must be a base64 PNG, JPEG or WebP data: URI, got {_clip(uri)}"
    try:
        raw = base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        return "image data: URI is not valid base64 (bad length or padding)"
    if not _image_magic_ok(match.group(1), raw):
        return f"image data is not a {match.group(1).upper()} file (its first bytes do not match)"
    return None


def _boxes_problem(chart: Mapping[str, Any]) -> str | None:
    for key in ("width", "height"):
        if not is_number(chart[key]):
            return f"{key} must be a finite number, got {chart[key]!r}"
    if chart["image"] is not None:
        problem = image_uri_problem(chart["image"])
        if problem:
            return problem
    for role in ("gold", "pred"):
        for i, box in enumerate(chart[role]):
            bad = next((k for k in ("x", "y", "w", "h") if not is_number(box[k])), None)
            if bad:
                return f"{role} box {i} ({_one_line(box['label'])!r}) has {bad} = {box[bad]!r}"
    return None


def _section_context(doc: Mapping[str, Any], path: list[Any]) -> str:
    """`` (section 'id', chart 'title')`` for an error inside ``sections``, else ""."""
    if len(path) < 2 or path[0] != "sections" or not isinstance(path[1], int):
        return ""
    try:
        parts = [f"section {_one_line(doc['sections'][path[1]]['id'])!r}"]
    except (KeyError, IndexError, TypeError):  # the error may be that the id is missing
        return ""
    if len(path) >= 4 and path[2] == "charts" and isinstance(path[3], int):
        with contextlib.suppress(KeyError, IndexError, TypeError):
            title = doc["sections"][path[1]]["charts"][path[3]]["title"]
            parts.append(f"chart {_one_line(title)!r}")
    return " (" + ", ".join(parts) + ")"


def axis_scale(chart: Mapping[str, Any], axis: str) -> str:
    """The effective scale of a lines chart's ``axis`` ("x" or "y"): linear, log or probit."""
    scale = chart.get(f"{axis}_scale")
    if chart.get(f"{axis}_log"):
        if scale not in (None, "log"):
            raise ValueError(f"{axis}_log is true but {axis}_scale is {scale!r}")
        return "log"
    return scale or "linear"


def _chart_problem(chart: Mapping[str, Any]) -> str | None:
    """What is wrong with a chart's shape that the schema cannot express, or None."""
    kind = chart["kind"]
    if kind == "lines":
        for axis in ("x", "y"):
            try:
                axis_scale(chart, axis)
            except ValueError as exc:
                return str(exc)
        for s in chart["series"]:
            if len(s["x"]) != len(s["y"]):
                return (
                    f"series {_one_line(s['name'])!r} has {len(s['x'])} x values "
                    f"but {len(s['y'])} y values"
                )
    elif kind == "bars":
        for s in chart["series"]:
            if len(s["values"]) != len(chart["labels"]):
                return (
                    f"series {_one_line(s['name'])!r} has {len(s['values'])} values "
                    f"for {len(chart['labels'])} labels"
                )
    elif kind == "boxes":
        return _boxes_problem(chart)
    elif kind == "heatmap":
        if len(chart["values"]) != len(chart["rows"]):
            return f"{len(chart['values'])} value rows for {len(chart['rows'])} row labels"
        for label, row in zip(chart["rows"], chart["values"], strict=True):
            if len(row) != len(chart["columns"]):
                return (
                    f"row {_one_line(label)!r} has {len(row)} values "
                    f"for {len(chart['columns'])} columns"
                )
    return None


def check_sections(sections: Sequence[Mapping[str, Any]]) -> None:
    """Raise ReportError when a schema-valid section's parts disagree in length.

    Section ids must be unique (they become HTML anchors); table rows must have one cell
    per column; a lines series one y per x; a bars series one value per label; a heatmap
    one row of ``len(columns)`` values per row label; a boxes chart a safe image URI (see
    `image_uri_problem`) and finite sizes and coordinates. The message names the section
    id and the chart title.
    """
    seen: set[str] = set()
    for section in sections:
        name = f"report section {_one_line(section['id'])!r}"
        if section["id"] in seen:
            raise ReportError(f"{name} appears more than once", hint=_BUG_HINT)
        seen.add(section["id"])
        table = section.get("table")
        if table is not None:
            for i, row in enumerate(table["rows"]):
                if len(row) != len(table["columns"]):
                    raise ReportError(
                        f"{name} table row {i} has {len(row)} cells "
                        f"for {len(table['columns'])} columns",
                        hint=_BUG_HINT,
                    )
        for chart in section.get("charts", []):
            problem = _chart_problem(chart)
            if problem:
                raise ReportError(
                    f"{name} chart {_one_line(chart['title'])!r}: {problem}", hint=_BUG_HINT
                )
