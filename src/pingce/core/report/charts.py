"""Inline SVG charts for the HTML report, built as plain strings.

No plotting library and no external resources: the report must open offline, and the
charts are simple enough to draw by hand. Every label is XML-escaped here, so callers
may pass dataset or model text. Labels may contain ``\\n`` to stack lines (for example
an English name over its Chinese name).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

from pingce.core.report.formatting import (
    format_estimate,
    format_number,
    format_score,
    is_number,
    real_unit,
    unit_suffix,
)
from pingce.core.report.validation import axis_scale, image_uri_problem

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


RADAR_LABEL_EM = 14.0  # a radar label wraps to lines at most this wide


def _wrap(text: str, max_em: float) -> list[str]:
    """``text`` broken into lines of at most ``max_em`` (never cut): at spaces, and inside
    a word (or CJK run) only when the word alone is wider than a line."""
    lines: list[str] = []
    line = ""
    for word in " ".join(str(text).split()).split(" "):
        candidate = f"{line} {word}" if line else word
        if _em_width(candidate) <= max_em:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for ch in word:
            if line and _em_width(line + ch) > max_em:
                lines.append(line)
                line = ""
            line += ch
    if line or not lines:
        lines.append(line)
    return lines


def _radar_label_layout(
    cx: float, cy: float, radius: float, i: int, n: int, lines: list[str]
) -> tuple[float, float, str, tuple[float, float, float, float]]:
    """(x, first baseline, anchor, box) of axis ``i``'s label; the box (left, top, right,
    bottom) uses the same width estimate as the wrapping, so callers can fit the canvas."""
    angle = -math.pi / 2 + 2 * math.pi * i / n
    cos, sin = math.cos(angle), math.sin(angle)
    anchor = "start" if cos > 0.3 else "end" if cos < -0.3 else "middle"
    x, y = cx + (radius + 12) * cos, cy + (radius + 12) * sin
    block = (len(lines) - 1) * FONT_PX * 1.2
    # Centre the stacked lines on the axis end, sliding them up above the top of the web
    # and down below its bottom so they never overlap it.
    first_baseline = y - block / 2 + 0.35 * FONT_PX + sin * (block / 2 + 0.5 * FONT_PX)
    w = max(_em_width(line) for line in lines) * FONT_PX
    left = x if anchor == "start" else x - w if anchor == "end" else x - w / 2
    box = (left, first_baseline - FONT_PX, left + w, first_baseline + block + 0.3 * FONT_PX)
    return x, first_baseline, anchor, box


def radar_svg(labels: list[str], values: list[float | None], *, size: int = 440) -> str:
    """A radar (spider) chart of 0..1 values; None is drawn as 0 and marked "n/a".

    Long labels wrap (never cut) and the canvas grows to hold every label's box, so no
    label is clipped. Fewer than three axes make no polygon, so a bar chart is returned.
    """
    if len(labels) != len(values):
        raise ValueError("radar_svg needs one value per label")
    if len(labels) < 3:
        return bar_svg(labels, values, width=max(size + 160, 480), scale=1.0)
    n = len(labels)
    radius = size / 2 - 8
    texts = []
    for label, value in zip(labels, values, strict=True):
        score = "n/a" if not is_number(value) else format_score(value)
        lines = [w for part in str(label).split("\n") for w in _wrap(part, RADAR_LABEL_EM)]
        texts.append([*lines, score])
    # Lay out around (0, 0), then size the canvas from the web and the label boxes.
    boxes = [_radar_label_layout(0.0, 0.0, radius, i, n, t)[3] for i, t in enumerate(texts)]
    margin = 6.0
    min_x = min([-radius - 12, *(b[0] for b in boxes)]) - margin
    max_x = max([radius + 12, *(b[2] for b in boxes)]) + margin
    min_y = min([-radius - 12, *(b[1] for b in boxes)]) - margin
    max_y = max([radius + 12, *(b[3] for b in boxes)]) + margin
    # Keep the web centred: pad both sides to the wider one.
    half_w, half_h = max(-min_x, max_x), max(-min_y, max_y)
    width, height = 2 * half_w, 2 * half_h
    cx, cy = half_w, half_h
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
        name = " ".join(str(label).split())
        body.append(
            f'<circle class="radar-dot" cx="{_f(x)}" cy="{_f(y)}" r="3.5" fill="{fill}" '
            f'stroke="{ACCENT}" stroke-width="1.5"><title>{_esc(name)}: {_esc(texts[i][-1])}</title></circle>'
        )
        lx, ly, anchor, _ = _radar_label_layout(cx, cy, radius, i, n, texts[i])
        body.append(_text(lx, ly, texts[i], anchor=anchor))
    return _svg("radar", width, height, "Capability radar", body)


# --------------------------------------------------------------------------- bars


def _bar_row(
    row: CiRow,
    y: float,
    row_h: float,
    label_w: float,
    bar_x: float,
    bar_w: float,
    *,
    axis_note: str = "",
    unit: str = "",
) -> list[str]:
    label, value, lo, hi, scale = row
    lines = _lines(label, label_w / FONT_PX - 0.5)
    text_y = y + row_h / 2 + FONT_PX * 0.35 - (len(lines) - 1) * FONT_PX * 0.6
    full = " ".join(str(label).split())
    # The <title> gives the untruncated label as a tooltip.
    out = [f"<g><title>{_esc(full)}</title>{_text(0, text_y, lines)}</g>"]
    value_text = format_estimate(value, lo, hi) + unit_suffix(unit) if is_number(value) else "n/a"
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
    if axis_note:  # an unbounded metric's shared axis, named under its track
        out.append(
            _text(
                bar_x + bar_w,
                top + thick + 10,
                [axis_note],
                anchor="end",
                fill=MUTED,
                size=10,
                cls="tick",
            )
        )
    return out


def _shared_axes(rows: Sequence[CiRow], units: Sequence[str]) -> dict[str, float]:
    """For unbounded rows (scale 0), one axis end per unit: a round number at or above the
    largest value and CI upper bound of that unit's rows (none when all are <= 0)."""
    tops: dict[str, float] = {}
    for (_, value, _lo, hi, scale), unit in zip(rows, units, strict=True):
        if not (is_number(scale) and scale == 0) or not is_number(value):
            continue
        top = max(float(v) for v in (value, hi) if is_number(v))
        tops[unit] = max(tops.get(unit, 0.0), top)
    axes = {}
    for unit, top in tops.items():
        if top > 0:
            step = _nice_step(top)
            axes[unit] = math.ceil(top / step - 1e-9) * step
    return axes


