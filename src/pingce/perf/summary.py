"""The server-perf report, recomputed from stored records: task rows, the conformance table,
latency histograms and CDFs, throughput against load, scheduling error, energy, inventory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pingce.core.standard import task_row
from pingce.core.store import records_by_task
from pingce.perf.conformance import PRIMARY, accuracy_verdict, scenario_figures, scenario_verdict
from pingce.perf.metrics import METRIC_BY_NAME, metric_row, plain_row
from pingce.perf.standard import task_kind
from pingce.perf.tasks import accuracy_gate

CDF_POINTS = 200
HIST_BINS = 20


def _task_row(
    spec: dict[str, Any], n: int, primary: str, metrics: dict[str, Any]
) -> dict[str, Any]:
    return task_row(
        spec, n, primary, metrics, default_dimension="performance", type=task_kind(spec["type"])
    )


def _indicator(
    task_id: str,
    name: str,
    row: dict[str, Any],
    verdict: str | None,
    threshold: float | None = None,
    scenario: str | None = None,
) -> dict[str, Any]:
    m = METRIC_BY_NAME[name]
    if scenario and scenario not in task_id:
        # the scope column names the scenario, so metrics repeated across scenarios read apart
        task_id = f"{task_id} ({scenario})"
    return {
        "id": name,
        "name": name,
        "name_zh": m.name_zh,
        "unit": m.unit,
        "direction": m.direction,
        "definition": m.definition,
        "value": row["value"],
        "stderr": row["stderr"],
        "ci_low": row["ci_low"],
        "ci_high": row["ci_high"],
        "n": row["n"],
        "scope": task_id,
        "threshold": threshold,
        "verdict": verdict,
    }


def _scenario_metrics(rd: dict[str, Any], figs: dict[str, Any]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    lat_ms = [s * 1000.0 for s in rd["latencies_s"]]
    n_q = len(lat_ms)
    if rd["scenario"] == "offline":
        rows["perf_samples_per_s"] = plain_row(
            "perf_samples_per_s", figs["samples_per_s"], rd["n_samples"]
        )
    else:
        rows["perf_latency_mean_ms"] = metric_row("perf_latency_mean_ms", lat_ms)
        for name in ("perf_latency_p50_ms", "perf_latency_p90_ms", "perf_latency_p99_ms"):
            rows[name] = metric_row(name, lat_ms)
        rows["perf_samples_per_s"] = plain_row(
            "perf_samples_per_s", figs["samples_per_s"], rd["n_samples"]
        )
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


def _cdf(samples_ms: Sequence[float]) -> tuple[list[float], list[float]]:
    xs = np.sort(np.asarray(samples_ms))
    n = len(xs)
    idx = np.unique(np.linspace(0, n - 1, min(n, CDF_POINTS)).astype(int))
    return xs[idx].tolist(), ((idx + 1) / n).tolist()


def _histogram(name: str, samples_ms: Sequence[float]) -> dict[str, Any]:
    counts, edges = np.histogram(samples_ms, bins=HIST_BINS)
    labels = [f"{edges[i]:.3g}–{edges[i + 1]:.3g}" for i in range(len(counts))]
    return {
        "kind": "bars",
        "title": f"{name}: latency histogram (ms)",
        "labels": labels,
        "series": [{"name": "queries", "values": counts.astype(float).tolist()}],
        "unit": "queries",
    }


def _fmt(v: Any, digits: int = 4) -> Any:
    return None if v is None else round(float(v), digits)


def summarize_perf(
    suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """The report body for a server-perf run (see Standard.summarize)."""
    by_task = records_by_task(records)
    gate = accuracy_gate(list(records))
    tasks, indicators, notes = [], [], []
    conformance: list[list[Any]] = []
    cdf_series, histograms, sched_rows, energy_rows, load_series = [], [], [], [], []
    extra_sections: list[dict[str, Any]] = []
    settings_rows: list[list[Any]] = []
    open_division = False
    settings = config.get("settings", {})
    for spec in suite["tasks"]:
        recs = by_task.get(spec["id"], [])
        if not recs:
            continue
        kind = task_kind(spec["type"])
        if kind == "accuracy":
            d = recs[0]["data"]
            ok, why = accuracy_verdict(d)
            if d.get("skipped"):
                conformance.append([spec["id"], "accuracy", "-", "perf_accuracy", None, "n/a", why])
                continue
            row = metric_row("perf_accuracy", d["correct"])
            tasks.append(_task_row(spec, d["n"], "perf_accuracy", {"perf_accuracy": row}))
            thr = None if d["reference_accuracy"] is None else 0.99 * d["reference_accuracy"]
            indicators.append(
                _indicator(spec["id"], "perf_accuracy", row, "pass" if ok else "fail", thr)
            )
            conformance.append(
                [
                    spec["id"],
                    "accuracy",
                    "-",
                    "perf_accuracy",
                    _fmt(d["accuracy"]),
                    "VALID" if ok else "INVALID",
                    why,
                ]
            )
        elif kind == "scenario":
            rd = recs[0]["data"]
            figs = scenario_figures(rd)
            valid, reasons = scenario_verdict(rd, figs, gate)
            metrics = _scenario_metrics(rd, figs)
            primary = PRIMARY[rd["scenario"]][0]
            tasks.append(_task_row(spec, rd["n_samples"], primary, metrics))
            verdict = "pass" if valid else "fail"
            thr = (
                rd["config"].get("latency_bound_ms") if primary.startswith("perf_latency") else None
            )
            sc = rd["scenario"]
            indicators.append(
                _indicator(spec["id"], primary, metrics[primary], verdict, thr, scenario=sc)
            )
            for name, row in metrics.items():
                if name != primary:
                    indicators.append(_indicator(spec["id"], name, row, None, scenario=sc))
            settings_rows.append(_settings_row(spec["id"], rd, figs))
            es = figs.get("early_stopping_ms")
            conformance.append(
                [
                    spec["id"],
                    rd["scenario"],
                    rd["arrival"],
                    primary,
                    _fmt(metrics[primary]["value"]),
                    "VALID" if valid else "INVALID",
                    "; ".join(reasons)
                    if reasons
                    else (
                        f"early-stopping p{figs['percentile'] * 100:g} estimate {es:.4g} ms"
                        if es
                        else "all rules met"
                    ),
                ]
            )
            if rd["scenario"] != "offline":
                lat = figs["latency"]
                xs, ys = _cdf([s * 1000.0 for s in rd["latencies_s"]])
                cdf_series.append({"name": spec["id"], "x": xs, "y": ys})
                histograms.append(_histogram(spec["id"], [s * 1000.0 for s in rd["latencies_s"]]))
                _ = lat
            if "sched_error" in figs:
                se = figs["sched_error"]
                sched_rows.append(
                    [
                        spec["id"],
                        rd["arrival"],
                        figs.get("target_qps"),
                        se["n"],
                        _fmt(se["mean_ms"]),
                        _fmt(se["p50_ms"]),
                        _fmt(se["p99_ms"]),
                        _fmt(se["max_ms"]),
                    ]
                )
            energy_rows.append(_energy_row(spec["id"], rd, figs))
        elif kind == "server-search":
            probes = [r["data"] for r in recs]
            rows, best = [], None
            for pd in probes:
                f = scenario_figures(pd)
                ok, why = scenario_verdict(pd, f, None)
                tq = pd["config"]["target_qps"]
                rows.append((tq, f["qps"], f["latency"]["p99_ms"], ok, why))
                if ok and (best is None or tq > best):
                    best = tq
            rows.sort()
            load_series.append((spec["id"], rows))
            gate_ok = gate is None or gate[0]
            value = float(best) if best is not None and gate_ok else 0.0
            row = plain_row("perf_max_valid_qps", value, len(probes))
            tasks.append(
                _task_row(spec, len(probes), "perf_max_valid_qps", {"perf_max_valid_qps": row})
            )
            verdict = "pass" if best is not None and gate_ok else "fail"
            indicators.append(
                _indicator(spec["id"], "perf_max_valid_qps", row, verdict, scenario="server")
            )
            if probes:
                settings_rows.append(
                    _settings_row(spec["id"], probes[-1], scenario_figures(probes[-1]), search=True)
                )
            reason = (
                f"{len(probes)} probes, highest valid target {best:g} QPS"
                if best is not None
                else "no probed rate met the latency bound"
            )
            if not gate_ok:
                reason += f"; accuracy gate failed: {gate[1]}"
            conformance.append(
                [
                    spec["id"],
                    "server search",
                    "poisson",
                    "perf_max_valid_qps",
                    _fmt(value),
                    "VALID" if verdict == "pass" else "INVALID",
                    reason,
                ]
            )
        else:
            out = _summarize_extra(kind, spec, recs)
            tasks.extend(out.get("tasks", []))
            indicators.extend(out.get("indicators", []))
            conformance.extend(out.get("conformance", []))
            extra_sections.extend(out.get("sections", []))
            notes.extend(out.get("notes", []))
        if (
            kind in ("scenario", "server-search")
            and gate is not None
            and gate[1].startswith("open")
        ):
            open_division = True
    division = (
        "open"
        if open_division
        or (
            gate is None
            and any(task_kind(t["type"]) in ("scenario", "server-search") for t in suite["tasks"])
        )
        else "closed"
    )
    if division == "open":
        notes.append(
            "Open division, no accuracy gate: random-weight or unlabelled workloads are "
            "measured for throughput and latency only."
        )
    for row in settings_rows:
        row.append(division)
    # Throughput and latency first: a standard without an overall score is ranked (e.g. by the
    # dashboard's leaderboard) by its first task's primary metric, which must not be accuracy.
    tasks.sort(key=lambda t: t["primary_metric"] == "perf_accuracy")
    sections = [
        {
            "id": "conformance",
            "title": "Conformance by scenario",
            "title_zh": "各场景符合性",
            "text": "VALID only when every validity rule holds (minimum duration and query count, "
            "early-stopping latency bound at 99% confidence, accuracy >= 99% of reference).",
            "table": {
                "columns": ["task", "scenario", "arrival", "metric", "value", "verdict", "reason"],
                "rows": conformance,
            },
        }
    ]
    if settings_rows:
        sections.append(
            {
                "id": "settings",
                "title": "Scenario settings",
                "title_zh": "场景设置",
                "text": "The values each scenario ran with (requested and achieved). Closed loop: "
                "the next query waits for the previous answer; open loop: queries arrive on a "
                "schedule (target QPS) whatever the answers. Division: closed when the accuracy "
                "gate applies, open when it does not (random-weight or unlabelled workloads).",
                "table": {
                    "columns": [
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
                    ],
                    "rows": settings_rows,
                },
            }
        )
    if cdf_series:
        sections.append(
            {
                "id": "latency",
                "title": "Latency distribution",
                "title_zh": "时延分布",
                "charts": [
                    {
                        "kind": "lines",
                        "title": "Latency CDF",
                        "x_label": "latency (ms)",
                        "y_label": "fraction of queries",
                        "x_log": False,
                        "y_log": False,
                        "series": cdf_series,
                    }
                ]
                + histograms,
            }
        )
    if load_series:
        charts = []
        for tid, rows in load_series:
            charts.append(
                {
                    "kind": "lines",
                    "title": f"{tid}: achieved vs target QPS",
                    "x_label": "target QPS",
                    "y_label": "achieved QPS",
                    "series": [
                        {"name": "achieved", "x": [r[0] for r in rows], "y": [r[1] for r in rows]}
                    ],
                }
            )
            charts.append(
                {
                    "kind": "lines",
                    "title": f"{tid}: p99 latency vs load",
                    "x_label": "target QPS",
                    "y_label": "p99 latency (ms)",
                    "series": [
                        {"name": "p99", "x": [r[0] for r in rows], "y": [r[2] for r in rows]}
                    ],
                }
            )
        table_rows = [
            [tid, r[0], _fmt(r[1]), _fmt(r[2]), "VALID" if r[3] else "INVALID"]
            for tid, rows in load_series
            for r in rows
        ]
        sections.append(
            {
                "id": "load",
                "title": "Throughput against load",
                "title_zh": "吞吐量-负载曲线",
                "table": {
                    "columns": ["task", "target QPS", "achieved QPS", "p99 ms", "verdict"],
                    "rows": table_rows,
                },
                "charts": charts,
            }
        )
    if sched_rows:
        sections.append(
            {
                "id": "scheduling",
                "title": "Load-generator scheduling error",
                "title_zh": "负载生成调度误差",
                "text": "issued - scheduled time of each open-loop query, in ms.",
                "table": {
                    "columns": ["task", "arrival", "target QPS", "n", "mean", "p50", "p99", "max"],
                    "rows": sched_rows,
                },
            }
        )
    sections.extend(extra_sections)
    if energy_rows:
        sections.append(
            {
                "id": "energy",
                "title": "Energy",
                "title_zh": "能耗",
                "table": {
                    "columns": [
                        "task",
                        "source",
                        "energy J",
                        "avg W",
                        "max W",
                        "mJ/query",
                        "samples/J",
                    ],
                    "rows": energy_rows,
                },
            }
        )
    inv = settings.get("inventory")
    if inv:
        sections.append(
            {
                "id": "inventory",
                "title": "System inventory",
                "title_zh": "系统配置",
                "table": {
                    "columns": ["item", "value"],
                    "rows": [[k, _inv_text(v)] for k, v in inv.items()],
                },
            }
        )
    return {
        "tasks": tasks,
        "dimensions": [],
        "overall": {
            "score": None,
            "method": "server-perf reports per-scenario verdicts, no overall score",
        },
        "indicators": indicators,
        "samples": [],
        "notes": notes,
        "sections": sections,
        "extra": {"conformance": conformance, "inventory": inv or {}},
    }


def _summarize_extra(
    kind: str, spec: dict[str, Any], records: list[dict[str, Any]]
) -> dict[str, Any]:
    """Rows and sections of a `serve` or `train` task."""
    if kind == "serve":
        from pingce.perf.serve.task import summarize_serve

        return summarize_serve(spec, records)
    from pingce.perf.train.task import summarize_train

    return summarize_train(spec, records)


def _settings_row(
    task_id: str, rd: dict[str, Any], figs: dict[str, Any], *, search: bool = False
) -> list[Any]:
    """One row of the scenario-settings table (the division is appended by the caller)."""
    cfg = rd["config"]
    open_loop = cfg["arrival"] in ("periodic", "poisson", "mixed")
    return [
        task_id + (" (last probe)" if search else ""),
        cfg["scenario"],
        cfg["arrival"],
        "open" if open_loop else "closed",
        _fmt(cfg.get("target_qps")),
        cfg.get("samples_per_query"),
        _fmt(cfg.get("latency_bound_ms")),
        _fmt(cfg.get("percentile")),
        _fmt(cfg.get("min_duration_s")),
        cfg.get("min_query_count"),
        _fmt(cfg.get("max_duration_s")),
        _fmt(figs.get("duration_s")),
        rd.get("completed"),
        rd.get("n_samples"),
        cfg.get("workers"),
        cfg.get("seed"),
    ]


def _energy_row(task_id: str, rd: dict[str, Any], figs: dict[str, Any]) -> list[Any]:
    power = rd.get("power") or {}
    if not power.get("measured"):
        return [
            task_id,
            f"not measured ({power.get('reason') or 'no counter'})",
            None,
            None,
            None,
            None,
            None,
        ]
    return [
        task_id,
        power.get("source"),
        _fmt(figs.get("energy_j")),
        _fmt(figs.get("avg_w")),
        _fmt(figs.get("max_w")),
        _fmt(figs.get("energy_per_query_mj")),
        _fmt(figs.get("samples_per_j")),
    ]


def _inv_text(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k}={val}" for k, val in v.items() if val is not None) or "-"
    if isinstance(v, list):
        return ", ".join(_inv_text(x) for x in v) or "none"
    return str(v)
