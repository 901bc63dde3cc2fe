"""Inline SVG charts for the HTML report, built as plain strings.

No plotting library and no external resources: the report must open offline, and the
charts are simple enough to draw by hand. Every label is XML-escaped here, so callers
may pass dataset or model text. Labels may contain ``\\n`` to stack lines (for example
an English name over its Chinese name).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from html import escape

from pingce.core.report.render import format_estimate, format_score, is_number

ACCENT = "#2f6fdf"
GRID = "#d5dbe5"
TEXT = "#1f2733"
MUTED = "#6b7585"
FONT = "system-ui, -apple-system, 'Segoe UI', 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif"
FONT_PX = 12

CiRow = tuple[str, float | None, float | None, float | None, float | None]


def _esc(text: object) -> str:
    return escape(str(text), quote=True)


def _f(x: float) -> str:
    """Coordinates with one decimal keep the SVG small."""
    return f"{x:.1f}"


def _em_width(text: str) -> float:
    """Approximate rendered width in em: wide (CJK) characters count double."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.56 for c in text)


def _fit(text: str, max_em: float) -> str:
    """Shorten ``text`` with an ellipsis so it fits ``max_em``."""
    if _em_width(text) <= max_em:
        return text
    out = ""
    for ch in text:
        if _em_width(out + ch + "…") > max_em:
            break
        out += ch
    return out + "…"


def _lines(label: str, max_em: float) -> list[str]:
    return [_fit(" ".join(part.split()), max_em) for part in str(label).split("\n")]


def _text(
    x: float,
    y: float,
    lines: Sequence[str],
    *,
    anchor: str = "start",
    fill: str = TEXT,
    size: int = FONT_PX,
    cls: str = "label",
) -> str:
    """A <text> element; extra lines become <tspan>s stacked below the first."""
    parts = [
        f'<text class="{cls}" x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}" '
        f'font-size="{size}" fill="{fill}">'
    ]
    for i, line in enumerate(lines):
        dy = "" if i == 0 else ' dy="1.2em"'
        parts.append(f'<tspan x="{_f(x)}"{dy}>{_esc(line)}</tspan>')
    parts.append("</text>")
    return "".join(parts)


def _svg(kind: str, width: float, height: float, title: str, body: list[str]) -> str:
    # No xmlns: inline SVG in HTML5 does not need it, and the report carries no URLs.
    return (
        f'<svg class="chart {kind}" viewBox="0 0 {_f(width)} {_f(height)}" '
        f'width="{_f(width)}" height="{_f(height)}" role="img" aria-label="{_esc(title)}" '
        f'font-family="{_esc(FONT)}">'
        f"<title>{_esc(title)}</title>" + "".join(body) + "</svg>"
    )


def _clamp01(value: float | None) -> float:
    return min(max(float(value), 0.0), 1.0) if is_number(value) else 0.0


# --------------------------------------------------------------------------- radar


def _vertices(
    cx: float, cy: float, radius: float, fractions: Sequence[float]
) -> list[tuple[float, float]]:
    """Points at ``fraction * radius`` along each axis; the first axis points up."""
    n = len(fractions)
    out = []
    for i, frac in enumerate(fractions):
        angle = -math.pi / 2 + 2 * math.pi * i / n
        out.append((cx + radius * frac * math.cos(angle), cy + radius * frac * math.sin(angle)))
    return out


