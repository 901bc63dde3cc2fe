"""Tests for standard-specific report sections: schema checks, the three renderers, charts."""

from __future__ import annotations

import copy
import json
import math
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from scipy.stats import norm

from pingce.core.errors import ReportError
from pingce.core.report import render_html, render_json, render_markdown, validate_report
from pingce.core.report.charts import (
    GOLD_COLOUR,
    PRED_COLOUR,
    STATUS_STYLE,
    boxes_svg,
    grouped_bars_svg,
    heat_colour,
    heatmap_svg,
    lines_svg,
    series_style,
)
from pingce.core.report.render import MAX_IMAGE_CHARS

XSS = "<script>alert(1)</script>"
XSS_ATTR = '" onload="x'


def _latency_section() -> dict[str, Any]:
    return {
        "id": "latency",
        "title": "Latency",
        "title_zh": "时延",
        "text": "Time to first token per request.\nMeasured on 127.0.0.1.",
        "table": {
            "columns": ["Load (req/s)", "p50 (ms)", "p99 (ms)", "note"],
            "rows": [[1, 12.3456, 40.0, "warm"], [8, 15.0, None, "p99 not reached"]],
        },
        "charts": [
            {
                "kind": "lines",
                "title": "Latency CDF",
                "x_label": "latency (ms)",
                "y_label": "share of requests",
                "x_log": True,
                "y_log": False,
                "series": [
                    {"name": "load 1", "x": [0.0, 10.0, 20.0, 100.0], "y": [0.0, 0.5, 0.9, 1.0]},
                    {"name": "load 8", "x": [5.0, 30.0, None, 900.0], "y": [0.1, 0.6, 0.8, 1.0]},
                ],
            },
            {
                "kind": "lines",
                "title": "Throughput against load",
                "x_label": "offered load (req/s)",
                "y_label": "tokens/s",
                "x_log": False,
                "y_log": False,
                "series": [{"name": "subject", "x": [1, 2, 4, 8], "y": [100, 190, 350, 420]}],
            },
        ],
    }


def _det_section() -> dict[str, Any]:
    fpr = [0.001, 0.01, 0.05, 0.2, 0.5]
    return {
        "id": "det",
        "title": "DET curve",
        "title_zh": "检测误差权衡曲线",
        "charts": [
            {
                "kind": "lines",
                "title": "DET",
                "x_label": "false alarm rate",
                "y_label": "miss rate",
                "x_log": False,
                "y_log": False,
                "x_scale": "probit",
                "y_scale": "probit",
                "series": [
                    {"name": "system A", "x": fpr, "y": [0.4, 0.2, 0.1, 0.03, 0.01]},
                    {"name": "system B", "x": [0.0, *fpr], "y": [1.0, 0.5, 0.3, 0.2, 0.08, 0.02]},
                ],
            }
        ],
    }


def _funnel_section() -> dict[str, Any]:
    return {
        "id": "funnel",
        "title": "Data funnel",
        "title_zh": "数据漏斗",
        "charts": [
            {
                "kind": "bars",
                "title": "Documents kept per stage",
                "labels": ["read", "language filter", "dedup"],
                "series": [
                    {"name": "web", "values": [1000, 800, 500]},
                    {"name": "books", "values": [200, None, 150]},
                ],
                "unit": "docs",
            }
        ],
    }


def _confusion_section() -> dict[str, Any]:
    return {
        "id": "confusion",
        "title": "Confusion matrix",
        "title_zh": "混淆矩阵",
        "charts": [
            {
                "kind": "heatmap",
                "title": "Predicted against true class",
                "rows": ["cat", "dog", "bird"],
                "columns": ["cat", "dog", "bird"],
                "values": [[50, 3, 1], [4, 40, None], [0, 2, 30]],
                "unit": "images",
            }
        ],
    }


