"""The llm standard's report summary: task rows, dimension roll-up, indicators, samples, notes.

Everything is recomputed from stored records and the run's config (through the report kit),
so a report can be regenerated at any time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from pingce.core.metric import MetricDef
from pingce.core.registry import task_types
from pingce.core.report.kit import IndicatorEntry, MetricRow, summarize_tasks, to_dicts
from pingce.llm.indicators import EFFICIENCY_INDICATORS, SCORE_INDICATORS
from pingce.llm.metrics import get_metric
from pingce.llm.taxonomy import rollup

SAMPLES_PER_TASK_IN_REPORT = 100
BOOTSTRAP_RESAMPLES = 1000
_SAMPLE_FIELDS = {"prompt", "output", "extracted", "reference"}


def task_metrics(spec: Mapping[str, Any]) -> dict[str, MetricDef]:
    """A task's metrics in report order: the suite's list, else its type's defaults."""
    names = spec.get("metrics") or list(task_types.get(spec["type"]).default_metrics)
    return {name: get_metric(name) for name in names}


def _primary(spec: Mapping[str, Any], rows: Mapping[str, MetricRow]) -> str:
    return str(spec.get("primary_metric") or next(iter(task_metrics(spec))))


def _scale_unit(mdef: MetricDef) -> str:
    return "0-100" if mdef.scale == 100 else "0-1" if mdef.scale == 1 else ""


def _indicator(spec: Mapping[str, Any], mdef: MetricDef, row: MetricRow) -> IndicatorEntry:
    return IndicatorEntry.from_metric(
        mdef, row, str(spec["id"]), unit=row.unit or _scale_unit(mdef)
    )


def _scaled(value: float, mdef: MetricDef) -> float | None:
    """A primary value on 0..1 for the roll-up; None for metrics without a fixed scale."""
    return value / mdef.scale if mdef.scale > 0 and mdef.direction == "higher" else None


def _sample(task_id: str, r: dict[str, Any]) -> dict[str, Any]:
    d = r["data"]
    return {
        "task": task_id,
        "sample_id": r["sample_id"],
        "prompt": d.get("prompt", ""),
        "output": d.get("output", ""),
        "extracted": d.get("extracted"),
        "reference": d.get("reference", ""),
        "scores": {k: v for k, v in r["scores"].items() if isinstance(v, int | float)},
        "data": {k: v for k, v in d.items() if k not in _SAMPLE_FIELDS},
    }


def summarize(
    suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """The summary part of the report document for an llm run."""
    from pingce.llm.failures import failure_note, partition_failed
    from pingce.llm.report_extras import report_extras
    from pingce.llm.served_report import served_summary
    from pingce.llm.tasks.code_generation import sandbox_notes

    records, failed = partition_failed(records)
    summary = summarize_tasks(
        suite,
        config,
        records,
        metrics=task_metrics,
        primary=_primary,
        n_resamples=BOOTSTRAP_RESAMPLES,
        indicator=_indicator,
    )
    task_rows = summary.task_rows()
    samples: list[dict[str, Any]] = []
    samples_kept: dict[str, dict[str, int]] = {}
    rolled: list[dict[str, Any]] = []
    for t in summary.tasks:
        kept = sorted(t.records, key=lambda r: r.get("position", 0))[:SAMPLES_PER_TASK_IN_REPORT]
        samples_kept[t.id] = {"kept": len(kept), "total": len(t.records)}
        samples.extend(_sample(t.id, r) for r in kept)
        if t.task is not None and t.primary_row is not None:
            prim = get_metric(t.task.primary_metric)
            scaled = _scaled(t.primary_row.value, prim)
            weight = float(t.spec.get("weight", 1.0))
            rolled.append({**t.task.to_dict(), "weight": weight, "scaled": scaled})
    dimensions, overall = rollup(rolled)
    efficiency = _efficiency(records)
    n_scored = sum(t["n_samples"] for t in task_rows)
    run_inds = [
        IndicatorEntry.from_indicator(SCORE_INDICATORS[0], overall["score"], "run", n=n_scored)
    ]
    for dim in dimensions:
        entry = IndicatorEntry.from_indicator(SCORE_INDICATORS[1], dim["score"], dim["id"])
        run_inds.append(
            dataclasses.replace(
                entry,
                id=f"dimension_score.{dim['id']}",
                name=f"{dim['name']} score",
                name_zh=f"{dim['name_zh']}得分",
            )
        )
    run_inds += [
        IndicatorEntry.from_indicator(ind, efficiency[ind.id], "run", n=len(records))
        for ind in EFFICIENCY_INDICATORS
    ]
    notes = _notes(task_rows, samples_kept)
    notes.extend(failure_note(failed))
    notes.extend(sandbox_notes(records))
    served = served_summary(records, failed, config)
    notes.extend(served["notes"])
    # Calibration, robustness, few-shot spread, contamination and conformance verdicts.
    more = report_extras(suite, config, records)
    return {
        "tasks": task_rows,
        "dimensions": dimensions,
        "overall": overall,
        "indicators": to_dicts(run_inds) + summary.indicator_rows() + more["indicators"],
        "samples": samples,
        "notes": notes + more["notes"],
        "sections": served["sections"] + more["sections"],
        "extra": {
            "efficiency": efficiency,
            **served["extra"],
            "catalogue": more["extra"],
            "samples_kept": samples_kept,
        },
    }


def _notes(task_rows: list[dict[str, Any]], samples_kept: dict[str, dict[str, int]]) -> list[str]:
    notes = []
    unscaled = [t["id"] for t in task_rows if get_metric(t["primary_metric"]).scale == 0]
    if unscaled:
        notes.append(
            f"Not rolled up into dimension scores (no fixed scale): {', '.join(unscaled)}."
        )
    cut = {t: k for t, k in samples_kept.items() if k["kept"] < k["total"]}
    if cut:
        notes.append(
            f"The report's sample table keeps the first {SAMPLES_PER_TASK_IN_REPORT} "
            "samples of each task (by position): "
            + ", ".join(f"{t} {k['kept']} of {k['total']}" for t, k in cut.items())
            + "; scores use every sample, and `pingce export RUN_ID --records` writes "
            "every record."
        )
    return notes


def _efficiency(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    usage = [r["data"].get("usage", {}) for r in records]
    tokens_in = float(sum(u.get("tokens_in", 0) for u in usage))
    tokens_out = float(sum(u.get("tokens_out", 0) for u in usage))
    seconds = float(sum(u.get("seconds", 0.0) for u in usage))
    return {
        "requests": float(sum(u.get("requests", 0) for u in usage)),
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "latency_per_sample_ms": 1000.0 * seconds / len(usage) if usage else 0.0,
        "tokens_per_second": (tokens_in + tokens_out) / seconds if seconds > 0 else 0.0,
        "model_seconds": seconds,
    }
