"""One report format for every standard: JSON Schema, JSON, Markdown and HTML renderers.

A standard builds a plain report document (see ``schema.json``) with the typed records of
`pingce.core.report.kit` and hands it to `write_report`; nothing here knows about any
particular standard. The renderers are imported on first use (jinja2 and jsonschema are not
needed to build a document).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "render_html": "pingce.core.report.html",
    "FORMATS": "pingce.core.report.render",
    "SCHEMA_VERSION": "pingce.core.report.render",
    "load_schema": "pingce.core.report.render",
    "render_json": "pingce.core.report.render",
    "render_markdown": "pingce.core.report.render",
    "validate_report": "pingce.core.report.render",
    "write_report": "pingce.core.report.render",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pingce.core.report' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
