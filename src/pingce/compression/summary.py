"""The compression report: task rows and indicators through the report kit
(`pingce.core.report.kit.summarize_tasks`), the per-variant table, the latency table and the
size/accuracy chart, built from stored records only."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from pingce.compression.metrics import BY_NAME
from pingce.compression.tasks import DEFAULT_BUDGET, task_type
from pingce.core.report.kit import (
    IndicatorEntry,
    LinesChart,
    LineSeries,
    MetricRow,
    Section,
    Summary,
    Table,
    rnd,
    summarize_tasks,
    verdict,
)
from pingce.models.latency import speedup_statement

METHOD = "fraction of variants whose relative accuracy drop (upper 95% CI) fits the budget"


def budget_upper(row: MetricRow) -> float:
    """What the budget check holds against the budget: the CI's upper end (the value when the
    CI is undefined)."""
    return row.ci_high if row.ci_high is not None else row.value


def _indicator(spec: Mapping[str, Any], mdef: Any, row: MetricRow) -> IndicatorEntry:
    if mdef.name != "cmp_rel_accuracy_drop":
        return IndicatorEntry.from_metric(mdef, row, str(spec["id"]))
    budget = spec.get("budget", DEFAULT_BUDGET)
    return IndicatorEntry.from_metric(
        mdef,
        row,
        str(spec["id"]),
        threshold=budget,
        verdict=verdict(budget_upper(row), budget, "lower"),
    )


def summarize(
    suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    summary = summarize_tasks(
        suite,
        config,
        records,
        metrics=BY_NAME,
        primary=lambda spec, rows: task_type(spec["type"]).primary,
        # One dimension per variant, so the report groups a variant's tasks together.
        task_fields=lambda spec, recs: {
            "dimension": spec.get("variant", "compression"),
            "language": "en",
        },
        indicator=_indicator,
    )
    per_variant: dict[str, dict[str, Any]] = defaultdict(dict)
    for t in summary.tasks:
        if t.task is None:
            continue
        v = per_variant[t.spec["variant"]]
        v.setdefault("rows", {}).update(t.rows)
        v["budget"] = t.spec.get("budget", DEFAULT_BUDGET)
        kind = task_type(t.spec["type"]).kind
        if kind == "size":
            v["size"] = t.records[0]["data"]
        if kind == "latency":
            v["latency"] = [r["data"] for r in t.records]
    sections, notes, verdicts = _sections(per_variant)
    fitting = _fitting_note(config.get("options", {}))
    if fitting:
        notes.insert(0, fitting)
    passed = sum(verdicts.values())
    return Summary(
        tasks=summary.task_rows(),
        indicators=summary.indicator_rows(),
        overall_score=passed / len(verdicts) if verdicts else None,
        overall_method=METHOD,
        notes=notes,
        sections=sections,
        extra={"budget_verdicts": verdicts},
    ).to_dict()


def _fitting_note(options: dict[str, Any]) -> str | None:
    """Which data calibration / fine-tuning used, and that it was not scored (None when the
    run did not build its variants: `compress test` cannot know how they were made)."""
    split = options.get("fit_split")
    given = [
        f"{what} data {options[key]}"
        for what, key in (("calibration", "calib_data"), ("fine-tuning", "train_data"))
        if options.get(key)
    ]
    parts = []
    if split:
        uses = " and ".join(
            {"calib": "calibration", "train": "fine-tuning"}[u] for u in split["used_for"]
        )
        parts.append(
            f"{uses} used {split['n_fit']} samples split off the evaluation data (seeded "
            f"{split['fraction']:.0%}, seed {split['seed']}); accuracy is scored on the other "
            f"{split['n_scored']} only"
        )
    if given:
        parts.append(f"{', '.join(given)} (given separately)")
    if not parts:
        if "calib_data" not in options:
            return None
        return "No compressor fitted on data (no calibration or fine-tuning)."
    return "Fitting data: " + "; ".join(parts) + "."


VARIANT_COLUMNS = [
    "variant",
    "ratio (file bytes)",
    "ratio (gzip bytes)",
    "ratio (params)",
    "ratio (non-zero params)",
    "FLOPs reduction",
    "baseline acc",
    "compressed acc",
    "abs drop",
    "rel drop [95% CI]",
    "budget",
    "top-1 agreement",
    "SQNR dB",
    "cosine",
]
VARIANT_METRICS = [
    "cmp_ratio_file_bytes",
    "cmp_ratio_gzip_bytes",
    "cmp_ratio_params",
    "cmp_ratio_nonzero_params",
    "cmp_flops_reduction",
    "cmp_accuracy_baseline",
    "cmp_accuracy_compressed",
    "cmp_accuracy_drop",
]
LATENCY_COLUMNS = [
    "variant",
    "batch",
    "threads",
    "baseline p50",
    "compressed p50",
    "compressed p90",
    "compressed p99",
    "baseline items/s",
    "compressed items/s",
    "speed-up [95% CI]",
    "significance",
    "peak mem MiB",
    "J/inference",
]


def _value(rows: Mapping[str, MetricRow], name: str) -> Any:
    return rnd(rows[name].value, significant=True) if name in rows else None


def _variant_row(label: str, rows: Mapping[str, MetricRow], passed: bool | None) -> list[Any]:
    rel = rows.get("cmp_rel_accuracy_drop")
    rel_cell = (
        f"{rel.value:.4f} [{rel.ci_low:.4f}, {rel.ci_high:.4f}]"
        if rel is not None and rel.ci_low is not None and rel.ci_high is not None
        else None
    )
    return [
        label,
        *(_value(rows, name) for name in VARIANT_METRICS),
        rel_cell,
        None if passed is None else ("pass" if passed else "FAIL"),
        _value(rows, "cmp_top1_agreement"),
        _value(rows, "cmp_sqnr_db"),
        _value(rows, "cmp_cosine"),
    ]


def _latency_row(label: str, lat: dict[str, Any]) -> list[Any]:
    b, c, sp = lat["source"], lat["target"], lat["speedup"]
    energy = lat["energy"].get("target", {}).get("j_per_inference")
    return [
        label,
        lat["batch"],
        lat["threads"],
        *(rnd(x, significant=True) for x in (b["p50_ms"], c["p50_ms"], c["p90_ms"], c["p99_ms"])),
        rnd(b["throughput"], significant=True),
        rnd(c["throughput"], significant=True),
        f"{sp['value']:.2f} [{sp['ci_low']:.2f}, {sp['ci_high']:.2f}]",
        "significant" if sp["significant"] else "not significant",
        rnd(lat["memory_mb"].get("target"), significant=True),
        rnd(energy, significant=True),
    ]


def _flops_note(label: str, flops: dict[str, Any]) -> str:
    how = (
        "counted on the compressed graph"
        if flops.get("counted_on") == "compressed graph"
        else "the baseline's op count (quantised or ONNX graph: precision changes keep "
        "the multiply-adds)"
    )
    if flops.get("sparsity_adjusted"):
        how += "; sparsity-adjusted: layers with zeroed weights count FLOPs × density"
    elif flops.get("not_sparsity_adjusted"):
        how += f"; zeroed weights not counted ({flops['not_sparsity_adjusted']})"
    return f"{label}: FLOPs reduction {flops['reduction']:.4f}, {how}."


def _sections(
    per_variant: dict[str, dict[str, Any]],
) -> tuple[list[Section], list[str], dict[str, bool]]:
    table, latency_rows, notes = [], [], []
    verdicts: dict[str, bool] = {}
    points = []
    for label, v in per_variant.items():
        rows: dict[str, MetricRow] = v.get("rows", {})
        passed = None
        rel = rows.get("cmp_rel_accuracy_drop")
        if rel is not None:
            passed = verdict(budget_upper(rel), v["budget"], "lower") == "pass"
            verdicts[label] = passed
        table.append(_variant_row(label, rows, passed))
        for lat in v.get("latency", []):
            latency_rows.append(_latency_row(label, lat))
            notes.append(speedup_statement(lat["speedup"], f"{label}, batch {lat['batch']}"))
        flops = v.get("size", {}).get("flops", {})
        if flops.get("available"):
            notes.append(_flops_note(label, flops))
        if "cmp_ratio_file_bytes" in rows and "cmp_accuracy_compressed" in rows:
            points.append(
                LineSeries(
                    label,
                    [rows["cmp_ratio_file_bytes"].value],
                    [rows["cmp_accuracy_compressed"].value],
                )
            )
    energy_reasons = {
        lat["energy"].get("target", {}).get("reason")
        for v in per_variant.values()
        for lat in v.get("latency", [])
    } - {None, ""}
    if energy_reasons:
        notes.append(f"Energy per inference not measured: {sorted(energy_reasons)[0]}.")
    chart = LinesChart(
        "Size / accuracy trade-off",
        points,
        x_label="compression ratio (file bytes)",
        y_label="accuracy",
        x_log=False,
        y_log=False,
    )
    sections = [
        Section(
            "variants",
            "Compressed variants",
            "压缩变体",
            text="Ratios are baseline / compressed. The budget check holds the upper end of the "
            "95% bootstrap CI of the relative accuracy drop against the budget.",
            table=Table(VARIANT_COLUMNS, table),
            charts=[chart] if points else None,
        )
    ]
    if latency_rows:
        sections.append(
            Section(
                "latency",
                "Latency, throughput, memory, energy",
                "时延、吞吐、内存、能耗",
                text="Milliseconds from alternating calls after warm-up with fixed threads; "
                "speed-up = baseline / compressed with a 95% paired-bootstrap CI. Memory: peak "
                "RSS increase during the compressed model's warm-up calls (MiB). Energy: J per "
                "inference (RAPL/NVML).",
                table=Table(LATENCY_COLUMNS, latency_rows),
            )
        )
    return sections, notes, verdicts
