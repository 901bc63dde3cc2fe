"""The report parts of a `train` task: throughput, accuracy, time to accuracy (MLPerf's
drop-fastest-and-slowest rule), energy and DDP scaling efficiency, with a section holding the
per-run training records and charts."""

from __future__ import annotations

from typing import Any

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
)
from pingce.perf.metrics import METRIC_BY_NAME
from pingce.perf.report_parts import Conformance, Parts, metric_indicators
from pingce.perf.train.workload import mlperf_trimmed

RUN_COLUMNS = (
    "run",
    "samples/s",
    "accuracy",
    "TTA s",
    "avg W",
    "max W",
    "energy J",
    "samples/J",
    "CPU util",
    "peak RSS MiB",
    "data load s",
    "prepare s",
    "process s",
    "total s",
)


def _row(name: str, items: list[float]) -> MetricRow:
    """A bootstrap row over several runs; one run's figure as a plain row."""
    m = METRIC_BY_NAME[name]
    if len(items) > 1:
        return MetricRow.from_items(m, items, seed=0)
    return MetricRow.fixed(m, float(items[0] if items else 0.0), 1)


def _run_rows(
    spec: dict[str, Any], runs: list[dict[str, Any]], parts: Parts
) -> dict[str, MetricRow]:
    """Metrics of the repeated training runs, and the time-to-accuracy conformance row."""
    target = spec.get("target_accuracy", 0.95)
    rows = {
        "train_samples_per_s": _row("train_samples_per_s", [r["samples_per_s"] for r in runs]),
        "train_accuracy": _row("train_accuracy", [r["accuracy"] for r in runs]),
    }
    reached = [r["time_to_accuracy_s"] for r in runs if r["time_to_accuracy_s"] is not None]
    what = (spec["id"], "time to accuracy", f"{len(runs)} runs", "train_time_to_accuracy_s")
    if len(reached) == len(runs):
        kept = mlperf_trimmed(reached)
        rows["train_time_to_accuracy_s"] = tta = _row("train_time_to_accuracy_s", kept)
        why = f"every run reached {target}; {len(runs) - len(kept)} extreme runs dropped"
        parts.conformance.append(Conformance(*what, rnd(tta.value), True, why))
    else:
        why = f"{len(runs) - len(reached)} of {len(runs)} runs never reached accuracy {target}"
        parts.conformance.append(Conformance(*what, None, False, why))
    energy = [
        r["samples"] / r["power"]["energy_j"]
        for r in runs
        if r["power"].get("measured") and r["power"].get("energy_j")
    ]
    if energy:
        rows["train_samples_per_j"] = _row("train_samples_per_j", energy)
    return rows


def _run_record(r: dict[str, Any]) -> list[Cell]:
    """One training run as a row of the GB/T 45087 training record."""
    pw = r["power"]
    meas = pw.get("measured")
    power: list[Cell] = [None] * 4
    if meas:
        per_j = r["samples"] / pw["energy_j"] if pw["energy_j"] else None
        power = [rnd(pw["avg_w"], 2), rnd(pw["max_w"], 2), rnd(pw["energy_j"], 3), rnd(per_j, 3)]
    return [
        f"run (seed {r['seed']})",
        rnd(r["samples_per_s"], 2),
        rnd(r["accuracy"]),
        rnd(r["time_to_accuracy_s"]),
        *power,
        rnd(r["cpu_utilisation"], 3),
        rnd(r["peak_rss_mb"], 1),
        *(rnd(r[k]) for k in ("data_load_s", "prepare_s", "process_s", "total_s")),
    ]


def summarize_train(spec: dict[str, Any], records: list[dict[str, Any]]) -> Parts:
    """The task row, indicators, conformance rows, notes and section of a `train` task."""
    runs = [r["data"] for r in records if r["data"]["kind"] == "train-run"]
    ddp = sorted(
        (r["data"] for r in records if r["data"]["kind"] == "train-ddp"), key=lambda d: d["workers"]
    )
    parts = Parts()
    rows = _run_rows(spec, runs, parts) if runs else {}
    if len(ddp) >= 2 and ddp[0]["workers"] == 1:
        base, last = ddp[0]["samples_per_s"], ddp[-1]
        eff = last["samples_per_s"] / (last["workers"] * base)
        rows["train_scaling_efficiency"] = MetricRow.fixed(
            METRIC_BY_NAME["train_scaling_efficiency"], eff, len(ddp)
        )
        parts.conformance.append(
            Conformance(
                spec["id"],
                "scaling",
                f"{last['backend']} x{last['workers']}",
                "train_scaling_efficiency",
                rnd(eff),
                True,
                f"{base:.1f} samples/s at 1 worker, {last['samples_per_s']:.1f} at {last['workers']}",
            )
        )
    if not rows:
        return Parts()
    primary = "train_samples_per_s" if "train_samples_per_s" in rows else next(iter(rows))
    parts.tasks.append(
        TaskRow.of(
            spec, len(runs), primary, rows, type="train", dimension="training", language="en"
        )
    )
    target = spec.get("target_accuracy", 0.95)
    parts.indicators += metric_indicators(spec["id"], rows, {"train_accuracy": target})
    if runs and not runs[0]["power"].get("measured"):
        parts.notes.append(
            f"Training power and energy not measured: {runs[0]['power'].get('reason')}."
        )
    charts: list[LinesChart | BarsChart] = []
    if runs:
        curves = [
            LineSeries(f"seed {r['seed']}", [c[1] for c in r["curve"]], [c[2] for c in r["curve"]])
            for r in runs
        ]
        charts.append(
            LinesChart(
                "Test accuracy against training time",
                curves,
                x_label="training-step time (s)",
                y_label="accuracy",
            )
        )
    if ddp:
        charts.append(
            BarsChart.single(
                "Data-parallel throughput",
                [f"{d['workers']} workers" for d in ddp],
                [d["samples_per_s"] for d in ddp],
                "samples/s",
                unit="samples/s",
            )
        )
    parts.sections.append(
        Section(
            f"train-{spec['id']}",
            f"Training: {spec['id']}",
            f"训练性能：{spec['id']}",
            text="Training record per run (GB/T 45087 fields): throughput, accuracy, time to "
            "target accuracy, average/max power, energy, samples/J, CPU utilisation, peak RSS, "
            "phase times.",
            table=Table(RUN_COLUMNS, [_run_record(r) for r in runs]),
            charts=charts,
        )
    )
    return parts