def _points(vertices: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{_f(x)},{_f(y)}" for x, y in vertices)


def _radar_label(cx: float, cy: float, radius: float, i: int, n: int, lines: list[str]) -> str:
    angle = -math.pi / 2 + 2 * math.pi * i / n
    cos, sin = math.cos(angle), math.sin(angle)
    anchor = "start" if cos > 0.3 else "end" if cos < -0.3 else "middle"
    x, y = cx + (radius + 12) * cos, cy + (radius + 12) * sin
    block = (len(lines) - 1) * FONT_PX * 1.2
    # Centre the stacked lines on the axis end, sliding them up above the top of the web
    # and down below its bottom so they never overlap it.
    first_baseline = y - block / 2 + 0.35 * FONT_PX + sin * (block / 2 + 0.5 * FONT_PX)
    return _text(x, first_baseline, lines, anchor=anchor)


def radar_svg(labels: list[str], values: list[float | None], *, size: int = 360) -> str:
    """A radar (spider) chart of 0..1 values; None is drawn as 0 and marked "n/a".

    Fewer than three axes make no polygon, so a bar chart is returned instead.
    """
    if len(labels) != len(values):
        raise ValueError("radar_svg needs one value per label")
    if len(labels) < 3:
        return bar_svg(labels, values, width=max(size + 160, 480), scale=1.0)
    n = len(labels)
    pad_x, pad_y = 130, 60
    width, height = size + 2 * pad_x, size + 2 * pad_y
    cx, cy, radius = width / 2, height / 2, size / 2 - 8
    body = []
    for ring in (0.25, 0.5, 0.75, 1.0):
        body.append(
            f'<polygon class="radar-grid" points="{_points(_vertices(cx, cy, radius, [ring] * n))}" '
            f'fill="none" stroke="{GRID}" stroke-width="1"/>'
        )
    for x, y in _vertices(cx, cy, radius, [1.0] * n):
        body.append(
            f'<line x1="{_f(cx)}" y1="{_f(cy)}" x2="{_f(x)}" y2="{_f(y)}" stroke="{GRID}"/>'
        )
    body.append(_text(cx + 4, cy - radius / 2 - 3, ["0.5"], fill=MUTED, size=10, cls="tick"))
    body.append(_text(cx + 4, cy - radius - 3, ["1.0"], fill=MUTED, size=10, cls="tick"))
    vertices = _vertices(cx, cy, radius, [_clamp01(v) for v in values])
    body.append(
        f'<polygon class="radar-value" points="{_points(vertices)}" '
        f'fill="{ACCENT}" fill-opacity="0.22" stroke="{ACCENT}" stroke-width="2"/>'
    )
    for i, (label, value, (x, y)) in enumerate(zip(labels, values, vertices, strict=True)):
        missing = not is_number(value)
        fill = "#ffffff" if missing else ACCENT  # a hollow dot marks a missing score
        score = "n/a" if missing else format_score(value)
        name = " ".join(str(label).split())
        body.append(
            f'<circle class="radar-dot" cx="{_f(x)}" cy="{_f(y)}" r="3.5" fill="{fill}" '
            f'stroke="{ACCENT}" stroke-width="1.5"><title>{_esc(name)}: {_esc(score)}</title></circle>'
        )
        body.append(_radar_label(cx, cy, radius, i, n, [*_lines(label, 10.5), score]))
    return _svg("radar", width, height, "Capability radar", body)


# --------------------------------------------------------------------------- bars


def _bar_row(
    row: CiRow, y: float, row_h: float, label_w: float, bar_x: float, bar_w: float
) -> list[str]:
    label, value, lo, hi, scale = row
    lines = _lines(label, label_w / FONT_PX - 0.5)
    text_y = y + row_h / 2 + FONT_PX * 0.35 - (len(lines) - 1) * FONT_PX * 0.6
    full = " ".join(str(label).split())
    # The <title> gives the untruncated label as a tooltip.
    out = [f"<g><title>{_esc(full)}</title>{_text(0, text_y, lines)}</g>"]
    value_text = format_estimate(value, lo, hi) if is_number(value) else "n/a"
    if not (is_number(scale) and scale > 0):
        # No meaningful full scale (e.g. lower-is-better latency): show the number only.
        out.append(_text(bar_x, y + row_h / 2 + 4, [value_text], cls="value"))
        return out
    mid, thick = y + row_h / 2, min(14.0, row_h * 0.5)
    top = mid - thick / 2
    for frac in (0.25, 0.5, 0.75):  # quarter marks of the metric's full scale
        x = bar_x + bar_w * frac
        out.append(
            f'<line class="grid" x1="{_f(x)}" y1="{_f(y)}" x2="{_f(x)}" y2="{_f(y + row_h)}" '
            f'stroke="{GRID}" stroke-dasharray="2 3"/>'
        )
    out.append(
        f'<rect class="bar-track" x="{_f(bar_x)}" y="{_f(top)}" width="{_f(bar_w)}" '
        f'height="{_f(thick)}" fill="#eef1f6"/>'
    )
    out.append(
        f'<rect class="bar" x="{_f(bar_x)}" y="{_f(top)}" '
        f'width="{_f(bar_w * _clamp01(value / scale if is_number(value) else None))}" '
        f'height="{_f(thick)}" fill="{ACCENT}" fill-opacity="0.85"/>'
    )
    if is_number(value) and is_number(lo) and is_number(hi):
        x1, x2 = (bar_x + bar_w * _clamp01(v / scale) for v in (lo, hi))
        cap = thick / 2 + 3
        out.append(
            f'<path class="ci" d="M{_f(x1)} {_f(mid)}H{_f(x2)}M{_f(x1)} {_f(mid - cap)}V{_f(mid + cap)}'
            f'M{_f(x2)} {_f(mid - cap)}V{_f(mid + cap)}" stroke="{TEXT}" stroke-width="1.5" fill="none"/>'
        )
    out.append(_text(bar_x + bar_w + 8, mid + 4, [value_text], cls="value"))
    return out


def ci_bars_svg(rows: list[CiRow], *, width: int = 640) -> str:
    """Horizontal bars with confidence-interval whiskers.

    Each row is ``(label, value, ci_low, ci_high, scale)``; the bar fills ``value / scale``
    of the track. A row whose scale is None is shown as a plain value without a bar.
    """
    label_w = max(120.0, width * 0.32)
    value_w = 190.0
    bar_x = label_w + 10
    bar_w = max(60.0, width - bar_x - value_w)
    # Each row is as tall as its label needs, so one long label does not stretch the rest.
    heights = [14.0 + FONT_PX * 1.2 * len(str(r[0]).split("\n")) for r in rows]
    height = sum(heights) + 8 if rows else 40.0
    body: list[str] = []
    if not rows:
        body.append(_text(0, 24, ["no data"], fill=MUTED))
    top = 4.0
    for row, row_h in zip(rows, heights, strict=True):
        body.extend(_bar_row(row, top, row_h, label_w, bar_x, bar_w))
        top += row_h
    return _svg("bars", width, height, "Scores with confidence intervals", body)


def bar_svg(
    labels: list[str], values: list[float | None], *, width: int = 640, scale: float = 1.0
) -> str:
    """Plain horizontal bars of ``values`` against one full ``scale``; None shows "n/a"."""
    if len(labels) != len(values):
        raise ValueError("bar_svg needs one value per label")
    return ci_bars_svg(
        [(lbl, v, None, None, scale) for lbl, v in zip(labels, values, strict=True)], width=width
    )
