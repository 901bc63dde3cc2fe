"""Dashboard-only charts: the overlaid radar of compared runs.

The report's charts (`pingce.core.report.charts`) draw one run; comparing runs needs one
polygon per run on shared axes. Every label is escaped here; colours and dash patterns come
from the report's series styles so a run looks the same in every chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from pingce.core.report.charts import series_style

FONT = 12


def _f(x: float) -> str:
    return f"{x:.1f}"


def _clamp(v: float | None) -> float:
    if v is None or not math.isfinite(v):
        return 0.0
    return min(1.0, max(0.0, v))


def _wrap(text: str, width: int = 18) -> list[str]:
    words, lines, line = str(text).split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    if line:
        lines.append(line)
    return lines[:3] or [""]


def overlay_radar_svg(
    labels: Sequence[str], runs: Sequence[tuple[str, Sequence[float | None]]], *, size: int = 340
) -> Markup:
    """One polygon per run over the same 0..1 axes, with a legend naming each run. Labels are
    wrapped and the canvas padded so none is cut off; a missing value is drawn at 0 and
    listed as "n/a" in the point's tooltip."""
    n = len(labels)
    pad_x, pad_y = 150, 70
    legend_h = 18 * len(runs) + 10
    width, height = size + 2 * pad_x, size + 2 * pad_y + legend_h
    cx, cy, radius = width / 2, pad_y + size / 2, size / 2 - 8

    def vertex(i: int, r: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * i / n
        return cx + r * math.cos(angle), cy + r * math.sin(angle)

    body: list[str] = []
    for ring in (0.25, 0.5, 0.75, 1.0):
        pts = " ".join(f"{_f(x)},{_f(y)}" for x, y in (vertex(i, radius * ring) for i in range(n)))
        body.append(f'<polygon points="{pts}" fill="none" stroke="#d5dbe5"/>')
    for i, label in enumerate(labels):
        x, y = vertex(i, radius)
        body.append(f'<line x1="{_f(cx)}" y1="{_f(cy)}" x2="{_f(x)}" y2="{_f(y)}" stroke="#d5dbe5"/>')  # fmt: skip
        lx, ly = vertex(i, radius + 14)
        anchor = "middle" if abs(lx - cx) < 8 else ("start" if lx > cx else "end")
        lines = _wrap(label)
        dy0 = -FONT * 1.1 * (len(lines) - 1) if ly < cy - 8 else 0 if ly > cy + 8 else -FONT * 0.55 * (len(lines) - 1)  # fmt: skip
        spans = "".join(
            f'<tspan x="{_f(lx)}" dy="{_f(dy0 if k == 0 else FONT * 1.1)}">{escape(t)}</tspan>'
            for k, t in enumerate(lines)
        )
        body.append(f'<text class="axis-label" y="{_f(ly + 4)}" text-anchor="{anchor}" font-size="{FONT}">{spans}</text>')  # fmt: skip
    for k, (name, values) in enumerate(runs):
        colour, dash, _marker = series_style(k)
        pts = [vertex(i, radius * _clamp(v)) for i, v in enumerate(values)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(
            f'<polygon class="radar-run" points="{" ".join(f"{_f(x)},{_f(y)}" for x, y in pts)}" '
            f'fill="{colour}" fill-opacity="0.10" stroke="{colour}" stroke-width="2"{dash_attr}/>'
        )
        for (x, y), label, v in zip(pts, labels, values, strict=True):
            tip = f"{name} · {label}: {'n/a' if v is None else f'{v:.3f}'}"
            body.append(f'<circle cx="{_f(x)}" cy="{_f(y)}" r="3" fill="{colour}"><title>{escape(tip)}</title></circle>')  # fmt: skip
        ly = pad_y * 2 + size + 14 + 18 * k
        body.append(f'<line x1="{_f(pad_x)}" y1="{_f(ly - 4)}" x2="{_f(pad_x + 26)}" y2="{_f(ly - 4)}" stroke="{colour}" stroke-width="2"{dash_attr}/>')  # fmt: skip
        body.append(f'<text x="{_f(pad_x + 32)}" y="{_f(ly)}" font-size="{FONT}">{escape(name)}</text>')  # fmt: skip
    return Markup(
        f'<svg class="chart radar-overlay" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {_f(width)} {_f(height)}" width="{_f(width)}" height="{_f(height)}" '
        f'font-family="system-ui, sans-serif"><title>Capability radar of the compared runs</title>'
        f"{''.join(body)}</svg>"
    )
