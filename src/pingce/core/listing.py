"""Rows for `pingce list filters` and `pingce list metrics`, read off the core registries (so a
filter or metric registered anywhere is listed, with the parameters its factory takes)."""

from __future__ import annotations

import inspect
from typing import Any

from pingce.core.registry import filters, metrics, task_types


def _first_paragraph(doc: str | None) -> str:
    text = inspect.cleandoc(doc or "")
    return " ".join(text.split("\n\n", 1)[0].split())


def _parameters(factory: Any) -> str:
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return ""
    out = []
    for p in params:
        if p.default is inspect.Parameter.empty:
            out.append(f"{p.name} (required)")
        else:
            out.append(f"{p.name}={p.default!r}")
    return ", ".join(out) or "—"


def filter_rows() -> list[tuple[str, str, str]]:
    """(name, parameters with defaults, first paragraph of the docstring), sorted by name."""
    return [
        (name, _parameters(factory), _first_paragraph(factory.__doc__))
        for name, factory in sorted(filters.items())
    ]


def metric_rows() -> list[tuple[str, str, str, str, str, str]]:
    """(name, 中文名, better, scale, task types that allow it, definition), sorted by name."""
    allowed: dict[str, list[str]] = {}
    for type_name, cls in sorted(task_types.items()):
        for metric in getattr(cls, "allowed_metrics", ()):
            allowed.setdefault(metric, []).append(type_name)
    rows = []
    for name, mdef in sorted(metrics.items()):
        scale = "unbounded" if not mdef.scale else f"0–{mdef.scale:g}"
        rows.append(
            (
                name,
                mdef.name_zh,
                mdef.direction,
                scale,
                ", ".join(allowed.get(name, [])) or "—",
                " ".join(mdef.definition.split()),
            )
        )
    return rows
