"""The llm standard's report summary: task rows, dimension roll-up, indicators, samples, notes.

Everything is recomputed from stored records and the run's config, so a report can be
regenerated at any time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pingce.core.registry import task_types
from pingce.core.spec import Indicator
from pingce.core.standard import task_row
from pingce.core.store import records_by_task
from pingce.llm.indicators import EFFICIENCY_INDICATORS, SCORE_INDICATORS
from pingce.llm.metrics import get_metric
from pingce.llm.taxonomy import rollup

SAMPLES_PER_TASK_IN_REPORT = 100
BOOTSTRAP_RESAMPLES = 1000


def summarize(
    suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """The summary part of the report document for an llm run."""
    from pingce.llm.failures import failure_note, partition_failed
    from pingce.llm.served_report import served_summary

    seed = int(config.get("options", {}).get("seed", 1234))
    records, failed = partition_failed(records)
    by_task = records_by_task(records)
    task_rows: list[dict[str, Any]] = []
    indicators: list[dict[str, Any]] = []
    samples: list[dict[str, Any]] = []
    samples_kept: dict[str, dict[str, int]] = {}
    for spec in suite["tasks"]:
        recs = by_task.get(spec["id"], [])
        if not recs:
            continue
        cls = task_types.get(spec["type"])
        names = spec.get("metrics") or list(cls.default_metrics)
        primary = spec.get("primary_metric") or names[0]
        metric_rows = {}
        for name in names:
            mdef = get_metric(name)
            items = [r["scores"][name] for r in recs]
            row = mdef.row(items, seed=seed, n_resamples=BOOTSTRAP_RESAMPLES)
            metric_rows[name] = row
            indicators.append(_indicator_row(mdef, row, scope=spec["id"]))
        prim = get_metric(primary)
        value = metric_rows[primary]["value"]
        scaled = value / prim.scale if prim.scale > 0 and prim.direction == "higher" else None
        task_rows.append(
            task_row(
                spec,
                len(recs),
                primary,
                metric_rows,
                weight=float(spec.get("weight", 1.0)),
                scaled=scaled,
            )
        )
        kept = sorted(recs, key=lambda r: r.get("position", 0))[:SAMPLES_PER_TASK_IN_REPORT]
        samples_kept[spec["id"]] = {"kept": len(kept), "total": len(recs)}
        for r in kept:
            d = r["data"]
            samples.append(
                {
                    "task": spec["id"],
                    "sample_id": r["sample_id"],
                    "prompt": d.get("prompt", ""),
                    "output": d.get("output", ""),
                    "extracted": d.get("extracted"),
                    "reference": d.get("reference", ""),
                    "scores": {k: v for k, v in r["scores"].items() if isinstance(v, int | float)},
                    "data": {
                        k: v
                        for k, v in d.items()
                        if k not in {"prompt", "output", "extracted", "reference"}
                    },
                }
            )
    dimensions, overall = rollup(task_rows)
    run_inds = [
        _plain_indicator(
            SCORE_INDICATORS[0], overall["score"], "run", sum(t["n_samples"] for t in task_rows)
        )
    ]
    for dim in dimensions:
        ind = SCORE_INDICATORS[1]
        row = _plain_indicator(ind, dim["score"], dim["id"], None)
        row["id"] = f"dimension_score.{dim['id']}"
        row["name"] = f"{dim['name']} score"
        row["name_zh"] = f"{dim['name_zh']}得分"
        run_inds.append(row)
    efficiency = _efficiency(records)
    for ind in EFFICIENCY_INDICATORS:
        run_inds.append(_plain_indicator(ind, efficiency[ind.id], "run", len(records)))
    for t in task_rows:
        t.pop("scaled")
        t.pop("weight")
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
    notes.extend(failure_note(failed))
    from pingce.llm.tasks.code_generation import sandbox_notes

    notes.extend(sandbox_notes(records))
    served = served_summary(records, failed, config)
    notes.extend(served["notes"])
    # Calibration, robustness, few-shot spread, contamination and conformance verdicts.
    from pingce.llm.report_extras import report_extras

    more = report_extras(suite, config, records)
    return {
        "tasks": task_rows,
        "dimensions": dimensions,
        "overall": overall,
        "indicators": run_inds + indicators + more["indicators"],
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


def _indicator_row(mdef: Any, row: dict[str, Any], scope: str) -> dict[str, Any]:
    unit = row["unit"] or ("0-100" if mdef.scale == 100 else "0-1" if mdef.scale == 1 else "")
    return mdef.indicator_row(row, scope, unit=unit)


def _plain_indicator(
    ind: Indicator, value: float | None, scope: str, n: int | None
) -> dict[str, Any]:
    verdict = None
    if ind.threshold is not None and value is not None:
        ok = value >= ind.threshold if ind.direction == "higher" else value <= ind.threshold
        verdict = "pass" if ok else "fail"
    return {
        "id": ind.id,
        "name": ind.name,
        "name_zh": ind.name_zh,
        "unit": ind.unit,
        "direction": ind.direction,
        "definition": ind.definition,
        "value": value,
        "stderr": None,
        "ci_low": None,
        "ci_high": None,
        "n": n,
        "scope": scope,
        "threshold": ind.threshold,
        "verdict": verdict,
    }


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
