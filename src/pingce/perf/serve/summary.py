"""The report parts of a `serve` task: one task row per load level, its indicators and
conformance row, and a section with the latency table and the throughput/TTFT charts."""

from __future__ import annotations

from typing import Any

from pingce.core.report.kit import (
    Cell,
    LinesChart,
    LineSeries,
    MetricRow,
    Section,
    Table,
    TaskRow,
    rnd,
    spans_decades,
)
from pingce.perf.metrics import METRIC_BY_NAME
from pingce.perf.report_parts import Conformance, Parts, cdf_points, metric_indicators
from pingce.perf.serve.metrics import level_summary, request_metrics

# (metric, key of request_metrics) of the per-request latency metrics, in report order
LATENCIES = (("serve_ttft_ms", "ttft_ms"), ("serve_e2e_ms", "e2e_ms"), ("serve_tpot_ms", "tpot_ms"))
TABLE_COLUMNS = ("level", "metric", "n", "mean ms", "p50", "p90", "p95", "p99")
DEFINITIONS = (
    "TTFT = first text chunk - send; TPOT = (E2E - TTFT)/(output tokens - 1); ITL = every gap "
    "between streamed chunks; E2E = last byte - send; goodput = requests meeting all SLOs / window."
)


def _level_rows(s: dict[str, Any], per: list[dict[str, Any]]) -> dict[str, MetricRow]:
    """Throughputs as plain figures over the completed requests, latencies with bootstrap CIs
    over the requests (ITL over every gap)."""

    def fixed(name: str, key: str) -> MetricRow:
        return MetricRow.fixed(METRIC_BY_NAME[name], float(s[key] or 0.0), s["completed"])

    rows = {
        "serve_output_token_throughput": fixed(
            "serve_output_token_throughput", "output_token_throughput"
        ),
        "serve_request_throughput": fixed("serve_request_throughput", "request_throughput"),
        "serve_goodput": fixed("serve_goodput", "goodput"),
    }
    for name, key in LATENCIES:
        vals = [m[key] for m in per if m[key] is not None]
        if vals:
            rows[name] = MetricRow.from_items(METRIC_BY_NAME[name], vals, seed=0)
    itl = [g for m in per for g in m["itl_ms"]]
    if itl:
        rows["serve_itl_ms"] = MetricRow.from_items(METRIC_BY_NAME["serve_itl_ms"], itl, seed=0)
    return rows


def summarize_serve(spec: dict[str, Any], records: list[dict[str, Any]]) -> Parts:
    """Task rows (one per load level), indicators, conformance rows and the task's section."""
    parts = Parts()
    table: list[list[Cell]] = []
    x: list[float] = []
    curves: dict[str, list[Any]] = {"tok": [], "req": [], "good": [], "ttft99": []}
    cdf_series = []
    for rec in records:
        d = rec["data"]
        reqs = d["requests"]
        s = level_summary(reqs, d["slo_ttft_ms"], d["slo_tpot_ms"])
        per = [request_metrics(r) for r in reqs if not r["error"]]
        label = f"{spec['id']}@{d['mode']}={d['value']:g}"
        rows = _level_rows(s, per)
        level = {"id": label, "title": label, "title_zh": ""}
        parts.tasks.append(
            TaskRow.of(
                level,
                len(reqs),
                "serve_output_token_throughput",
                rows,
                type="serve",
                dimension="llm-serving",
                language="en",
            )
        )
        parts.indicators += metric_indicators(label, rows)
        why = f"{s['completed']}/{s['requests']} completed, {s['good_requests']} met the SLOs"
        if s["errors"]:
            why += "; errors: " + "; ".join(s["errors"])
        parts.conformance.append(
            Conformance(
                label,
                "llm-serve",
                d["mode"],
                "serve_output_token_throughput",
                rnd(s["output_token_throughput"]),
                s["failed"] == 0,
                why,
            )
        )
        for key in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"):
            dist = s[key]
            stats = [rnd(dist[k]) for k in ("mean", "p50", "p90", "p95", "p99")]
            table.append([label, key.removesuffix("_ms").upper(), dist["n"], *stats])
        x.append(d["value"])
        curves["tok"].append(s["output_token_throughput"])
        curves["req"].append(s["request_throughput"])
        curves["good"].append(s["goodput"])
        curves["ttft99"].append(s["ttft_ms"]["p99"])
        ttfts = [m["ttft_ms"] for m in per]
        if ttfts:
            cdf_series.append(LineSeries(label, *cdf_points(ttfts)))
    poisson = bool(records) and records[0]["data"]["mode"] == "poisson"
    xl = "request rate (req/s)" if poisson else "concurrent clients"
    charts = [
        LinesChart(
            "Throughput against load",
            [
                LineSeries("output tokens/s", x, curves["tok"]),
                LineSeries("requests/s", x, curves["req"]),
                LineSeries("goodput req/s", x, curves["good"]),
            ],
            x_label=xl,
            y_label="per second",
        ),
        LinesChart(
            "TTFT p99 against load",
            [LineSeries("TTFT p99", x, curves["ttft99"])],
            x_label=xl,
            y_label="ms",
            y_log=spans_decades(curves["ttft99"]) or None,
        ),
        LinesChart(
            "TTFT CDF",
            cdf_series,
            x_label="TTFT (ms)",
            y_label="fraction",
            x_log=spans_decades(*(s.x for s in cdf_series)) or None,
        ),
    ]
    parts.sections.append(
        Section(
            f"serve-{spec['id']}",
            f"LLM serving: {spec['id']}",
            f"大模型服务性能：{spec['id']}",
            text=DEFINITIONS,
            table=Table(TABLE_COLUMNS, table),
            charts=charts,
        )
    )
    return parts
