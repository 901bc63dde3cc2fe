"""One report format for every standard: JSON Schema, JSON, Markdown and HTML renderers.

A standard builds a plain report document (see ``schema.json``) and hands it to
`write_report`; nothing here knows about any particular standard.
"""

from pingce.core.report.html import render_html
from pingce.core.report.render import (
    FORMATS,
    SCHEMA_VERSION,
    load_schema,
    render_json,
    render_markdown,
    validate_report,
    write_report,
)

__all__ = [
    "FORMATS",
    "SCHEMA_VERSION",
    "load_schema",
    "render_html",
    "render_json",
    "render_markdown",
    "validate_report",
    "write_report",
]