def ci_bars_svg(rows: list[CiRow], *, width: int = 640, units: Sequence[str] | None = None) -> str:
    """Horizontal bars with confidence-interval whiskers.

    Each row is ``(label, value, ci_low, ci_high, scale)``; the bar fills ``value / scale``
    of the track. A row whose scale is None is shown as a plain value without a bar. A row
    whose scale is 0 is unbounded (a compression ratio, a speedup): it is drawn on an axis
    shared by the chart's unbounded rows with the same unit (``units``, one per row), from 0
    to a round number above their largest value and CI, and that axis is named under it.
    """
    unit_of = [real_unit(u) for u in units] if units is not None else [""] * len(rows)
    if len(unit_of) != len(rows):
        raise ValueError("ci_bars_svg needs one unit per row")
    axes = _shared_axes(rows, unit_of)
    label_w = max(120.0, width * 0.32)
    value_w = 190.0
    bar_x = label_w + 10
    bar_w = max(60.0, width - bar_x - value_w)
    # Each row is as tall as its label needs, so one long label does not stretch the rest.
    heights = [
        14.0 + FONT_PX * 1.2 * len(str(r[0]).split("\n")) + (10.0 if r[4] == 0 else 0.0)
        for r in rows
    ]
    height = sum(heights) + 8 if rows else 40.0
    body: list[str] = []
    if not rows:
        body.append(_text(0, 24, ["no data"], fill=MUTED))
    top = 4.0
    for row, row_h, unit in zip(rows, heights, unit_of, strict=True):
        if is_number(row[4]) and row[4] == 0 and unit in axes:
            end = axes[unit]
            note = f"shared axis 0–{format_number(end)}{unit_suffix(unit)}"
            body.extend(
                _bar_row(
                    (*row[:4], end), top, row_h, label_w, bar_x, bar_w, axis_note=note, unit=unit
                )
            )
        else:
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


# --------------------------------------------------------------------------- section charts
#
# Charts a standard asks for through the report's ``sections`` (see schema.json): line
# series, grouped bars, heatmaps and images with boxes. They take the chart dict exactly as the schema
# describes it, so nothing here knows which standard drew it.

# Ten colours that stay apart for common colour-vision deficiencies (Okabe-Ito based).
PALETTE = (
    "#2f6fdf",
    "#d55e00",
    "#009e73",
    "#cc79a7",
    "#e69f00",
    "#56b4e9",
    "#1f2733",
    "#8c564b",
    "#7b3fb5",
    "#8f8f1a",
)
# Dash patterns and marker shapes keep series apart when printed in greyscale.
DASHES = ("", "8 4", "2 3", "10 3 2 3", "5 2")
MARKERS = ("circle", "square", "triangle", "diamond", "cross")
# Probabilities labelled on a probit axis (DET curves), kept when inside the axis range.
PROBIT_TICKS = (
    1e-5,
    1e-4,
    0.001,
    0.01,
    0.05,
    0.1,
    0.2,
    0.4,
    0.6,
    0.8,
    0.9,
    0.95,
    0.99,
    0.999,
    0.9999,
    0.99999,
)
# A sequential blue scale for heatmaps, light (low) to dark (high), as RGB stops.
HEAT_STOPS = ((235, 242, 250), (198, 219, 239), (107, 174, 214), (33, 113, 181), (8, 48, 107))
NA_FILL = "#e4e7ec"
CHART_WIDTH = 640


