"""Readability of the HTML report and its charts (issue #17 item 3): units, empty states,
a missing overall score, and no horizontal overflow on a 390 px phone."""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from pingce.core.report import render_html
from pingce.core.report.charts import (
    _em_width,
    ci_bars_svg,
    grouped_bars_svg,
    heatmap_svg,
    radar_svg,
)
from pingce.core.report.formatting import real_unit, unit_suffix
from pingce.core.report.html import task_chart


def _metric(value: float, unit: str, scale: float = 1.0) -> dict[str, Any]:
    return {
        "value": value,
        "stderr": None,
        "ci_low": None,
        "ci_high": None,
        "n": 8,
        "direction": "higher",
        "unit": unit,
        "scale": scale,
    }


def _doc(*, overall: float | None = 0.8) -> dict[str, Any]:
    """A demo-like document: two tasks (a 0-1 score and a latency in ms), one section with
    an empty table, one wide table, one indicator with a definition."""
    long_id = "task-" + "x" * 120
    return {
        "schema_version": "1.0",
        "generated_at": "2026-11-28T12:00:00+00:00",
        "pingce_version": "0.1.0",
        "run": {
            "id": "run-" + "0123456789abcdef" * 4,
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
        "tasks": [
            {
                "id": long_id,
                "title": "Accuracy",
                "title_zh": "准确率",
                "type": "generation",
                "dimension": "d",
                "language": "en",
                "n_samples": 8,
                "primary_metric": "acc",
                "metrics": {"acc": _metric(0.875, "0-1"), "p50": _metric(12.5, "ms", 1000.0)},
            }
        ],
        "dimensions": [],
        "overall": {"score": overall, "method": "mean of the tasks' primary metrics"},
        "indicators": [
            {
                "id": "I1",
                "name": "Accuracy",
                "name_zh": "准确率",
                "unit": "0-1",
                "direction": "higher",
                "definition": "Share of requests answered correctly.",
                "value": 0.875,
                "stderr": None,
                "ci_low": None,
                "ci_high": None,
                "n": 8,
                "scope": "run",
                "threshold": None,
                "verdict": None,
            }
        ],
        "samples": [],
        "notes": [],
        "extra": {},
        "sections": [
            {
                "id": "empty",
                "title": "Per-query rows",
                "title_zh": "逐条",
                "table": {"columns": ["query", "latency (ms)"], "rows": []},
            },
            {
                "id": "wide",
                "title": "Wide table",
                "title_zh": "宽表",
                "table": {
                    "columns": [f"column number {i}" for i in range(14)],
                    "rows": [[f"value-{i}-" + "y" * 30 for i in range(14)]],
                },
                "charts": [
                    {
                        "kind": "bars",
                        "title": "Hit rate",
                        "labels": ["a", "b"],
                        "series": [{"name": "s", "values": [0.5, 0.875]}],
                        "unit": "0-1",
                    }
                ],
            },
        ],
    }


class _Tree(HTMLParser):
    """Records each start tag with the classes of every open ancestor."""

    VOID = frozenset({"meta", "br", "input", "img", "hr", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, set[str]]] = []
        self.seen: list[tuple[str, dict[str, str | None], list[set[str]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.seen.append((tag, a, [c for _, c in self.stack]))
        if tag not in self.VOID:
            self.stack.append((tag, set((a.get("class") or "").split())))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, dict(attrs), [c for _, c in self.stack]))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _tree(html_text: str) -> _Tree:
    tree = _Tree()
    tree.feed(html_text)
    tree.close()
    return tree


def test_scale_only_units_are_not_printed_after_values() -> None:
    # Hand-checked cases: "0-1"/"0–1"/"0-100"/"" name a scale, ms and samples/s are units.
    for unit in ("", "0-1", "0–1", "0-100", " 0 - 1 "):
        assert unit_suffix(unit) == "" and real_unit(unit) == ""
    assert unit_suffix("ms") == " ms"
    assert unit_suffix("samples/s") == " samples/s"
    html_text = render_html(_doc())
    assert "0.875 0-1" not in html_text
    assert "12.5 ms" in html_text  # a real unit stays beside its value
    bars = grouped_bars_svg(_doc()["sections"][1]["charts"][0])
    assert "0.875 0-1" not in bars and ">0.875<" in bars
    heat = heatmap_svg(
        {
            "kind": "heatmap",
            "title": "t",
            "rows": ["r"],
            "columns": ["c"],
            "values": [[0.5]],
            "unit": "0-1",
        }
    )
    assert "0.5 0-1" not in heat


def test_missing_overall_score_says_why() -> None:
    html_text = render_html(_doc(overall=None))
    tree = _tree(html_text)
    assert "no overall score: mean of the tasks' primary metrics" in "".join(tree.text)
    assert not [a for t, a, _ in tree.seen if "big" in (a.get("class") or "").split()]
    scored = _tree(render_html(_doc(overall=0.8)))
    assert [a for t, a, _ in scored.seen if "big" in (a.get("class") or "").split()]


def test_empty_table_has_an_empty_state_row() -> None:
    tree = _tree(render_html(_doc()))
    rows = [a for t, a, _ in tree.seen if t == "tr" and a.get("class") == "empty-row"]
    assert len(rows) == 1
    assert "no rows for this run" in "".join(tree.text)


def test_indicator_table_shows_definitions() -> None:
    assert "Share of requests answered correctly." in render_html(_doc())


def test_every_table_scrolls_in_its_own_box_and_every_chart_scales() -> None:
    html_text = render_html(_doc())
    tree = _tree(html_text)
    tables = [anc for t, _, anc in tree.seen if t == "table"]
    svgs = [(a, anc) for t, a, anc in tree.seen if t == "svg"]
    assert len(tables) >= 4 and svgs
    for ancestors in tables:
        assert "table-wrap" in ancestors[-1], "a table outside the scroll wrapper"
    for attrs, _ in svgs:
        assert "chart" in (attrs.get("class") or "").split()
    assert ".table-wrap { overflow-x: auto;" in html_text
    assert "svg.chart { max-width: 100%; height: auto;" in html_text
    assert "code { overflow-wrap: anywhere;" in html_text


def _bar_widths(svg: str) -> list[float]:
    return [
        float(a["width"] or 0)
        for t, a, _ in _tree(svg).seen
        if t == "rect" and a.get("class") == "bar"
    ]


def test_unbounded_metrics_get_bars_on_a_shared_labelled_axis() -> None:
    # Compression-like rows: ratios and speedups have scale 0 (unbounded). Hand-computed:
    # the "×" rows top out at 4.1 (a CI bound), so their axis runs 0-5 and the bars' widths
    # are in the ratio 3.8 : 1.6; the "ms" row gets an axis of its own (0-150, 150 being a round step).
    rows = [
        ("size ratio", 3.8, 3.5, 4.1, 0.0),
        ("speedup", 1.6, None, None, 0.0),
        ("load time", 150.0, None, None, 0.0),
        ("accuracy", 0.5, None, None, 1.0),
        ("latency (lower is better)", 120.0, None, None, None),
    ]
    svg = ci_bars_svg(rows, units=["×", "×", "ms", "0-1", "ms"])
    widths = _bar_widths(svg)
    assert len(widths) == 4  # every row but the lower-is-better one
    assert widths[0] / widths[1] == pytest.approx(3.8 / 1.6, rel=0.01)
    assert widths[0] / widths[3] == pytest.approx((3.8 / 5) / 0.5, rel=0.01)
    assert widths[2] / widths[3] == pytest.approx((150 / 150) / 0.5, rel=0.01)
    assert svg.count("shared axis 0–5 ×") == 2 and "shared axis 0–150 ms" in svg
    assert "3.8 [3.5, 4.1] ×" in svg


def test_report_task_chart_draws_bars_for_unbounded_metrics() -> None:
    doc = _doc()
    doc["tasks"][0]["metrics"]["acc"] = _metric(3.8, "×", 0.0)
    svg = task_chart(doc["tasks"])
    assert len(_bar_widths(svg)) == 1 and "shared axis 0–4 ×" in svg
    render_html(doc)  # the whole report still renders


class _SvgText(HTMLParser):
    """Each <text> in an SVG as (x, y, anchor, font size, lines)."""

    def __init__(self) -> None:
        super().__init__()
        self.view: list[float] = []
        self.texts: list[tuple[float, float, str, float, list[str]]] = []
        self._in = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg":
            self.view = [float(v) for v in (a["viewbox"] or "").split()]
        elif tag == "text":
            size = float(a["font-size"] or 12)
            self.texts.append(
                (float(a["x"] or 0), float(a["y"] or 0), a["text-anchor"] or "", size, [])
            )
        elif tag == "tspan":
            self._in = True

    def handle_endtag(self, tag: str) -> None:
        self._in = False if tag == "tspan" else self._in

    def handle_data(self, data: str) -> None:
        if self._in:
            self.texts[-1][4].append(data)


@pytest.mark.parametrize(
    "labels",
    [
        [
            "Instruction following under adversarial multi-turn pressure\n对抗性多轮压力下的指令遵循",
            "Knowledge\n知识",
            "Long-context retrieval and summarisation of technical documents",
            "数学推理与符号计算能力综合评估（含竞赛题与应用题）",
            "Safety",
            "Supercalifragilisticexpialidociousnessmetricwithoutspaces",
        ],
        ["A", "B", "Very long dimension name on the left side of the chart for sure"],
    ],
)
def test_radar_labels_are_never_clipped(labels: list[str]) -> None:
    # Every label's text box (same em-width estimate the chart uses, 1.2 em line pitch)
    # must lie inside the viewBox, and no label is cut with an ellipsis.
    svg = radar_svg(labels, [0.9, None, 0.4, 1.0, 0.0, 0.5][: len(labels)])
    parser = _SvgText()
    parser.feed(svg)
    x0, y0, width, height = parser.view
    labels_seen = [t for t in parser.texts if t[3] == 12]
    assert len(labels_seen) == len(labels)
    for x, y, anchor, size, lines in labels_seen:
        w = max(_em_width(line) for line in lines) * size
        left = x if anchor == "start" else x - w if anchor == "end" else x - w / 2
        assert x0 <= left and left + w <= x0 + width, lines
        assert y0 <= y - size and y + (len(lines) - 1) * 1.2 * size + 0.3 * size <= y0 + height
        assert not any("…" in line for line in lines)
    words = "".join("".join(t[4]) for t in labels_seen)
    assert all(part.split()[-1][-6:] in words for lbl in labels for part in lbl.split("\n"))
    assert width >= 440  # a bigger default than the old 360 px web


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.debian_package("chromium", path=CHROMIUM)
def test_demo_reports_do_not_overflow_a_390px_phone(tmp_path: Path) -> None:
    """report.html of four standards' demo runs (made by `pingce demo`, the command a user
    runs) in real Chromium at 390 px: the page never scrolls sideways (llm's sample filter
    lists long task titles: its select widened the page by 155 px)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    pingce = str(Path(sys.executable).parent / "pingce")
    db, reports = tmp_path / "store.db", tmp_path / "reports"
    proc = subprocess.run(
        [pingce, "demo", "--only", "llm,compression,kg,data", "-q", "--db", str(db),
         "--report-dir", str(reports)],
        cwd=tmp_path, env={**os.environ, "PINGCE_DB": str(db)}, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    pages = sorted(reports.glob("*/report.html"))
    assert len(pages) == 4
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.set_default_timeout(30_000)
            for html_file in pages:
                page.goto(html_file.as_uri())
                widths = page.evaluate(
                    "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
                )
                page.screenshot(path=str(tmp_path / f"{html_file.parent.name}-390.png"))
                assert widths[0] <= widths[1], (html_file, widths)
        finally:
            browser.close()


def test_markdown_value_cells_print_real_units_only() -> None:
    """Issue 17: the Markdown report read "0.875 0-1"; a scale is not a unit (hand case)."""
    from pingce.core.report.formatting import unit_suffix

    assert unit_suffix("0-1") == "" and unit_suffix("0–1") == "" and unit_suffix("0-100") == ""
    assert unit_suffix("ms") == " ms" and unit_suffix(None) == ""


def test_log_axis_when_values_span_decades() -> None:
    """A latency curve with a long tail gets a log axis (perf's CDF, p99 vs load, TTFT)."""
    from pingce.core.report.kit import spans_decades

    assert spans_decades([0.08, 0.1, 12.0]) is True  # 150x: more than two decades
    assert spans_decades([1.0, 2.0, 99.0]) is False
    assert (
        spans_decades([0.0, None, float("nan"), 5.0]) is False
    )  # only positive finite values count
    assert spans_decades([1.0], [250.0]) is True
