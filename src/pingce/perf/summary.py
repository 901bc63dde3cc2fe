"""The server-perf report, recomputed from stored records: task rows, the conformance table,
latency histograms and CDFs, throughput against load, scheduling error, energy, inventory.

Each task kind adds its parts (`pingce.perf.report_parts.Parts`, report kit records); the
sections that gather every scenario (settings, latency, load, scheduling, energy) are built
once all tasks are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pingce.core.report.kit import (
    BarsChart,
    Cell,
    LinesChart,
    LineSeries,
    MetricRow,
    Section,
    Table,
    TaskRow,
    rnd,
    spans_decades,
    to_dicts,
)
from pingce.core.store import records_by_task
from pingce.perf.conformance import PRIMARY, accuracy_verdict, scenario_figures, scenario_verdict
from pingce.perf.metrics import metric_row, plain_row
from pingce.perf.names import task_kind
from pingce.perf.report_parts import (
    CONFORMANCE_COLUMNS,
    Conformance,
    Parts,
    cdf_points,
    scoped_indicator,
)
from pingce.perf.tasks import accuracy_gate

CDF_POINTS = 200
HIST_BINS = 20
# A standard without an overall score is ranked (e.g. by the dashboard's leaderboard) by its
# first task's primary metric: throughput and latency tasks come first, the accuracy run last.
RANK_LAST = ("perf_accuracy",)
SETTINGS_COLUMNS = (
    "task",
    "scenario",
    "arrival",
    "loop",
    "target QPS",
    "samples/query",
    "latency bound ms",
    "percentile",
    "min duration s",
    "min queries",
    "max duration s",
    "duration s",
    "queries",
    "samples",
    "workers",
    "seed",
    "division",
)
ENERGY_COLUMNS = ("task", "source", "energy J", "avg W", "max W", "mJ/query", "samples/J")


def _task(spec: dict[str, Any], n: int, primary: str, metrics: dict[str, MetricRow]) -> TaskRow:
    return TaskRow.of(
        spec, n, primary, metrics, default_dimension="performance", type=task_kind(spec["type"])
    )


@dataclass
class _Scenarios:
    """What the scenario and search tasks add to the sections that gather all of them."""

    settings: list[list[Cell]] = field(default_factory=list)
    cdf: list[LineSeries] = field(default_factory=list)
    histograms: list[BarsChart] = field(default_factory=list)
    scheduling: list[list[Cell]] = field(default_factory=list)
    energy: list[list[Cell]] = field(default_factory=list)
    # task id -> probes (target QPS, achieved QPS, p99 ms, valid), by target QPS
    load: list[tuple[str, list[tuple[Any, Any, Any, bool]]]] = field(default_factory=list)
    open_division: bool = False


def summarize_perf(
    suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """The report body for a server-perf run (see Standard.summarize)."""
    by_task = records_by_task(records)
    gate = accuracy_gate(list(records))
    parts, scen = Parts(), _Scenarios()
    for spec in suite["tasks"]:
        recs = by_task.get(spec["id"], [])
        if not recs:
            continue
        kind = task_kind(spec["type"])
        if kind == "accuracy":
            parts.extend(_accuracy(spec, recs[0]["data"]))
        elif kind == "scenario":
            parts.extend(_scenario(spec, recs[0]["data"], gate, scen))
        elif kind == "server-search":
            parts.extend(_search(spec, [r["data"] for r in recs], gate, scen))
        elif kind == "serve":
            from pingce.perf.serve.summary import summarize_serve

            parts.extend(summarize_serve(spec, recs))
        else:
            from pingce.perf.train.summary import summarize_train

            parts.extend(summarize_train(spec, recs))
        if kind in ("scenario", "server-search") and gate is not None:
            scen.open_division |= gate[1].startswith("open")
    has_scenarios = any(
        task_kind(t["type"]) in ("scenario", "server-search") for t in suite["tasks"]
    )
    division = "open" if scen.open_division or (gate is None and has_scenarios) else "closed"
    notes = list(parts.notes)
    if division == "open":
        notes.append(
            "Open division, no accuracy gate: random-weight or unlabelled workloads are "
            "measured for throughput and latency only."
        )
    for row in scen.settings:
        row.append(division)
    tasks = sorted(parts.tasks, key=lambda t: t.primary_metric in RANK_LAST)
    conformance = [c.cells() for c in parts.conformance]
    inventory = config.get("settings", {}).get("inventory")
    sections = [
        _conformance_section(conformance),
        *_scenario_sections(scen),
        *parts.sections,
        *_energy_and_inventory(scen.energy, inventory),
    ]
    return {
        "tasks": to_dicts(tasks),
        "dimensions": [],
        "overall": {
            "score": None,
            "method": "server-perf reports per-scenario verdicts, no overall score",
        },
        "indicators": to_dicts(parts.indicators),
        "samples": [],
        "notes": notes,
        "sections": to_dicts(sections),
        "extra": {"conformance": conformance, "inventory": inventory or {}},
    }


def _accuracy(spec: dict[str, Any], d: dict[str, Any]) -> Parts:
    ok, why = accuracy_verdict(d)
    parts = Parts()
    if d.get("skipped"):
        parts.conformance.append(
            Conformance(spec["id"], "accuracy", "-", "perf_accuracy", None, None, why)
        )
        return parts
    row = metric_row("perf_accuracy", d["correct"])
    parts.tasks.append(_task(spec, d["n"], "perf_accuracy", {"perf_accuracy": row}))
    ref = d["reference_accuracy"]
    threshold = None if ref is None else 0.99 * ref
    # The indicator's verdict is the accuracy gate's (its rule: conformance.accuracy_verdict).
    parts.indicators.append(
        scoped_indicator(spec["id"], "perf_accuracy", row, "pass" if ok else "fail", threshold)
    )
    parts.conformance.append(
        Conformance(spec["id"], "accuracy", "-", "perf_accuracy", rnd(d["accuracy"]), ok, why)
    )
    return parts


def _scenario_rows(rd: dict[str, Any], figs: dict[str, Any]) -> dict[str, MetricRow]:
    """The metric rows of one scenario run: latency with bootstrap CIs over its queries,
    throughput and energy as plain figures."""
    lat_ms = [s * 1000.0 for s in rd["latencies_s"]]
    n_q = len(lat_ms)
    rows: dict[str, MetricRow] = {}
    if rd["scenario"] != "offline":
        for name in (
            "perf_latency_mean_ms",
            "perf_latency_p50_ms",
            "perf_latency_p90_ms",
            "perf_latency_p99_ms",
        ):
            rows[name] = metric_row(name, lat_ms)
    rows["perf_samples_per_s"] = plain_row(
        "perf_samples_per_s", figs["samples_per_s"], rd["n_samples"]
    )
    if rd["scenario"] != "offline":
        rows["perf_qps"] = plain_row("perf_qps", figs["qps"], n_q)
    if rd["sched_error_s"]:
        err_ms = [max(0.0, e) * 1000.0 for e in rd["sched_error_s"]]
        rows["perf_sched_error_p99_ms"] = metric_row("perf_sched_error_p99_ms", err_ms)
    if "energy_per_query_mj" in figs:
        rows["perf_energy_per_query_mj"] = plain_row(
            "perf_energy_per_query_mj", figs["energy_per_query_mj"], n_q
        )
        rows["perf_samples_per_j"] = plain_row(
            "perf_samples_per_j", figs["samples_per_j"], rd["n_samples"]
        )
    return rows


def _scenario(
    spec: dict[str, Any], rd: dict[str, Any], gate: tuple[bool, str] | None, scen: _Scenarios
) -> Parts:
    figs = scenario_figures(rd)
    valid, reasons = scenario_verdict(rd, figs, gate)
    rows = _scenario_rows(rd, figs)
    sc = rd["scenario"]
    primary = PRIMARY[sc][0]
    parts = Parts(tasks=[_task(spec, rd["n_samples"], primary, rows)])
    threshold = rd["config"].get("latency_bound_ms") if primary.startswith("perf_latency") else None
    parts.indicators.append(
        scoped_indicator(
            spec["id"], primary, rows[primary], "pass" if valid else "fail", threshold, sc
        )
    )
    parts.indicators += [
        scoped_indicator(spec["id"], name, row, scenario=sc)
        for name, row in rows.items()
        if name != primary
    ]
    es = figs.get("early_stopping_ms")
    if reasons:
        reason = "; ".join(reasons)
    elif es:
        reason = f"early-stopping p{figs['percentile'] * 100:g} estimate {es:.4g} ms"
    else:
        reason = "all rules met"
    parts.conformance.append(
        Conformance(spec["id"], sc, rd["arrival"], primary, rnd(rows[primary].value), valid, reason)
    )
    scen.settings.append(_settings_row(spec["id"], rd, figs))
    if sc != "offline":
        lat_ms = [s * 1000.0 for s in rd["latencies_s"]]
        scen.cdf.append(LineSeries(spec["id"], *cdf_points(lat_ms, CDF_POINTS)))
        scen.histograms.append(_histogram(spec["id"], lat_ms))
    if "sched_error" in figs:
        se = figs["sched_error"]
        scen.scheduling.append(
            [
                spec["id"],
                rd["arrival"],
                figs.get("target_qps"),
                se["n"],
                *(rnd(se[k]) for k in ("mean_ms", "p50_ms", "p99_ms", "max_ms")),
            ]
        )
    scen.energy.append(_energy_row(spec["id"], rd, figs))
    return parts


def _search(
    spec: dict[str, Any],
    probes: list[dict[str, Any]],
    gate: tuple[bool, str] | None,
    scen: _Scenarios,
) -> Parts:
    """The highest valid Server target QPS of a bisection, and its probes."""
    points, best = [], None
    for pd in probes:
        f = scenario_figures(pd)
        ok, _ = scenario_verdict(pd, f, None)
        tq = pd["config"]["target_qps"]
        points.append((tq, f["qps"], f["latency"]["p99_ms"], ok))
        if ok and (best is None or tq > best):
            best = tq
    scen.load.append((spec["id"], sorted(points)))
    gate_ok = gate is None or gate[0]
    valid = best is not None and gate_ok
    value = float(best) if valid else 0.0
    row = plain_row("perf_max_valid_qps", value, len(probes))
    parts = Parts(
        tasks=[_task(spec, len(probes), "perf_max_valid_qps", {"perf_max_valid_qps": row})]
    )
    parts.indicators.append(
        scoped_indicator(
            spec["id"], "perf_max_valid_qps", row, "pass" if valid else "fail", scenario="server"
        )
    )
    if probes:
        last = probes[-1]
        scen.settings.append(_settings_row(spec["id"], last, scenario_figures(last), search=True))
    reason = (
        f"{len(probes)} probes, highest valid target {best:g} QPS"
        if best is not None
        else "no probed rate met the latency bound"
    )
    if gate is not None and not gate_ok:
        reason += f"; accuracy gate failed: {gate[1]}"
    parts.conformance.append(
        Conformance(
            spec["id"], "server search", "poisson", "perf_max_valid_qps", rnd(value), valid, reason
        )
    )
    return parts


def _histogram(name: str, samples_ms: Sequence[float]) -> BarsChart:
    counts, edges = np.histogram(samples_ms, bins=HIST_BINS)
    labels = [f"{edges[i]:.3g}–{edges[i + 1]:.3g}" for i in range(len(counts))]
    return BarsChart.single(
        f"{name}: latency histogram (ms)",
        labels,
        counts.astype(float).tolist(),
        "queries",
        unit="queries",
    )


def _conformance_section(rows: list[list[Cell]]) -> Section:
    return Section(
        "conformance",
        "Conformance by scenario",
        "各场景符合性",
        text="VALID only when every validity rule holds (minimum duration and query count, "
        "early-stopping latency bound at 99% confidence, accuracy >= 99% of reference).",
        table=Table(CONFORMANCE_COLUMNS, rows),
    )


def _scenario_sections(scen: _Scenarios) -> list[Section]:
    """Settings, latency distribution, throughput against load and scheduling error."""
    sections = []
    if scen.settings:
        sections.append(
            Section(
                "settings",
                "Scenario settings",
                "场景设置",
                text="The values each scenario ran with (requested and achieved). Closed loop: "
                "the next query waits for the previous answer; open loop: queries arrive on a "
                "schedule (target QPS) whatever the answers. Division: closed when the accuracy "
                "gate applies, open when it does not (random-weight or unlabelled workloads).",
                table=Table(SETTINGS_COLUMNS, scen.settings),
            )
        )
    if scen.cdf:
        cdf = LinesChart(
            "Latency CDF",
            scen.cdf,
            x_label="latency (ms)",
            y_label="fraction of queries",
            # a log axis when latencies span decades (issue 17: a tail hid the whole curve)
            x_log=spans_decades(*(s.x for s in scen.cdf)),
            y_log=False,
        )
        sections.append(
            Section("latency", "Latency distribution", "时延分布", charts=[cdf, *scen.histograms])
        )
    if scen.load:
        sections.append(_load_section(scen.load))
    if scen.scheduling:
        sections.append(
            Section(
                "scheduling",
                "Load-generator scheduling error",
                "负载生成调度误差",
                text="issued - scheduled time of each open-loop query, in ms.",
                table=Table(
                    ("task", "arrival", "target QPS", "n", "mean", "p50", "p99", "max"),
                    scen.scheduling,
                ),
            )
        )
    return sections


def _load_section(load: list[tuple[str, list[tuple[Any, Any, Any, bool]]]]) -> Section:
    charts = []
    for tid, points in load:
        targets = [p[0] for p in points]
        charts.append(
            LinesChart(
                f"{tid}: achieved vs target QPS",
                [LineSeries("achieved", targets, [p[1] for p in points])],
                x_label="target QPS",
                y_label="achieved QPS",
            )
        )
        charts.append(
            LinesChart(
                f"{tid}: p99 latency vs load",
                [LineSeries("p99", targets, [p[2] for p in points])],
                x_label="target QPS",
                y_label="p99 latency (ms)",
                y_log=spans_decades([p[2] for p in points]) or None,
            )
        )
    rows: list[list[Cell]] = [
        [tid, p[0], rnd(p[1]), rnd(p[2]), "VALID" if p[3] else "INVALID"]
        for tid, points in load
        for p in points
    ]
    return Section(
        "load",
        "Throughput against load",
        "吞吐量-负载曲线",
        table=Table(("task", "target QPS", "achieved QPS", "p99 ms", "verdict"), rows),
        charts=charts,
    )


def _energy_and_inventory(energy: list[list[Cell]], inventory: Any) -> list[Section]:
    sections = []
    if energy:
        sections.append(Section("energy", "Energy", "能耗", table=Table(ENERGY_COLUMNS, energy)))
    if inventory:
        rows: list[list[Cell]] = [[k, _inv_text(v)] for k, v in inventory.items()]
        sections.append(
            Section(
                "inventory", "System inventory", "系统配置", table=Table(("item", "value"), rows)
            )
        )
    return sections


def _settings_row(
    task_id: str, rd: dict[str, Any], figs: dict[str, Any], *, search: bool = False
) -> list[Cell]:
    """One row of the scenario-settings table (the division is appended by the caller)."""
    cfg = rd["config"]
    open_loop = cfg["arrival"] in ("periodic", "poisson", "mixed")
    return [
        task_id + (" (last probe)" if search else ""),
        cfg["scenario"],
        cfg["arrival"],
        "open" if open_loop else "closed",
        rnd(cfg.get("target_qps")),
        cfg.get("samples_per_query"),
        rnd(cfg.get("latency_bound_ms")),
        rnd(cfg.get("percentile")),
        rnd(cfg.get("min_duration_s")),
        cfg.get("min_query_count"),
        rnd(cfg.get("max_duration_s")),
        rnd(figs.get("duration_s")),
        rd.get("completed"),
        rd.get("n_samples"),
        cfg.get("workers"),
        cfg.get("seed"),
    ]


def _energy_row(task_id: str, rd: dict[str, Any], figs: dict[str, Any]) -> list[Cell]:
    power = rd.get("power") or {}
    if not power.get("measured"):
        reason = power.get("reason") or "no counter"
        return [task_id, f"not measured ({reason})", None, None, None, None, None]
    return [
        task_id,
        power.get("source"),
        *(
            rnd(figs.get(k))
            for k in ("energy_j", "avg_w", "max_w", "energy_per_query_mj", "samples_per_j")
        ),
    ]


def _inv_text(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k}={val}" for k, val in v.items() if val is not None) or "-"
    if isinstance(v, list):
        return ", ".join(_inv_text(x) for x in v) or "none"
    return str(v)