def _doc(sections: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A minimal valid report document with the given sections (none: key left out)."""
    doc: dict[str, Any] = {
        "schema_version": "1.0",
        "generated_at": "2026-11-28T12:00:00+00:00",
        "pingce_version": "0.1.0",
        "run": {
            "id": "run-1",
            "standard": "perf",
            "suite": "s",
            "suite_title": "Suite",
            "subject": "m",
            "status": "completed",
            "created_at": "2026-11-28T11:00:00+00:00",
            "finished_at": None,
            "config_hash": "h",
            "config": {},
            "environment": {},
        },
        "standard": {"id": "perf", "title": "Performance", "title_zh": "性能"},
        "tasks": [],
        "dimensions": [],
        "overall": {"score": None, "method": "none"},
        "indicators": [],
        "samples": [],
        "notes": [],
        "extra": {},
    }
    if sections is not None:
        doc["sections"] = sections
    return doc


@pytest.fixture
def doc() -> dict[str, Any]:
    return _doc([_latency_section(), _det_section(), _funnel_section(), _confusion_section()])


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def _tags(markup: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(markup)
    parser.close()
    return parser.tags


def _with_class(markup: str, tag: str, cls: str) -> list[dict[str, str | None]]:
    return [a for t, a in _tags(markup) if t == tag and cls in (a.get("class") or "").split()]


def _path_points(d: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"[ML](-?[\d.]+) (-?[\d.]+)", d)]


def _plot_box(svg: str) -> tuple[float, float, float, float]:
    rect = _with_class(svg, "rect", "plot")[0]
    return tuple(float(rect[k] or 0) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


# --------------------------------------------------------------------------- schema


def test_sections_validate_and_stay_optional(doc: dict[str, Any]) -> None:
    validate_report(doc)
    validate_report(_doc())  # no sections key at all
    validate_report(_doc([]))


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["sections"][0]["charts"][0]["series"][1]["y"].pop(),
            r"section 'latency' chart 'Latency CDF': series 'load 8' has 4 x values but 3 y",
        ),
        (
            lambda d: d["sections"][2]["charts"][0]["series"][0]["values"].pop(),
            r"section 'funnel' chart 'Documents kept per stage': series 'web' has 2 values",
        ),
        (
            lambda d: d["sections"][3]["charts"][0]["values"][1].append(7),
            r"section 'confusion' chart 'Predicted against true class': row 'dog' has 4 values",
        ),
        (
            lambda d: d["sections"][3]["charts"][0]["values"].pop(),
            r"section 'confusion' chart .*: 2 value rows for 3 row labels",
        ),
        (
            lambda d: d["sections"][0]["table"]["rows"][1].pop(),
            r"section 'latency' table row 1 has 3 cells for 4 columns",
        ),
        (
            lambda d: d["sections"][1]["charts"][0].update(x_log=True),
            r"section 'det' chart 'DET': x_log is true but x_scale is 'probit'",
        ),
        (
            lambda d: d["sections"].append(_funnel_section()),
            r"section 'funnel' appears more than once",
        ),
    ],
)
def test_malformed_sections_name_the_section(
    doc: dict[str, Any], mutate: Any, expected: str
) -> None:
    mutate(doc)
    with pytest.raises(ReportError, match=expected) as info:
        validate_report(doc)
    assert "\n" not in info.value.one_line()


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["sections"][2]["charts"][0].update(kind="pie"), r"'pie' is not one of"),
        (lambda d: d["sections"][3]["charts"][0].update(colour="red"), r"colour"),
        (lambda d: d["sections"][0]["charts"][1].update(x_scale="sqrt"), r"'sqrt'"),
        (lambda d: d["sections"][2]["charts"][0]["labels"].append(3), r"3 is not of type"),
        (lambda d: d["sections"][0]["table"]["rows"][0].append([1]), r"is not of type"),
        (lambda d: d["sections"][3].pop("title_zh"), r"title_zh"),
    ],
)
def test_schema_errors_in_sections_name_the_section(
    doc: dict[str, Any], mutate: Any, expected: str
) -> None:
    mutate(doc)
    with pytest.raises(ReportError, match=expected) as info:
        validate_report(doc)
    assert re.search(
        r"\$\.sections\[\d\].*\(section '(latency|funnel|confusion)'", info.value.message
    )


def test_schema_error_names_the_chart(doc: dict[str, Any]) -> None:
    doc["sections"][2]["charts"][0]["kind"] = "pie"
    with pytest.raises(ReportError, match=r"section 'funnel', chart 'Documents kept per stage'"):
        validate_report(doc)


def test_renderers_refuse_malformed_sections(doc: dict[str, Any]) -> None:
    doc["sections"][0]["charts"][0]["series"][0]["x"].append(1.0)
    for render in (render_html, render_markdown, render_json):
        with pytest.raises(ReportError, match="section 'latency'"):
            render(doc)


# --------------------------------------------------------------------------- renderers


def test_json_passes_sections_through_with_non_finite_as_null(doc: dict[str, Any]) -> None:
    expected = copy.deepcopy(doc)
    assert json.loads(render_json(doc)) == expected
    doc["sections"][0]["charts"][1]["series"][0]["y"][2] = float("nan")
    doc["sections"][3]["charts"][0]["values"][0][0] = float("inf")
    doc["sections"][0]["table"]["rows"][0][1] = float("-inf")
    loaded = json.loads(render_json(doc))
    assert loaded["sections"][0]["charts"][1]["series"][0]["y"] == [100, 190, None, 420]
    assert loaded["sections"][3]["charts"][0]["values"][0][0] is None
    assert loaded["sections"][0]["table"]["rows"][0][1] is None
    validate_report(loaded)  # what we write reads back as a valid document


def test_markdown_renders_sections_as_tables(doc: dict[str, Any]) -> None:
    md = render_markdown(doc)
    assert "## Latency · 时延" in md and "## Data funnel · 数据漏斗" in md
    assert "Time to first token per request.\nMeasured on 127.0.0.1." in md
    assert "| Load (req/s) | p50 (ms) | p99 (ms) | note |" in md
    assert "| 1 | 12.35 | 40 | warm |" in md  # numbers through format_number
    assert "| 8 | 15 | — | p99 not reached |" in md  # null as the missing mark
    assert "chart: Latency CDF (see the HTML report)" in md
    assert "chart: DET (see the HTML report)" in md
    # Bars and heatmaps keep their data, so nothing is lost in Markdown.
    assert "chart: Documents kept per stage (see the HTML report); values in docs" in md
    assert "|   | web | books |" in md
    assert "| language filter | 800 | — |" in md
    assert "|   | cat | dog | bird |" in md
    assert "| dog | 4 | 40 | — |" in md
    # Sections come after the per-task scores and before the indicators.
    assert md.index("## Latency") < md.index("## Environment")


def test_html_renders_every_section_with_its_charts(doc: dict[str, Any]) -> None:
    page = render_html(doc)
    tags = _tags(page)
    details = [
        a["id"] for t, a in tags if t == "details" and "std-section" in (a.get("class") or "")
    ]
    assert details == ["section-latency", "section-det", "section-funnel", "section-confusion"]
    assert "检测误差权衡曲线" in page and "Measured on 127.0.0.1." in page
    assert len(_with_class(page, "svg", "lines")) == 3
    assert len(_with_class(page, "svg", "grouped-bars")) == 1
    assert len(_with_class(page, "svg", "heatmap")) == 1
    assert '<td class="num">12.35</td>' in page and "<td>p99 not reached</td>" in page
    assert "<td>—</td>" in page  # null cell
    assert page.count("<script") == 1  # no new scripts: the CSP hash still covers all
    # Right after the per-task scores, before the indicators.
    assert page.index('id="tasks"') < page.index('id="section-latency"')
    assert page.index('id="section-confusion"') < page.index('id="indicators"')


def test_html_section_anchor_has_no_whitespace() -> None:
    section = _funnel_section()
    section["id"] = "data funnel\tstage"
    assert 'id="section-data-funnel-stage"' in render_html(_doc([section]))


def test_docs_without_sections_render_as_before() -> None:
    bare, empty = _doc(), _doc([])
    assert render_markdown(bare) == render_markdown(empty)
    assert render_html(bare) == render_html(empty)
    assert "std-section" not in render_html(bare)
    assert "sections" not in json.loads(render_json(bare))


def test_sections_escape_untrusted_text() -> None:
    section = _funnel_section()
    section["title"] = XSS
    section["title_zh"] = XSS_ATTR
    section["text"] = XSS
    section["table"] = {"columns": [XSS], "rows": [[XSS_ATTR]]}
    chart = section["charts"][0]
    chart["title"] = XSS
    chart["labels"][0] = XSS
    chart["series"][0]["name"] = XSS_ATTR
    chart["unit"] = XSS
    heat = _confusion_section()
    heat["id"] = XSS_ATTR
    heat["charts"][0]["rows"][0] = XSS
    heat["charts"][0]["columns"][1] = XSS_ATTR * 3  # long: drawn rotated
    lines = _det_section()
    lines["charts"][0]["series"][0]["name"] = XSS
    lines["charts"][0]["x_label"] = XSS_ATTR
    page = render_html(_doc([section, heat, lines]))
    assert XSS not in page and XSS_ATTR not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    tags = _tags(page)
    assert [t for t, _ in tags].count("script") == 1
    assert not any("onload" in attrs for _, attrs in tags)


# --------------------------------------------------------------------------- lines


def test_lines_draw_one_path_per_series_with_distinct_styles() -> None:
    series = [{"name": f"s{i}", "x": [1, 2, 3], "y": [i, i + 1, i + 3]} for i in range(10)]
    chart = {"kind": "lines", "title": "ten", "x_label": "x", "y_label": "y", "series": series}
    svg = lines_svg(chart)
    paths = _with_class(svg, "path", "series")
    assert len(paths) == 10
    styles = {
        (p["stroke"], p.get("stroke-dasharray"), series_style(i)[2]) for i, p in enumerate(paths)
    }
    assert len(styles) == 10
    # Greyscale: dash pattern and marker together tell the ten series apart.
    assert len({(series_style(i)[1], series_style(i)[2]) for i in range(10)}) == 10
    assert len(_with_class(svg, "g", "legend-entry")) == 10


def test_lines_map_data_linearly_onto_the_plot() -> None:
    chart = {
        "kind": "lines",
        "title": "t",
        "series": [{"name": "a", "x": [0, 5, 10], "y": [0, 50, 100]}],
    }
    svg = lines_svg(chart)
    x0, y0, w, h = _plot_box(svg)
    points = _path_points(_with_class(svg, "path", "series")[0]["d"])
    # Nice ticks 0..10 and 0..100 span the plot exactly, so the line runs corner to corner.
    assert points == [
        pytest.approx((x0, y0 + h), abs=0.1),
        pytest.approx((x0 + w / 2, y0 + h / 2), abs=0.1),
        pytest.approx((x0 + w, y0), abs=0.1),
    ]
    for label in (">0<", ">2<", ">10<", ">60<", ">100<"):
        assert label in svg


def test_log_axis_drops_non_positive_values_with_a_note() -> None:
    chart = {
        "kind": "lines",
        "title": "CDF",
        "x_log": True,
        "series": [{"name": "a", "x": [0.0, -1.0, 1.0, 10.0, 100.0], "y": [0, 0.1, 0.2, 0.6, 1.0]}],
    }
    svg = lines_svg(chart)
    points = _path_points(_with_class(svg, "path", "series")[0]["d"])
    assert len(points) == 3
    x0, _, w, _ = _plot_box(svg)
    # Decades 1..100: 10 sits halfway along a log axis.
    assert [p[0] for p in points] == pytest.approx([x0, x0 + w / 2, x0 + w], abs=0.1)
    assert "2 values ≤ 0 not shown on the log x axis" in svg
    assert ">1<" in svg and ">10<" in svg and ">100<" in svg


def test_y_log_scale_and_null_gaps() -> None:
    chart = {
        "kind": "lines",
        "title": "t",
        "y_scale": "log",
        "series": [{"name": "a", "x": [1, 2, 3, 4], "y": [1, 10, None, 1000]}],
    }
    svg = lines_svg(chart)
    d = _with_class(svg, "path", "series")[0]["d"]
    assert d.count("M") == 2  # the null point splits the line in two
    _, y0, _, h = _plot_box(svg)
    ys = [p[1] for p in _path_points(d)]
    assert ys == pytest.approx([y0 + h, y0 + h * 2 / 3, y0], abs=0.1)
    assert "not shown" not in svg  # nulls are gaps, not dropped values


def test_probit_axes_centre_fifty_percent() -> None:
    chart = {
        "kind": "lines",
        "title": "DET",
        "x_scale": "probit",
        "y_scale": "probit",
        "series": [{"name": "a", "x": [0.5, 0.1, 0.0], "y": [0.5, 0.01, 1.0]}],
    }
    svg = lines_svg(chart)
    x0, y0, w, h = _plot_box(svg)
    points = _path_points(_with_class(svg, "path", "series")[0]["d"])
    assert len(points) == 2  # (0, 1) is off both probit axes
    assert points[0] == pytest.approx((x0 + w / 2, y0 + h / 2), abs=0.1)
    # Reference: scipy.stats.norm.ppf; the axis spans ±ppf(0.999) when data stay inside.
    half = norm.ppf(0.999)
    assert points[1][0] == pytest.approx(x0 + w / 2 + norm.ppf(0.1) / half * w / 2, abs=0.1)
    assert points[1][1] == pytest.approx(y0 + h / 2 - norm.ppf(0.01) / half * h / 2, abs=0.1)
    for label in ("0.1%", "1%", "5%", "10%", "20%", "40%"):
        assert f">{label}<" in svg
    assert "not shown on the probit x axis" in svg and "not shown on the probit y axis" in svg


def test_probit_axis_widens_for_rarer_errors() -> None:
    chart = {
        "kind": "lines",
        "title": "DET",
        "x_scale": "probit",
        "series": [{"name": "a", "x": [1e-4, 0.5], "y": [1, 2]}],
    }
    svg = lines_svg(chart)
    x0, _, w, _ = _plot_box(svg)
    points = _path_points(_with_class(svg, "path", "series")[0]["d"])
    assert points[0][0] == pytest.approx(x0, abs=0.1)
    assert points[1][0] == pytest.approx(x0 + w / 2, abs=0.1)
    assert ">0.01%<" in svg


def test_lines_without_data_say_so() -> None:
    svg = lines_svg({"kind": "lines", "title": "t", "series": [{"name": "a", "x": [], "y": []}]})
    assert "no data" in svg and "a (no data)" in svg
    assert lines_svg({"kind": "lines", "title": "t", "series": []}).count("no data") == 1


def test_long_series_are_thinned_but_keep_their_ends() -> None:
    n = 20_000
    xs = [i / n for i in range(n + 1)]
    svg = lines_svg({"kind": "lines", "title": "t", "series": [{"name": "a", "x": xs, "y": xs}]})
    points = _path_points(_with_class(svg, "path", "series")[0]["d"])
    x0, y0, w, h = _plot_box(svg)
    assert len(points) < 2_000
    assert points[0] == pytest.approx((x0, y0 + h), abs=0.1)
    assert points[-1] == pytest.approx((x0 + w, y0), abs=0.1)


def test_markers_spread_along_the_line_not_by_index() -> None:
    # A CDF: 500 points climb at x=0, then five points run right along the top.
    xs = [0.0] * 500 + [20.0, 40.0, 60.0, 80.0, 100.0]
    ys = [i / 500 * 0.9 for i in range(500)] + [0.92, 0.94, 0.96, 0.98, 1.0]
    svg = lines_svg({"kind": "lines", "title": "t", "series": [{"name": "a", "x": xs, "y": ys}]})
    x0, _, w, _ = _plot_box(svg)
    marks = _with_class(svg, "path", "markers")[0]["d"] or ""
    starts = [float(x) for x in re.findall(r"M(-?[\d.]+) ", marks)]
    assert 5 <= len(starts) <= 9
    assert sum(x > x0 + w / 2 for x in starts) >= 3  # index spacing would put all at x=0


def test_charts_are_deterministic(doc: dict[str, Any]) -> None:
    assert render_html(doc) == render_html(copy.deepcopy(doc))


# --------------------------------------------------------------------------- bars


def test_grouped_bars_one_rect_per_value_and_na_for_null() -> None:
    chart = _funnel_section()["charts"][0]
    svg = grouped_bars_svg(chart)
    bars = _with_class(svg, "rect", "bar")
    assert len(bars) == 5  # six values, one null
    assert svg.count(">n/a<") == 1
    widths = [float(b["width"] or 0) for b in bars]
    # In order web 1000, books 200, web 800, web 500, books 150 on an axis 0..1000.
    assert widths[0] == pytest.approx(2 * widths[3], abs=0.2)
    assert widths[0] == pytest.approx(5 * widths[1], abs=0.2)
    assert widths[2] == pytest.approx(0.8 * widths[0], abs=0.2)
    web, books = series_style(0)[0], series_style(1)[0]
    assert [b["fill"] for b in bars] == [web, books, web, web, books]
    assert "1000 docs" in svg and "values in docs" in svg


def test_grouped_bars_handle_negative_values() -> None:
    chart = {
        "kind": "bars",
        "title": "delta",
        "labels": ["a", "b"],
        "series": [{"name": "d", "values": [-5, 10]}],
    }
    svg = grouped_bars_svg(chart)
    neg, pos = _with_class(svg, "rect", "bar")
    assert float(neg["x"] or 0) + float(neg["width"] or 0) == pytest.approx(float(pos["x"] or 0))
    assert float(pos["width"] or 0) == pytest.approx(2 * float(neg["width"] or 0), abs=0.2)


# --------------------------------------------------------------------------- heatmap


def test_heatmap_one_rect_per_cell_with_values_and_hatched_nulls() -> None:
    chart = _confusion_section()["charts"][0]
    svg = heatmap_svg(chart)
    cells = _with_class(svg, "rect", "cell")
    assert len(cells) == 9
    na = _with_class(svg, "rect", "na")
    assert len(na) == 1 and len(_with_class(svg, "path", "hatch")) >= 2  # cell and legend
    for value in (">50<", ">40<", ">30<", ">3<"):
        assert value in svg
    fills = {c["fill"] for c in cells if "na" not in (c["class"] or "")}
    assert heat_colour(1.0) in fills and heat_colour(0.0) in fills  # 50 darkest, 0 lightest
    assert len(_with_class(svg, "rect", "legend-step")) == 8
    assert "images" in svg


def test_heat_colour_runs_light_to_dark() -> None:
    def luminance(colour: str) -> float:
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        return 0.299 * r + 0.587 * g + 0.114 * b

    shades = [luminance(heat_colour(t / 10)) for t in range(11)]
    assert all(a > b for a, b in zip(shades, shades[1:], strict=False))
    assert heat_colour(-1) == heat_colour(0) and heat_colour(2) == heat_colour(1)
    assert not math.isnan(luminance(heat_colour(0.5)))


# --------------------------------------------------------------------------- boxes


def _image_uri(fmt: str = "PNG", size: tuple[int, int] = (48, 32)) -> str:
    """A real image file of ``fmt`` (written by Pillow) as a base64 data: URI."""
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(buf, format=fmt)
    mime = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}[fmt]
    return f"data:image/{mime};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _boxes_chart(**changes: Any) -> dict[str, Any]:
    chart: dict[str, Any] = {
        "kind": "boxes",
        "title": "img_007.png",
        "image": _image_uri(),
        "width": 480,
        "height": 240,
        "gold": [
            {"x": 100, "y": 20, "w": 60, "h": 40, "label": "cat", "status": "valid"},
            {"x": 300, "y": 100, "w": 50, "h": 50, "label": "dog", "status": "missing"},
        ],
        "pred": [
            {"x": 104, "y": 22, "w": 58, "h": 40, "label": "cat", "score": 0.91},
            {"x": 400, "y": 200, "w": 200, "h": 100, "label": "bird", "status": "extra"},
            {"x": 10, "y": 10, "w": 20, "h": 20, "label": "cat", "score": None},
        ],
        "caption": "missing 1 · extra 1\nimage F1 0.5",
    }
    chart.update(changes)
    return chart


def _gallery_section(*charts: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "gallery",
        "title": "Worst images",
        "title_zh": "问题最多的图像",
        "charts": list(charts) or [_boxes_chart()],
    }


def test_boxes_chart_validates_for_png_jpeg_webp_and_no_image() -> None:
    charts = [
        _boxes_chart(title="png"),
        _boxes_chart(title="jpeg", image=_image_uri("JPEG")),
        _boxes_chart(title="webp", image=_image_uri("WEBP")),
        _boxes_chart(title="none", image=None, caption=""),
    ]
    doc = _doc([_gallery_section(*charts)])
    validate_report(doc)
    assert json.loads(render_json(doc))["sections"][0]["charts"] == charts


BAD_URIS = [
    ("javascript:alert(1)", r"does not match"),
    ("http://example.com/x.png", r"does not match"),
    ("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", r"does not match"),
    ("data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=", r"does not match"),
    ('data:image/png;base64,AAAA" onload="x', r"does not match"),
    ("data:image/png,rawbytes", r"does not match"),
    ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAA", r"not valid base64"),  # length 25
    ("data:image/png;base64,iVBORw0KGgo=AAA", r"does not match"),  # padding mid-string
    ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA\n", r"base64 PNG, JPEG or WebP"),
    ("data:image/jpeg;base64,iVBORw0KGgoAAAANSUhEUgAA", r"not a JPEG file"),  # a PNG header
    ("data:image/webp;base64,", r"not a WEBP file"),
]


@pytest.mark.parametrize(("uri", "expected"), BAD_URIS)
def test_boxes_refuse_anything_but_base64_images(uri: str, expected: str) -> None:
    doc = _doc([_gallery_section(_boxes_chart(image=uri))])
    for render in (validate_report, render_html, render_markdown, render_json):
        with pytest.raises(ReportError, match=expected) as info:
            render(doc)
        message = info.value.message
        assert "section 'gallery'" in message and "img_007.png" in message
        assert "\n" not in info.value.one_line()
    # The drawing refuses it too, for callers that skip validation (gallery.html).
    with pytest.raises(ValueError):
        boxes_svg(_boxes_chart(image=uri))


def test_boxes_refuse_oversized_images() -> None:
    import base64

    # A real PNG with padding after it: well-formed, only too big.
    png = base64.b64decode(_image_uri().split(",", 1)[1])
    payload = base64.b64encode(png + bytes(MAX_IMAGE_CHARS * 3 // 4)).decode("ascii")
    big = "data:image/png;base64," + payload
    assert len(big) > MAX_IMAGE_CHARS
    head = len("data:image/png;base64,")
    at_limit = big[: head + (MAX_IMAGE_CHARS - head) // 4 * 4]
    validate_report(_doc([_gallery_section(_boxes_chart(image=at_limit))]))
    doc = _doc([_gallery_section(_boxes_chart(image=big))])
    with pytest.raises(ReportError, match=r"section 'gallery' chart 'img_007.png'.*thumbnail"):
        validate_report(doc)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda c: c["gold"][0].update(x=float("nan")), r"gold box 0 \('cat'\) has x = nan"),
        (lambda c: c["pred"][1].update(h=float("inf")), r"pred box 1 \('bird'\) has h = inf"),
        (lambda c: c.update(width=float("inf")), r"width must be a finite number"),
    ],
)
def test_boxes_refuse_non_finite_numbers(mutate: Any, expected: str) -> None:
    chart = _boxes_chart()
    mutate(chart)
    with pytest.raises(ReportError, match=r"section 'gallery' chart 'img_007.png': " + expected):
        validate_report(_doc([_gallery_section(chart)]))


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda c: c["gold"][0].update(status="extra"), r"'extra' is not one of"),
        (lambda c: c["pred"][0].update(status="missing"), r"'missing' is not one of"),
        (lambda c: c["gold"][0].update(score=0.5), r"score"),
        (lambda c: c["pred"][0].update(w=-1), r"less than the minimum"),
        (lambda c: c.update(height=0), r"less than or equal to the minimum"),
        (lambda c: c.pop("image"), r"'image' is a required property"),
        (lambda c: c.update(href="x"), r"href"),
    ],
)
def test_boxes_schema_errors_name_the_section(mutate: Any, expected: str) -> None:
    chart = _boxes_chart()
    mutate(chart)
    with pytest.raises(ReportError, match=expected) as info:
        validate_report(_doc([_gallery_section(chart)]))
    assert "(section 'gallery', chart 'img_007.png')" in info.value.message


def test_boxes_draw_one_rect_per_box_scaled_and_clipped() -> None:
    chart = _boxes_chart()
    svg = boxes_svg(chart, max_side=240)
    gold, pred = _with_class(svg, "rect", "gold"), _with_class(svg, "rect", "pred")
    assert len(gold) == 2 and len(pred) == 3
    assert len(_with_class(svg, "rect", "box")) == 5
    # 480 x 240 drawn at 240 x 120: every coordinate halves.
    assert [(g["x"], g["y"], g["width"], g["height"]) for g in gold] == [
        ("50.0", "10.0", "30.0", "20.0"),
        ("150.0", "50.0", "25.0", "25.0"),
    ]
    assert all(g.get("stroke-dasharray") for g in gold)  # gold dashed
    assert not any(p.get("stroke-dasharray") for p in pred)  # predictions solid
    assert gold[1]["stroke"] == pred[1]["stroke"] == STATUS_STYLE["missing"][0]
    assert gold[0]["stroke"] == GOLD_COLOUR and pred[0]["stroke"] == PRED_COLOUR
    # Boxes and image sit in a nested viewport the size of the image, which clips the
    # bird box that runs past the right and bottom edges.
    area = _with_class(svg, "svg", "image-area")[0]
    assert (area["width"], area["height"]) == ("240.0", "120.0")
    inner = svg[svg.index('<svg class="image-area"') :]
    assert inner.index("</svg>") > inner.rindex('class="box')
    image = next(a for t, a in _tags(svg) if t == "image")
    assert image["href"] == chart["image"]
    assert (image["width"], image["height"], image["preserveaspectratio"]) == (
        "240.0",
        "120.0",
        "none",
    )
    assert "score 0.91" in svg and "x 104, y 22, 58×40 px" in svg
    assert "score —" not in svg  # a null score is left out


def test_boxes_legend_names_roles_and_statuses_in_use() -> None:
    svg = boxes_svg(_boxes_chart())
    legend = "".join(re.findall(r'<g class="legend-entry".*?</g>', svg))
    for name in ("gold", "predicted", "missing", "extra"):
        assert f">{name}<" in legend
    assert "wrong label" not in legend and "low overlap" not in legend
    plain = _boxes_chart(
        gold=[{"x": 1, "y": 1, "w": 5, "h": 5, "label": "a"}],
        pred=[{"x": 2, "y": 2, "w": 5, "h": 5, "label": "a", "status": "mismatched"}],
    )
    legend = "".join(re.findall(r'<g class="legend-entry".*?</g>', boxes_svg(plain)))
    assert ">wrong label<" in legend and ">missing<" not in legend


def test_boxes_without_image_draw_a_placeholder() -> None:
    svg = boxes_svg(_boxes_chart(image=None))
    assert "<image" not in svg and "no image" in svg
    assert len(_with_class(svg, "rect", "box")) == 5


def test_boxes_escape_labels_titles_and_captions() -> None:
    chart = _boxes_chart(title=XSS, caption=XSS_ATTR + "\n" + XSS)
    chart["gold"][0]["label"] = XSS
    chart["pred"][1]["label"] = XSS_ATTR
    section = _gallery_section(chart)
    section["title"] = XSS
    page = render_html(_doc([section]))
    assert XSS not in page and XSS_ATTR not in page
    assert "gold · &lt;script&gt;alert(1)&lt;/script&gt;" in page
    tags = _tags(page)
    assert [t for t, _ in tags].count("script") == 1
    assert not any("onload" in attrs for _, attrs in tags)
    with pytest.raises(ReportError, match=r"section 'gallery', chart '<script>"):
        render_html(_doc([_gallery_section(_boxes_chart(title=XSS, image="javascript:x"))]))


def test_html_places_boxes_side_by_side_and_embeds_only_data_images() -> None:
    charts = [_boxes_chart(title=f"img_{i}.png") for i in range(3)]
    page = render_html(_doc([_gallery_section(*charts), _funnel_section()]))
    assert len(_with_class(page, "svg", "boxes")) == 3
    assert len(_with_class(page, "div", "chart-boxes")) == 3
    assert len(_with_class(page, "div", "chart-bars")) == 1
    urls = [v for _, attrs in _tags(page) for k, v in attrs.items() if k in ("href", "src")]
    assert urls and all((v or "").startswith("data:image/png;base64,") for v in urls)
    assert "img-src data:" in page


def test_markdown_names_each_image_with_its_caption_and_no_image_data() -> None:
    charts = [_boxes_chart(), _boxes_chart(title="img_008.png", caption="", image=None)]
    md = render_markdown(_doc([_gallery_section(*charts)]))
    assert (
        "image: img_007.png — missing 1 · extra 1 · image F1 0.5 "
        "(2 gold, 3 predicted boxes; see the HTML report)"
    ) in md
    assert "image: img_008.png (2 gold, 3 predicted boxes; see the HTML report)" in md
    assert "data:" not in md and "base64" not in md