def series_style(index: int) -> tuple[str, str, str]:
    """(colour, dash pattern, marker) of the ``index``-th series; the first 25 all differ."""
    return (
        PALETTE[index % len(PALETTE)],
        DASHES[(index + index // len(DASHES)) % len(DASHES)],
        MARKERS[index % len(MARKERS)],
    )


def _title_text(width: float, title: str) -> str:
    lines = [_fit(" ".join(str(title).split()), width / 13 - 1)]
    return _text(width / 2, 18, lines, anchor="middle", size=13, cls="chart-title")


def _px_len(text: str, size: int = FONT_PX) -> float:
    return _em_width(text) * size


# ----------------------------------------------------------------- axes and scales


def _tick_text(value: float) -> str:
    """A tick label: plain digits with thousands separators, exponents only at extremes."""
    if value == 0:
        return "0"
    if abs(value) >= 1e7 or abs(value) < 1e-4:
        return f"{value:.3g}"
    return f"{value:,.10g}"


def _percent_text(p: float) -> str:
    return f"{p * 100:.10g}%"


def _nice_step(span: float, target: int = 5) -> float:
    """A 1-2-5 step giving about ``target`` intervals over ``span``."""
    raw = span / target
    magnitude = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if raw <= mult * magnitude * (1 + 1e-9):
            return mult * magnitude
    return 10 * magnitude


def _probit(p: float) -> float:
    """Standard normal deviate of probability ``p`` (scipy.stats.norm.ppf; ndtri is its core)."""
    from scipy.special import ndtri  # lighter to import than scipy.stats

    return float(ndtri(p))


def _on_scale(scale: str, value: float) -> bool:
    """Whether a finite ``value`` can be placed on a ``scale`` axis."""
    if scale == "log":
        return value > 0
    if scale == "probit":
        return 0 < value < 1
    return True


class _Axis:
    """Maps data values of one axis to pixels: linear, log10 or probit (normal deviate)."""

    def __init__(self, scale: str, values: Sequence[float]) -> None:
        self.scale = scale
        t = [self.transform(v) for v in values]
        self.ticks: list[tuple[float, str]]  # (transformed position, label)
        if scale == "log":
            self._log_range(t)
        elif scale == "probit":
            self._probit_range(t)
        else:
            self._linear_range(t)

    def accepts(self, value: float) -> bool:
        """Whether ``value`` (finite) can be placed on this axis."""
        return _on_scale(self.scale, value)

    def transform(self, value: float) -> float:
        if self.scale == "log":
            return math.log10(value)
        if self.scale == "probit":
            return _probit(value)
        return float(value)

    def _linear_range(self, t: list[float]) -> None:
        lo, hi = (min(t), max(t)) if t else (0.0, 1.0)
        if lo == hi:
            pad = abs(lo) * 0.1 or 1.0
            lo, hi = lo - pad, hi + pad
        step = _nice_step(hi - lo)
        first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
        self.lo, self.hi = first * step, last * step
        self.ticks = [(k * step, _tick_text(k * step)) for k in range(first, last + 1)]

    def _log_range(self, t: list[float]) -> None:
        lo, hi = (math.floor(min(t)), math.ceil(max(t))) if t else (0, 1)
        if lo == hi:
            hi = lo + 1
        self.lo, self.hi = float(lo), float(hi)
        every = math.ceil((hi - lo) / 8)  # at most about eight labelled decades
        self.ticks = []
        for k in range(lo, hi + 1):
            if (k - lo) % every == 0:
                label = _tick_text(10.0**k) if -4 <= k <= 6 else f"1e{k}"
                self.ticks.append((float(k), label))
            if hi - lo <= 2 and k < hi:  # short ranges also get 2 and 5 marks
                for mult in (2, 5):
                    self.ticks.append((k + math.log10(mult), _tick_text(mult * 10.0**k)))
        self.ticks.sort()

    def _probit_range(self, t: list[float]) -> None:
        # Symmetric about 50%, as DET plots are drawn, and at least 0.1%..99.9%.
        half = max([_probit(0.999), *(abs(v) for v in t)])
        self.lo, self.hi = -half, half
        self.ticks = [
            (pos, _percent_text(p)) for p in PROBIT_TICKS if abs(pos := _probit(p)) <= half + 1e-9
        ]

    def px(self, value: float, start: float, length: float) -> float:
        """Pixel position of a data value; ``length`` is negative for an upward y axis."""
        return start + (self.transform(value) - self.lo) / (self.hi - self.lo) * length

    def tick_px(self, pos: float, start: float, length: float) -> float:
        return start + (pos - self.lo) / (self.hi - self.lo) * length


def _thin_ticks(
    ticks: list[tuple[float, str]], room: Callable[[str], float]
) -> list[tuple[float, str]]:
    """Drop ticks whose labels would overlap the previous kept one (pixel positions)."""
    kept: list[tuple[float, str]] = []
    for px, label in sorted(ticks):
        if not kept or abs(px - kept[-1][0]) >= (room(label) + room(kept[-1][1])) / 2 + 6:
            kept.append((px, label))
    return kept


def _marker_path(shape: str, x: float, y: float, r: float = 3.5) -> str:
    if shape == "circle":
        return f"M{_f(x - r)} {_f(y)}a{_f(r)} {_f(r)} 0 1 0 {_f(2 * r)} 0a{_f(r)} {_f(r)} 0 1 0 {_f(-2 * r)} 0Z"
    if shape == "square":
        r *= 0.9
        return f"M{_f(x - r)} {_f(y - r)}h{_f(2 * r)}v{_f(2 * r)}h{_f(-2 * r)}Z"
    if shape == "triangle":
        return f"M{_f(x)} {_f(y - r)}L{_f(x + r)} {_f(y + r * 0.8)}L{_f(x - r)} {_f(y + r * 0.8)}Z"
    if shape == "diamond":
        return f"M{_f(x)} {_f(y - r)}L{_f(x + r)} {_f(y)}L{_f(x)} {_f(y + r)}L{_f(x - r)} {_f(y)}Z"
    return f"M{_f(x - r)} {_f(y - r)}L{_f(x + r)} {_f(y + r)}M{_f(x - r)} {_f(y + r)}L{_f(x + r)} {_f(y - r)}"


# ----------------------------------------------------------------- lines


def _segments(
    xs: Sequence[Any], ys: Sequence[Any], x_axis: _Axis, y_axis: _Axis
) -> tuple[list[list[tuple[float, float]]], int, int]:
    """Split a series at null points; drop values the axis scale cannot show.

    Returns (segments of data points, dropped on x, dropped on y). A null or non-finite
    point breaks the line; a value off a log/probit axis is left out and counted.
    """
    segments: list[list[tuple[float, float]]] = [[]]
    dropped_x = dropped_y = 0
    for x, y in zip(xs, ys, strict=True):
        if not (is_number(x) and is_number(y)):
            if segments[-1]:
                segments.append([])
            continue
        ok_x, ok_y = x_axis.accepts(x), y_axis.accepts(y)
        dropped_x += not ok_x
        dropped_y += not ok_y
        if ok_x and ok_y:
            segments[-1].append((float(x), float(y)))
    return [s for s in segments if s], dropped_x, dropped_y


def _thin_points(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Drop points closer than half a pixel to the last kept one; keeps the SVG small."""
    kept = [points[0]]
    for i, (x, y) in enumerate(points[1:], start=1):
        last = kept[-1]
        if max(abs(x - last[0]), abs(y - last[1])) >= 0.5 or i == len(points) - 1:
            kept.append((x, y))
    return kept


def _marker_points(
    segments: list[list[tuple[float, float]]], count: int = 8
) -> list[tuple[float, float]]:
    """Up to ``count`` + 1 points spread evenly along the drawn length of the line.

    Spacing by length rather than by index keeps markers apart on a CDF, whose points
    crowd into its steep part.
    """
    points = [p for seg in segments for p in seg]
    lengths = [0.0]
    for seg in segments:
        for (x1, y1), (x2, y2) in zip(seg, seg[1:], strict=False):
            lengths.append(lengths[-1] + math.hypot(x2 - x1, y2 - y1))
        lengths.append(lengths[-1])  # the jump over a gap is not drawn
    lengths = lengths[: len(points)]
    total = lengths[-1]
    if total == 0:
        return points[:1] if len(points) == 1 else list(dict.fromkeys(points))[: count + 1]
    picked: list[tuple[float, float]] = []
    i = 0
    for k in range(count + 1):
        target = total * k / count
        while i < len(points) - 1 and lengths[i] < target - 1e-9:
            i += 1
        if not picked or picked[-1] != points[i]:
            picked.append(points[i])
    return picked


def _axis_values(series: Sequence[Mapping[str, Any]], key: str, scale: str) -> list[float]:
    """Every value of ``key`` ("x" or "y") that a ``scale`` axis can show."""
    return [float(v) for s in series for v in s[key] if is_number(v) and _on_scale(scale, v)]


def _legend(
    entries: list[tuple[str, str, str, str, str]], top: float, left: float, width: float
) -> tuple[list[str], float]:
    """Legend rows of (name, colour, dash, marker, kind) entries; returns (body, height)."""
    if not entries:
        return [], 0.0
    longest = max(_px_len(name) for name, *_ in entries) + 40
    cols = max(1, min(len(entries), int(width // max(longest, 150.0)), 3))
    col_w = width / cols
    body = []
    for i, (name, colour, dash, marker, kind) in enumerate(entries):
        x = left + (i % cols) * col_w
        y = top + (i // cols) * 18 + 9
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        if kind == "line":
            sample = (
                f'<path d="M{_f(x)} {_f(y)}H{_f(x + 28)}" stroke="{colour}" stroke-width="2"{dash_attr} fill="none"/>'
                f'<path d="{_marker_path(marker, x + 14, y)}" stroke="{colour}" stroke-width="1.5" fill="#ffffff"/>'
            )
        else:
            sample = (
                f'<rect x="{_f(x + 8)}" y="{_f(y - 6)}" width="12" height="12" fill="{colour}"/>'
            )
        label = _fit(" ".join(name.split()), (col_w - 44) / FONT_PX)
        body.append(
            f'<g class="legend-entry"><title>{_esc(name)}</title>{sample}'
            f"{_text(x + 34, y + 4, [label])}</g>"
        )
    return body, ((len(entries) + cols - 1) // cols) * 18 + 4


def _scale_notes(dropped: dict[str, int], scales: dict[str, str]) -> list[str]:
    notes = []
    for axis in ("x", "y"):
        n = dropped[axis]
        if n:
            what = "≤ 0" if scales[axis] == "log" else "≤ 0 or ≥ 1"
            notes.append(
                f"{n} value{'s' if n > 1 else ''} {what} not shown on the {scales[axis]} {axis} axis"
            )
    return notes


def lines_svg(chart: Mapping[str, Any], *, width: int = CHART_WIDTH) -> str:
    """Line series on linear, log10 or probit axes, with ticks, gridlines and a legend.

    ``chart`` is a ``lines`` chart from a report section. A null point breaks its line;
    values a log axis (≤ 0) or probit axis (outside (0, 1)) cannot show are left out and
    counted in a note under the chart. Each series gets its own colour, dash pattern and
    marker shape (markers at up to eight points), so the chart reads in greyscale too.
    """
    series: list[Mapping[str, Any]] = list(chart["series"])
    scales = {axis: axis_scale(chart, axis) for axis in ("x", "y")}
    x_axis = _Axis(scales["x"], _axis_values(series, "x", scales["x"]))
    y_axis = _Axis(scales["y"], _axis_values(series, "y", scales["y"]))

    y_labels = [label for _, label in y_axis.ticks]
    left = 22 + 8 + max(_px_len(label) for label in y_labels)
    # The last x tick label is centred on the right edge of the plot: leave room for it.
    right = max(16.0, _px_len(max(x_axis.ticks)[1]) / 2 + 4)
    top, plot_h = 34.0, 250.0
    plot_w = width - left - right
    bottom = top + plot_h
    body: list[str] = [_title_text(width, str(chart["title"]))]
    body.append(
        f'<rect class="plot" x="{_f(left)}" y="{_f(top)}" width="{_f(plot_w)}" '
        f'height="{_f(plot_h)}" fill="none" stroke="{GRID}"/>'
    )
    x_ticks = _thin_ticks(
        [(x_axis.tick_px(p, left, plot_w), lbl) for p, lbl in x_axis.ticks], _px_len
    )
    y_ticks = _thin_ticks(
        [(y_axis.tick_px(p, bottom, -plot_h), lbl) for p, lbl in y_axis.ticks],
        lambda _: FONT_PX * 1.2,
    )
    for px, label in x_ticks:
        body.append(
            f'<path class="grid" d="M{_f(px)} {_f(top)}V{_f(bottom + 4)}" stroke="{GRID}"/>'
        )
        body.append(_text(px, bottom + 16, [label], anchor="middle", fill=MUTED, cls="tick"))
    for py, label in y_ticks:
        body.append(
            f'<path class="grid" d="M{_f(left - 4)} {_f(py)}H{_f(left + plot_w)}" stroke="{GRID}"/>'
        )
        body.append(_text(left - 6, py + 4, [label], anchor="end", fill=MUTED, cls="tick"))
    x_label = _fit(" ".join(str(chart.get("x_label", "")).split()), plot_w / FONT_PX)
    body.append(_text(left + plot_w / 2, bottom + 34, [x_label], anchor="middle", cls="axis-label"))
    y_label = _fit(" ".join(str(chart.get("y_label", "")).split()), plot_h / FONT_PX)
    mid = top + plot_h / 2
    body.append(
        f'<text class="axis-label" x="14" y="{_f(mid)}" text-anchor="middle" '
        f'transform="rotate(-90 14 {_f(mid)})" font-size="{FONT_PX}" fill="{TEXT}">'
        f"{_esc(y_label)}</text>"
    )

    dropped = {"x": 0, "y": 0}
    entries = []
    any_points = False
    for i, s in enumerate(series):
        colour, dash, marker = series_style(i)
        segments, dx, dy = _segments(s["x"], s["y"], x_axis, y_axis)
        dropped["x"] += dx
        dropped["y"] += dy
        pixels = [
            _thin_points(
                [(x_axis.px(x, left, plot_w), y_axis.px(y, bottom, -plot_h)) for x, y in seg]
            )
            for seg in segments
        ]
        d = "".join("M" + "L".join(f"{_f(x)} {_f(y)}" for x, y in seg) for seg in pixels)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        name = str(s["name"])
        body.append(
            f'<path class="series" d="{d}" fill="none" stroke="{colour}" stroke-width="2" '
            f'stroke-linejoin="round"{dash_attr}><title>{_esc(name)}</title></path>'
        )
        flat = [p for seg in pixels for p in seg]
        if flat:
            any_points = True
            marks = "".join(_marker_path(marker, x, y) for x, y in _marker_points(pixels))
            body.append(
                f'<path class="markers" d="{marks}" stroke="{colour}" stroke-width="1.5" '
                f'fill="#ffffff"/>'
            )
        entries.append((name if flat else f"{name} (no data)", colour, dash, marker, "line"))
    if not any_points:
        body.append(
            _text(left + plot_w / 2, top + plot_h / 2, ["no data"], anchor="middle", fill=MUTED)
        )
    y_pos = bottom + 44
    for note in _scale_notes(dropped, scales):
        y_pos += 16
        body.append(_text(left, y_pos, [note], fill=MUTED, size=11, cls="note"))
    legend, legend_h = _legend(entries, y_pos + 8, left, plot_w)
    body.extend(legend)
    return _svg("lines", width, y_pos + 8 + legend_h + 6, str(chart["title"]), body)


# ----------------------------------------------------------------- grouped bars


def grouped_bars_svg(chart: Mapping[str, Any], *, width: int = CHART_WIDTH) -> str:
    """Horizontal bars, one group per label and one bar per series, on a shared value axis.

    ``chart`` is a ``bars`` chart from a report section (funnels, per-class scores). The
    axis always includes zero, so negative values grow left of it; null shows "n/a".
    """
    labels = [str(label) for label in chart["labels"]]
    series: list[Mapping[str, Any]] = list(chart["series"])
    unit = " ".join(str(chart.get("unit", "")).split())
    values = [float(v) for s in series for v in s["values"] if is_number(v)]
    axis = _Axis("linear", [0.0, *values])

    label_w = max(100.0, width * 0.3)
    bar_x = label_w + 10
    bar_w = max(80.0, width - bar_x - 80)  # room on the right for the value text
    top = 30.0
    body: list[str] = [_title_text(width, str(chart["title"]))]
    entries = [(str(s["name"]), series_style(i)[0], "", "", "box") for i, s in enumerate(series)]
    if len(series) > 1:
        legend, legend_h = _legend(entries, top, bar_x, bar_w + 70)
        body.extend(legend)
        top += legend_h + 4
    thick, gap = 12.0, 2.0
    group_h = max(len(series), 1) * (thick + gap) - gap + 12
    axis_y = top + 14
    plot_top = axis_y + 6
    plot_h = group_h * len(labels)
    zero = axis.px(0.0, bar_x, bar_w)
    ticks = _thin_ticks([(axis.tick_px(p, bar_x, bar_w), lbl) for p, lbl in axis.ticks], _px_len)
    for px, label in ticks:
        body.append(
            f'<path class="grid" d="M{_f(px)} {_f(plot_top - 3)}V{_f(plot_top + plot_h)}" '
            f'stroke="{GRID}" stroke-dasharray="2 3"/>'
        )
        body.append(_text(px, axis_y, [label], anchor="middle", fill=MUTED, cls="tick"))
    body.append(
        f'<path class="axis" d="M{_f(zero)} {_f(plot_top - 3)}V{_f(plot_top + plot_h)}" '
        f'stroke="{MUTED}"/>'
    )
    for g, label in enumerate(labels):
        y0 = plot_top + g * group_h + 6
        lines = _lines(label, label_w / FONT_PX - 0.5)
        mid = y0 + (group_h - 12) / 2
        text_y = mid + FONT_PX * 0.35 - (len(lines) - 1) * FONT_PX * 0.6
        body.append(
            f"<g><title>{_esc(' '.join(label.split()))}</title>{_text(0, text_y, lines)}</g>"
        )
        for i, s in enumerate(series):
            value = s["values"][g]
            y = y0 + i * (thick + gap)
            tip = f"{' '.join(label.split())} · {s['name']}: "
            if not is_number(value):
                body.append(
                    f"<g><title>{_esc(tip + 'n/a')}</title>"
                    f"{_text(zero + 4, y + thick - 2, ['n/a'], fill=MUTED, size=11, cls='value')}</g>"
                )
                continue
            end = axis.px(float(value), bar_x, bar_w)
            # A scale-only unit ("0-1") stays in the axis caption, not after each value.
            text = format_number(value) + unit_suffix(unit)
            body.append(
                f'<rect class="bar" x="{_f(min(zero, end))}" y="{_f(y)}" '
                f'width="{_f(abs(end - zero))}" height="{_f(thick)}" fill="{series_style(i)[0]}">'
                f"<title>{_esc(tip + text)}</title></rect>"
            )
            body.append(_text(max(zero, end) + 4, y + thick - 2, [text], size=11, cls="value"))
    if not labels:
        body.append(_text(bar_x, plot_top + 16, ["no data"], fill=MUTED))
        plot_h = 24
    height = plot_top + plot_h + (22 if unit else 8)
    if unit:
        body.append(
            _text(
                bar_x + bar_w / 2,
                height - 6,
                [f"values in {unit}"],
                anchor="middle",
                fill=MUTED,
                size=11,
            )
        )
    return _svg("grouped-bars", width, height, str(chart["title"]), body)


# ----------------------------------------------------------------- heatmap


def heat_colour(t: float) -> str:
    """Colour of a position ``t`` in 0..1 on the sequential scale (light = low)."""
    t = min(max(t, 0.0), 1.0) * (len(HEAT_STOPS) - 1)
    i = min(int(t), len(HEAT_STOPS) - 2)
    frac = t - i
    a, b = HEAT_STOPS[i], HEAT_STOPS[i + 1]
    return "#" + "".join(f"{round(x + (y - x) * frac):02x}" for x, y in zip(a, b, strict=True))


def _is_dark(colour: str) -> bool:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b < 140


def _hatch(x: float, y: float, w: float, h: float) -> str:
    """Diagonal hatching inside a cell (no <pattern>: ids would clash between charts)."""
    d = []
    step = 6.0
    k = step
    while k < w + h:
        x1, y1 = x + max(0.0, k - h), y + min(h, k)
        x2, y2 = x + min(w, k), y + max(0.0, k - w)
        d.append(f"M{_f(x1)} {_f(y1)}L{_f(x2)} {_f(y2)}")
        k += step
    return f'<path class="hatch" d="{"".join(d)}" stroke="#aab2bf" stroke-width="1"/>'


def heatmap_svg(chart: Mapping[str, Any], *, width: int = CHART_WIDTH) -> str:
    """A rows × columns grid of cells coloured on a sequential scale, values printed.

    ``chart`` is a ``heatmap`` chart from a report section (confusion matrices, scores
    per class and condition). Null cells are grey and hatched; a colour legend on the
    right gives the scale (its range is the smallest to largest value shown).
    """
    rows = [str(r) for r in chart["rows"]]
    columns = [str(c) for c in chart["columns"]]
    grid: list[list[Any]] = [list(r) for r in chart["values"]]
    unit = " ".join(str(chart.get("unit", "")).split())
    finite = [float(v) for r in grid for v in r if is_number(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)

    label_w = min(180.0, max([40.0, *(_px_len(r) + 10 for r in rows)]))
    legend_w = 90.0
    avail = width - label_w - legend_w - 8
    cell_w = min(72.0, max(18.0, avail / max(len(columns), 1)))
    cell_h = 24.0 if len(rows) <= 30 else 14.0
    longest = max([0.0, *(_px_len(c) for c in columns)])
    rotate = longest > cell_w - 4
    head_h = min(longest, 14 * FONT_PX) * 0.72 + 12 if rotate else 20.0
    left, top = label_w, 30 + head_h
    # As wide as the grid and its legend need (the title may ask for more), at most ``width``
    # unless the grid itself is wider.
    content_w = left + cell_w * len(columns) + legend_w + 8
    total_w = max(content_w, min(width, _px_len(str(chart["title"]), 13) + 40))
    body: list[str] = [_title_text(total_w, str(chart["title"]))]
    for j, col in enumerate(columns):
        cx = left + (j + 0.5) * cell_w
        name = " ".join(col.split())
        if rotate:
            text = _esc(_fit(name, 14))
            body.append(
                f'<text class="label" x="{_f(cx)}" y="{_f(top - 6)}" text-anchor="start" '
                f'transform="rotate(-45 {_f(cx)} {_f(top - 6)})" font-size="{FONT_PX}" '
                f'fill="{TEXT}"><title>{_esc(name)}</title>{text}</text>'
            )
        else:
            body.append(_text(cx, top - 7, [name], anchor="middle"))
    for i, row in enumerate(rows):
        name = " ".join(row.split())
        y = top + i * cell_h
        body.append(
            f"<g><title>{_esc(name)}</title>"
            f"{_text(label_w - 6, y + cell_h / 2 + 4, [_fit(name, 14)], anchor='end')}</g>"
        )
        for j, col in enumerate(columns):
            value = grid[i][j]
            x = left + j * cell_w
            tip = f"{name} × {' '.join(col.split())}: "
            if not is_number(value):
                body.append(
                    f'<rect class="cell na" x="{_f(x)}" y="{_f(y)}" width="{_f(cell_w)}" '
                    f'height="{_f(cell_h)}" fill="{NA_FILL}" stroke="#ffffff">'
                    f"<title>{_esc(tip + 'n/a')}</title></rect>"
                )
                body.append(_hatch(x, y, cell_w, cell_h))
                continue
            colour = heat_colour((float(value) - lo) / (hi - lo) if hi > lo else 0.5)
            text = format_number(value)
            body.append(
                f'<rect class="cell" x="{_f(x)}" y="{_f(y)}" width="{_f(cell_w)}" '
                f'height="{_f(cell_h)}" fill="{colour}" stroke="#ffffff">'
                f"<title>{_esc(tip + text + unit_suffix(unit))}</title></rect>"
            )
            if cell_h >= 20 and _px_len(text, 11) <= cell_w - 4:
                fill = "#ffffff" if _is_dark(colour) else TEXT
                body.append(
                    _text(
                        x + cell_w / 2,
                        y + cell_h / 2 + 4,
                        [text],
                        anchor="middle",
                        fill=fill,
                        size=11,
                        cls="value",
                    )
                )
    grid_h = max(cell_h * len(rows), 0.0)
    if not rows or not columns:
        body.append(_text(left, top + 16, ["no data"], fill=MUTED))
        grid_h = 24.0
    # Colour legend: discrete steps from low (bottom) to high (top), no gradient ids needed.
    lx = left + cell_w * len(columns) + 16
    steps, step_h = 8, 12.0
    for k in range(steps):
        y = top + (steps - 1 - k) * step_h
        body.append(
            f'<rect class="legend-step" x="{_f(lx)}" y="{_f(y)}" width="14" '
            f'height="{_f(step_h)}" fill="{heat_colour(k / (steps - 1))}"/>'
        )
    body.append(_text(lx + 18, top + 9, [format_number(hi)], fill=MUTED, size=11, cls="tick"))
    body.append(
        _text(lx + 18, top + steps * step_h, [format_number(lo)], fill=MUTED, size=11, cls="tick")
    )
    legend_bottom = top + steps * step_h
    if unit:
        legend_bottom += 16
        body.append(_text(lx, legend_bottom, [_fit(unit, 6)], fill=MUTED, size=11))
    if any(not is_number(v) for r in grid for v in r):
        y = legend_bottom + 8
        body.append(
            f'<rect class="legend-na" x="{_f(lx)}" y="{_f(y)}" width="14" height="12" fill="{NA_FILL}"/>'
        )
        body.append(_hatch(lx, y, 14, 12))
        body.append(_text(lx + 18, y + 10, ["n/a"], fill=MUTED, size=11))
        legend_bottom = y + 12
    height = max(top + grid_h, legend_bottom) + 10
    return _svg("heatmap", total_w, height, str(chart["title"]), body)


# ----------------------------------------------------------------- boxes over an image

BOXES_PX = 240  # the longer side of the drawn image, px
GOLD_COLOUR = PALETTE[2]  # green
PRED_COLOUR = PALETTE[0]  # blue
GOLD_DASH = "5 3"
# Colour and legend wording of each matching status other than "valid" (Okabe-Ito hues;
# missing and extra share one colour and are told apart by the dash of their role).
STATUS_STYLE = {
    "low_overlap": ("#56b4e9", "low overlap"),
    "mismatched": ("#cc79a7", "wrong label"),
    "missing": ("#d55e00", "missing"),
    "extra": ("#d55e00", "extra"),
}


def _box_tip(role: str, box: Mapping[str, Any]) -> str:
    parts = [
        "gold" if role == "gold" else "predicted",
        " ".join(str(box["label"]).split()) or "(no label)",
        f"x {format_number(box['x'])}, y {format_number(box['y'])}, "
        f"{format_number(box['w'])}×{format_number(box['h'])} px",
    ]
    if box.get("score") is not None:
        parts.append(f"score {format_number(box['score'])}")
    status = box.get("status")
    if status and status != "valid":
        parts.append(STATUS_STYLE[status][1])
    return " · ".join(parts)


def _boxes_legend(statuses: set[str], top: float, width: float) -> tuple[list[str], float]:
    """Gold/predicted line samples, then a swatch per status present; flows onto rows."""
    entries: list[tuple[str, str]] = [
        (
            "gold",
            f'<path d="M0 0H20" stroke="{GOLD_COLOUR}" stroke-width="2" '
            f'stroke-dasharray="{GOLD_DASH}"/>',
        ),
        ("predicted", f'<path d="M0 0H20" stroke="{PRED_COLOUR}" stroke-width="2"/>'),
    ]
    for status, (colour, name) in STATUS_STYLE.items():
        if status in statuses:
            # Only gold boxes are missing: their sample is dashed like a gold box.
            dash = ' stroke-dasharray="3 2"' if status == "missing" else ""
            entries.append(
                (
                    name,
                    f'<rect x="5" y="-5" width="12" height="10" fill="none" '
                    f'stroke="{colour}" stroke-width="2"{dash}/>',
                )
            )
    body, x, y = [], 4.0, top + 8
    for name, sample in entries:
        w = 26 + _px_len(name, 11)
        if x > 4 and x + w > width - 4:
            x, y = 4.0, y + 16
        body.append(
            f'<g class="legend-entry" transform="translate({_f(x)} {_f(y)})">{sample}'
            f"{_text(24, 4, [name], fill=MUTED, size=11)}</g>"
        )
        x += w + 10
    return body, y - top + 10


def boxes_svg(chart: Mapping[str, Any], *, max_side: int = BOXES_PX) -> str:
    """An image with its gold boxes (dashed) and predicted boxes (solid) drawn over it.

    ``chart`` is a ``boxes`` chart from a report section. Coordinates are pixels of the
    original ``width`` × ``height`` image; the embedded image (often a smaller thumbnail)
    is stretched to that size and the whole drawn with its longer side ``max_side`` px.
    Colour gives a box's matching status when it has one, and a legend under the
    caption names the styles in use. Boxes are clipped to the image; labels, scores and
    coordinates are in each box's tooltip. Raises ValueError for any image other than a
    base64 PNG, JPEG or WebP data: URI, so no other URI can reach the page.
    """
    image = chart.get("image")
    if image is not None and (problem := image_uri_problem(image)):
        raise ValueError(problem)
    img_w, img_h = float(chart["width"]), float(chart["height"])
    scale = max_side / max(img_w, img_h)
    dw, dh = img_w * scale, img_h * scale
    width = max(dw, 200.0) + 8
    ox, oy = (width - dw) / 2, 28.0
    title = str(chart["title"])
    body: list[str] = [_title_text(width, title)]
    inner = []
    if image is not None:
        inner.append(
            f'<image href="{_esc(image)}" x="0" y="0" width="{_f(dw)}" height="{_f(dh)}" '
            f'preserveAspectRatio="none"/>'
        )
    else:
        inner.append(f'<rect x="0" y="0" width="{_f(dw)}" height="{_f(dh)}" fill="{NA_FILL}"/>')
        inner.append(_text(dw / 2, dh / 2 + 4, ["no image"], anchor="middle", fill=MUTED))
    halo, rects, statuses = [], [], set()
    for role in ("gold", "pred"):
        for box in chart[role]:
            x, y = float(box["x"]) * scale, float(box["y"]) * scale
            w, h = float(box["w"]) * scale, float(box["h"]) * scale
            status = box.get("status") or "valid"
            statuses.add(status)
            default = GOLD_COLOUR if role == "gold" else PRED_COLOUR
            colour = STATUS_STYLE[status][0] if status in STATUS_STYLE else default
            dash = f' stroke-dasharray="{GOLD_DASH}"' if role == "gold" else ""
            halo.append(f"M{_f(x)} {_f(y)}h{_f(w)}v{_f(h)}h{_f(-w)}Z")
            rects.append(
                f'<rect class="box {role} status-{status}" x="{_f(x)}" y="{_f(y)}" '
                f'width="{_f(w)}" height="{_f(h)}" fill="none" stroke="{colour}" '
                f'stroke-width="2"{dash}><title>{_esc(_box_tip(role, box))}</title></rect>'
            )
    if halo:  # a pale outline under every box keeps it visible on dark images
        inner.append(
            f'<path class="halo" d="{"".join(halo)}" fill="none" stroke="#ffffff" '
            f'stroke-width="4" stroke-opacity="0.6"/>'
        )
    inner.extend(rects)
    # A nested <svg> is its own viewport, so boxes reaching past the image are clipped.
    body.append(
        f'<svg class="image-area" x="{_f(ox)}" y="{_f(oy)}" width="{_f(dw)}" '
        f'height="{_f(dh)}">{"".join(inner)}</svg>'
    )
    body.append(
        f'<rect x="{_f(ox)}" y="{_f(oy)}" width="{_f(dw)}" height="{_f(dh)}" '
        f'fill="none" stroke="{GRID}"/>'
    )
    top = oy + dh
    caption = str(chart.get("caption") or "").strip()
    if caption:
        lines = [_fit(" ".join(part.split()), (width - 8) / 11) for part in caption.split("\n")]
        shown = lines[:2]
        full = " · ".join(" ".join(part.split()) for part in caption.split("\n"))
        body.append(
            f'<g class="caption"><title>{_esc(full)}</title>'
            f"{_text(4, top + 15, shown, size=11)}</g>"
        )
        top += 15 + 11 * 1.2 * (len(shown) - 1)
    legend, legend_h = _boxes_legend(statuses, top + 4, width)
    body.extend(legend)
    return _svg("boxes", width, top + 4 + legend_h, title, body)


def chart_svg(chart: Mapping[str, Any]) -> str:
    """Draw one section chart by its ``kind``: lines, bars, heatmap or boxes."""
    kind = chart["kind"]
    if kind == "boxes":
        return boxes_svg(chart)
    if kind == "lines":
        return lines_svg(chart)
    if kind == "bars":
        return grouped_bars_svg(chart)
    if kind == "heatmap":
        return heatmap_svg(chart)
    raise ValueError(f"unknown chart kind {kind!r}")
