"""How one stored record looks in the dashboard: the per-standard sample view contract.

A standard says how its samples look by providing a module `pingce.<package>.sample_view`
(or, for a third-party standard, a `sample_view` attribute on its standard object) with:

- `COLUMNS`: the short columns of the sample list (e.g. `("Prompt", "Output", "Reference")`);
- `view(data, scores) -> SampleView`: the record's `data` and `scores` as typed blocks.

The dashboard (`pingce.web`) renders the blocks and escapes every string; a view never
produces markup. Without a module, `generic_view` shows the llm-style text fields when
present and the rest as key/value pairs. Views read untrusted store data: they must accept
missing or mistyped fields (use `get_list`, `get_str`) and never raise for bad data — the
dashboard falls back to the generic view if one does.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

# Matching status of a box: valid, low_overlap, mismatched (wrong label), missing (a gold box
# nothing matched), extra (a false-positive prediction); drawn as the report's boxes charts.
BoxStatus = Literal["valid", "low_overlap", "mismatched", "missing", "extra"]


@dataclass(frozen=True)
class Text:
    """A block of text (model output, a document): shown verbatim, monospaced."""

    label: str
    text: str | None


@dataclass(frozen=True)
class Fields:
    """Key/value pairs (a trial's key and decision, a scenario's settings)."""

    label: str
    items: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Table:
    """Rows under column names; `kinds[i]` colours row i: "match", "missed", "extra",
    "pass", "fail" or "" (plain)."""

    label: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    kinds: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in image pixels (x, y: top-left corner); `role` gold or pred."""

    x: float
    y: float
    w: float
    h: float
    label: str
    role: Literal["gold", "pred"]
    status: BoxStatus
    score: float | None = None


@dataclass(frozen=True)
class Picture:
    """An image of `width` x `height` pixels with boxes drawn over it. `path` is where the
    record says the image is; the dashboard shows its pixels only when it lies under the
    media folder the server was started with (`pingce serve --media-root`)."""

    label: str
    width: int
    height: int
    boxes: tuple[Box, ...]
    path: str | None = None


@dataclass(frozen=True)
class Sound:
    """An audio file the record points to (played only from under the media folder)."""

    label: str
    path: str | None


Block = Text | Fields | Table | Picture | Sound


@dataclass(frozen=True)
class SampleView:
    """`summary`: one short text per column of the list page (same order as COLUMNS)."""

    summary: tuple[str | None, ...]
    blocks: tuple[Block, ...] = field(default_factory=tuple)


# ---- helpers for views over untrusted data ------------------------------------------------
def get_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def get_list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    return value if isinstance(value, list) else []


def get_dict(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def number(value: Any) -> float | None:
    """A finite float, or None (booleans, strings, NaN and infinities are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def flatten(
    data: Mapping[str, Any], prefix: str = "", *, max_list: int = 12
) -> list[tuple[str, Any]]:
    """Nested mappings as dotted key/value pairs; long lists summarised by their length
    (a check's settings and results, shown as rows)."""
    out: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.extend(flatten(value, name + ".", max_list=max_list))
        elif isinstance(value, list) and len(value) > max_list:
            out.append((name, f"[{len(value)} values]"))
        else:
            out.append((name, value))
    return out


def percentiles(values: Sequence[Any], qs: Sequence[float] = (0.5, 0.9, 0.99)) -> dict[str, float]:
    """Nearest-rank percentiles of the finite numbers in `values` (for a latency list), with
    min, max and count; empty when there are none."""
    xs = sorted(v for x in values if (v := number(x)) is not None)
    if not xs:
        return {}
    out = {"n": float(len(xs)), "min": xs[0]}
    for q in qs:
        rank = max(1, math.ceil(q * len(xs)))
        out[f"p{q * 100:g}"] = xs[rank - 1]
    out["max"] = xs[-1]
    return out


def side_by_side(
    label: str, names: tuple[str, str], left: Any, right: Any, keys: Sequence[str] | None = None
) -> Table | None:
    """Two mappings' values key by key (baseline vs compressed, source vs target); None when
    either is not a non-empty mapping."""
    if not isinstance(left, Mapping) or not isinstance(right, Mapping) or not left or not right:
        return None
    keys = list(keys) if keys is not None else list(dict.fromkeys([*left, *right]))
    rows = tuple(
        (k, left.get(k), right.get(k))
        for k in keys
        if (k in left or k in right) and not isinstance(left.get(k), list | Mapping)
    )
    return Table(label, ("quantity", *names), rows)


def short(text: str | None, limit: int = 240) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


# ---- the generic view and the lookup --------------------------------------------------------
TEXT_FIELDS = ("prompt", "output", "extracted", "reference")
GENERIC_COLUMNS = ("Prompt", "Output", "Extracted", "Reference")


def generic_view(data: Mapping[str, Any], scores: Mapping[str, Any]) -> SampleView:
    """The llm-style text fields when present; every other field as key/value pairs."""
    texts = {name: get_str(data, name) for name in TEXT_FIELDS if name in data}
    rest = tuple((k, v) for k, v in data.items() if k not in TEXT_FIELDS)
    blocks: list[Block] = [Text(name, value) for name, value in texts.items()]
    if rest:
        blocks.append(Fields("other data", rest))
    if texts:
        summary = tuple(short(texts.get(n)) for n in TEXT_FIELDS)
    else:
        first = "; ".join(f"{k}={_scalar(v)}" for k, v in rest[:6]) if rest else None
        summary = (short(first), None, None, None)
    return SampleView(summary=summary, blocks=tuple(blocks))


def _scalar(value: Any) -> str:
    if isinstance(value, str | int | float | bool) or value is None:
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)[:60]


@dataclass(frozen=True)
class Viewer:
    columns: tuple[str, ...]
    view: Any  # (data, scores) -> SampleView
    name: str


GENERIC = Viewer(GENERIC_COLUMNS, generic_view, "generic")


def viewer_for(standard: Any) -> Viewer:
    """The standard's sample viewer: its `sample_view` attribute, else the module
    `pingce.<package>.sample_view` of the package its standard object comes from, else the
    generic view."""
    if standard is None:
        return GENERIC
    module = getattr(standard, "sample_view", None)
    if module is None:
        package = type(standard).__module__.rsplit(".", 1)[0]
        try:
            module = importlib.import_module(f"{package}.sample_view")
        except ModuleNotFoundError:
            return GENERIC
    columns = tuple(getattr(module, "COLUMNS", GENERIC_COLUMNS))
    view = getattr(module, "view", None)
    if not callable(view):
        return GENERIC
    return Viewer(columns, view, getattr(module, "__name__", "custom"))


def render_safely(viewer: Viewer, data: Any, scores: Any) -> SampleView:
    """The viewer's view of a record, its summary fitted to the viewer's columns; the generic
    view when the data is not a mapping or the standard's view fails on it (store data is
    untrusted: a broken record must still show)."""
    data = data if isinstance(data, Mapping) else {"data": data}
    scores = scores if isinstance(scores, Mapping) else {}
    result: Any = None
    if viewer is not GENERIC:
        try:
            result = viewer.view(data, scores)
        except Exception:  # noqa: BLE001 - a malformed record falls back to the generic view
            result = None
    if not isinstance(result, SampleView):
        result = generic_view(data, scores)
    return _fit(result, len(viewer.columns))


def _fit(view: SampleView, n: int) -> SampleView:
    summary = tuple(view.summary[:n]) + (None,) * max(0, n - len(view.summary))
    return SampleView(summary=summary, blocks=view.blocks)
