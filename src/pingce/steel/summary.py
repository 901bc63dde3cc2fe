"""Summaries of steel runs from stored records: task rows, indicators and sections (report kit)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pingce.core.report.kit import (
    BarsChart,
    BarSeries,
    IndicatorEntry,
    LinesChart,
    LineSeries,
    MetricRow,
    Section,
    Table,
    rnd,
    summarize_tasks,
)
from pingce.steel.metrics import (
    CATALOGUE,
    COLUMN_TO_KEY,
    DEFAULT_TOLERANCES,
    TARGETS,
    THRESHOLDS,
)

PRIMARY = {
    "steel.endpoint": "steel_temp_hit_rate",
    "steel.importance": "steel_importance_stability",
    "steel.quality.completeness": "steel_completeness",
    "steel.quality.validity": "steel_validity",
    "steel.quality.duplicates": "steel_duplicate_rate",
    "steel.quality.outliers": "steel_outlier_rate",
    "steel.quality.consistency": "steel_balance_consistency",
    "steel.quality.leakage": "steel_leakage_rate",
    "steel.quality.drift": "steel_drift_rate",
    "steel.quality.timeseries": "steel_ts_gap_rate",
}


def summarize(
    suite: Mapping[str, Any], config: Mapping[str, Any], records: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    summary = summarize_tasks(
        suite,
        config,
        records,
        metrics=CATALOGUE,
        primary=PRIMARY,
        default_dimension="steel",
        task_fields=lambda spec, recs: {"type": spec["type"]},
        indicator=_indicator,
    )
    sections: list[Section] = []
    notes: list[str] = []
    settings = config.get("settings", {})
    for t in summary.tasks:
        kind = t.spec["type"]
        if kind == "steel.endpoint":
            split = settings.get("splits", {}).get(t.id)
            if split:
                notes.append(f"{t.id}: {split}")
            s, n = endpoint_sections(t.spec, t.records, summary.seed)
        elif kind == "steel.importance":
            s, n = importance_sections(t.id, t.records), []
        else:
            s, n = quality_sections(t.id, kind.rsplit(".", 1)[1], t.records)
        sections.extend(s)
        notes.extend(n)
    notes.extend(settings.get("data_notes", []))
    if settings.get("funnel"):
        sections.insert(0, funnel_section(settings["funnel"]))
    return {
        "tasks": summary.task_rows(),
        "dimensions": [],
        "overall": {
            "score": summary.mean_primary_score(),
            "method": "mean of the task scores (rates where lower is better enter as 1 - rate)",
        },
        "indicators": summary.indicator_rows(),
        "samples": [],
        "notes": notes,
        "sections": [s.to_dict() for s in sections],
        "extra": {"subject_settings": settings},
    }


def funnel_section(funnel: Sequence[Mapping[str, Any]]) -> Section:
    """The processing funnel the heat table went through (`pingce steel process`)."""
    rows = [
        [
            f.get("step"),
            f.get("heats_in"),
            f.get("heats_out"),
            f.get("removed"),
            f.get("values_changed"),
            f.get("series_rows_out"),
        ]
        for f in funnel
    ]
    return Section(
        "funnel",
        "Processing funnel",
        "处理漏斗",
        text="The steps of the processing pipeline that produced this heat table (its stats.json): heats in and out, values changed, sensor-series rows out.",
        table=Table(
            ["step", "heats in", "heats out", "removed", "values changed", "series rows out"], rows
        ),
        charts=[
            BarsChart.single(
                "Heats after each step", [str(r[0]) for r in rows], [r[2] for r in rows], "heats"
            )
        ],
    )


def _indicator(spec: Mapping[str, Any], mdef: Any, row: MetricRow) -> IndicatorEntry:
    """The metric's indicator with its pass level (the task's `thresholds`, else the default)."""
    threshold = {**THRESHOLDS, **(spec.get("thresholds") or {})}.get(mdef.name)
    return IndicatorEntry.from_metric(mdef, row, str(spec["id"]), threshold=threshold)


def tolerances_of(spec: Mapping[str, Any]) -> dict[str, list[float]]:
    return {**DEFAULT_TOLERANCES, **(spec.get("tolerances") or {})}


def _errors(recs: Sequence[dict[str, Any]], col: str) -> np.ndarray:
    return np.array(
        [
            r["data"]["targets"][col]["pred"] - r["data"]["targets"][col]["y"]
            for r in recs
            if col in r["data"].get("targets", {})
        ]
    )


def endpoint_sections(
    spec: Mapping[str, Any], recs: Sequence[dict[str, Any]], seed: int
) -> tuple[list[Section], list[str]]:
    task_id = str(spec["id"])
    tols = tolerances_of(spec)
    cols = [c for c in COLUMN_TO_KEY if any(c in r["data"].get("targets", {}) for r in recs)]
    sections: list[Section] = []
    notes: list[str] = []
    # hit rates at every configured tolerance
    rows, labels, values = [], [], []
    for col in cols:
        key = COLUMN_TO_KEY[col]
        err = np.abs(_errors(recs, col))
        for tol in tols[key]:
            hits = (err <= tol + 1e-12).astype(int).tolist()
            row = MetricRow.from_items(CATALOGUE[f"steel_{key}_hit_rate"], hits, seed=seed)
            unit = TARGETS[key][3]
            rows.append(
                [
                    TARGETS[key][1],
                    f"±{tol:g} {unit}",
                    rnd(row.value),
                    rnd(row.ci_low),
                    rnd(row.ci_high),
                    row.n,
                ]
            )
            labels.append(f"{key} ±{tol:g}")
            values.append(rnd(row.value))
    if "endpoint_temp_c" in cols and "endpoint_c_pct" in cols:
        both = [
            r["scores"]["steel_double_hit_rate"]
            for r in recs
            if "steel_double_hit_rate" in r["scores"]
        ]
        row = MetricRow.from_items(CATALOGUE["steel_double_hit_rate"], both, seed=seed)
        rows.append(
            [
                "temperature and carbon",
                f"±{tols['temp'][0]:g} °C and ±{tols['c'][0]:g} %",
                rnd(row.value),
                rnd(row.ci_low),
                rnd(row.ci_high),
                row.n,
            ]
        )
        labels.append("double")
        values.append(rnd(row.value))
    sections.append(
        Section(
            f"{task_id}-hit-rates",
            "Hit rates by tolerance",
            "各容差命中率",
            text="A heat hits when |predicted − measured| ≤ tolerance. The first tolerance of each target is the primary one (the indicator); the double hit needs temperature and carbon both within their primary tolerances. 95 % bootstrap CIs over test heats.",
            table=Table(["target", "tolerance", "hit rate", "CI low", "CI high", "heats"], rows),
            charts=[
                BarsChart.single("Hit rate by tolerance", labels, values, "hit rate", unit="0-1")
            ],
        )
    )
    # by grade, and by campaign where the table has one
    sections.append(
        Section(
            f"{task_id}-grades",
            "By steel grade",
            "按钢种",
            table=_group_table(recs, "grade", "grade", cols, tols),
        )
    )
    if len({r["data"].get("campaign") for r in recs} - {None}) > 1:
        sections.append(
            Section(
                f"{task_id}-campaigns",
                "By campaign (lining)",
                "按炉役",
                text="Heats grouped by converter campaign (lining life): a model trained on earlier campaigns often drifts in a new one.",
                table=_group_table(recs, "campaign", "campaign", cols, tols),
            )
        )
    # by period (time-ordered blocks of the test set)
    periods = int(spec.get("periods", 4))
    ordered = sorted(recs, key=lambda r: r["data"].get("time", ""))
    blocks = [
        b.tolist() for b in np.array_split(np.arange(len(ordered)), min(periods, len(ordered)))
    ]
    period_rows, series = [], defaultdict(list)
    for i, block in enumerate(blocks):
        part = [ordered[j] for j in block]
        cells = [
            i + 1,
            part[0]["data"].get("time", "")[:16],
            part[-1]["data"].get("time", "")[:16],
            len(part),
        ]
        for col in cols:
            key = COLUMN_TO_KEY[col]
            err = np.abs(_errors(part, col))
            hit = float(np.mean(err <= tols[key][0] + 1e-12))
            cells += [rnd(hit), rnd(float(err.mean()), 5)]
            series[key].append(rnd(hit))
        period_rows.append(cells)
    columns = ["period", "from", "to", "heats"] + [
        f"{COLUMN_TO_KEY[c]} {m}" for c in cols for m in ("hit rate", "MAE")
    ]
    x = [float(i + 1) for i in range(len(blocks))]
    sections.append(
        Section(
            f"{task_id}-periods",
            "By time (drift over the test period)",
            "按时间(漂移)",
            text="The test heats in time order, cut into equal blocks; a falling hit rate shows the model drifting away from the process.",
            table=Table(columns, period_rows),
            charts=[
                LinesChart(
                    "Hit rate by period",
                    [LineSeries(k, x, v) for k, v in series.items()],
                    x_label="period",
                    y_label="hit rate",
                )
            ],
        )
    )
    for key, vals in series.items():
        if (
            len(vals) >= 2
            and vals[0] is not None
            and vals[-1] is not None
            and vals[0] - vals[-1] >= 0.15
        ):
            notes.append(
                f"{task_id}: {TARGETS[key][1]} hit rate fell from {vals[0]:.2f} in the first test period to {vals[-1]:.2f} in the last (drift)."
            )
    return sections, notes


def _group_table(
    recs: Sequence[dict[str, Any]],
    field: str,
    label: str,
    cols: list[str],
    tols: dict[str, list[float]],
) -> Table:
    """Heats, primary hit rate and MAE per target for each value of a record's data `field`."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in recs:
        value = r["data"].get(field)
        groups["(none)" if value in (None, "") else str(value)].append(r)
    rows = []
    for name in sorted(groups, key=lambda g: (len(g), g)):
        g = groups[name]
        cells: list[Any] = [name, len(g)]
        for col in cols:
            key = COLUMN_TO_KEY[col]
            err = np.abs(_errors(g, col))
            cells += [rnd(float(np.mean(err <= tols[key][0] + 1e-12))), rnd(float(err.mean()), 5)]
        rows.append(cells)
    columns = [label, "heats"] + [
        f"{COLUMN_TO_KEY[c]} {m}" for c in cols for m in ("hit rate", "MAE")
    ]
    return Table(columns, rows)


TREND_RHO, TREND_P = 0.3, 0.01


def _trend_sections(
    task_id: str, recs: Sequence[dict[str, Any]], notes: list[str]
) -> list[Section]:
    """Sensor drift seen in the oxygen balance: its trend over time, per campaign."""
    from pingce.steel.process_data import balance_trend

    pts = [
        r["data"]
        for r in recs
        if r["data"].get("o2_utilisation") is not None and r["data"].get("time")
    ]
    if len(pts) < 10:
        return []
    groups = [d.get("campaign", "all") for d in pts]
    trends = balance_trend([d["time"] for d in pts], [d["o2_utilisation"] for d in pts], groups)
    rows = []
    for t in trends:
        drifting = abs(t["rho"]) >= TREND_RHO and t["p"] < TREND_P
        rows.append(
            [
                str(t["group"]),
                t["n"],
                rnd(t["rho"]),
                rnd(t["p"], 3, significant=True),
                "yes" if drifting else "no",
            ]
        )
        if drifting:
            way = "falls" if t["rho"] < 0 else "rises"
            notes.append(
                f"{task_id}: oxygen utilisation {way} steadily over campaign {t['group']} (Spearman ρ = {t['rho']:.2f}): the oxygen flow meter or the analyses are drifting."
            )
    ordered = sorted(pts, key=lambda d: d["time"])
    blocks = [b.tolist() for b in np.array_split(np.arange(len(ordered)), min(12, len(ordered)))]
    x = [float(i + 1) for i in range(len(blocks))]
    y = [rnd(float(np.median([ordered[j]["o2_utilisation"] for j in b]))) for b in blocks]
    return [
        Section(
            f"{task_id}-sensor-drift",
            "Sensor drift in the oxygen balance",
            "氧平衡中的传感器漂移",
            text=f"Oxygen utilisation per heat against time: the process keeps it level, a drifting meter makes it trend. A campaign drifts when |Spearman ρ| ≥ {TREND_RHO} with p < {TREND_P}.",
            table=Table(["campaign", "heats", "Spearman ρ", "p", "drift"], rows),
            charts=[
                LinesChart(
                    "Median oxygen utilisation over time",
                    [LineSeries("oxygen utilisation", x, y)],
                    x_label="block of heats (time order)",
                    y_label="utilisation",
                )
            ],
        )
    ]


def importance_sections(task_id: str, recs: Sequence[dict[str, Any]]) -> list[Section]:
    if not recs:
        return []
    feats = recs[0]["data"]["features"]
    mat = np.array([[r["data"]["importance"][f] for f in feats] for r in recs])
    mean, sd = mat.mean(axis=0), mat.std(axis=0, ddof=1) if len(recs) > 1 else np.zeros(len(feats))
    order = np.argsort(-mean)
    rows = [
        [feats[i], rank + 1, rnd(float(mean[i]), 5), rnd(float(sd[i]), 5)]
        for rank, i in enumerate(order)
    ]
    target = recs[0]["data"]["target"]
    return [
        Section(
            f"{task_id}-importance",
            "Permutation importance across resamples",
            "置换重要性(多次重采样)",
            text=f"MAE increase of {target} when one feature is shuffled, on {len(recs)} bootstrap resamples of the test heats; the indicator is the mean pairwise Spearman correlation of the importance vectors.",
            table=Table(["feature", "rank", "mean MAE increase", "sd"], rows),
            charts=[
                BarsChart.single(
                    "Mean permutation importance",
                    [r[0] for r in rows],
                    [r[2] for r in rows],
                    "MAE increase",
                )
            ],
        )
    ]


def quality_sections(
    task_id: str, aspect: str, recs: Sequence[dict[str, Any]]
) -> tuple[list[Section], list[str]]:
    notes: list[str] = []
    if aspect in ("completeness", "validity", "outliers"):
        field = {"completeness": "missing", "validity": "out_of_range", "outliers": "fields"}[
            aspect
        ]
        counts: dict[str, int] = defaultdict(int)
        for r in recs:
            for c in r["data"].get(field, []):
                counts[c] += 1
        rows = [
            [c, n, rnd(n / len(recs))]
            for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        title = {
            "completeness": "Missing values by field",
            "validity": "Out-of-range values by field",
            "outliers": "Robust-z outliers by field",
        }[aspect]
        zh = {
            "completeness": "各字段缺失",
            "validity": "各字段超出物理范围",
            "outliers": "各字段离群值",
        }[aspect]
        return [
            Section(f"{task_id}-fields", title, zh, table=Table(["field", "heats", "share"], rows))
        ], notes
    if aspect == "duplicates":
        dups = sorted({r["sample_id"] for r in recs if r["scores"].get("steel_duplicate_rate")})
        if dups:
            notes.append(
                f"{task_id}: duplicated heat ids: {', '.join(dups[:10])}{' ...' if len(dups) > 10 else ''}"
            )
        return [], notes
    if aspect == "consistency":
        yields = [r["data"]["yield"] for r in recs if r["data"].get("yield") is not None]
        utils = [
            r["data"]["o2_utilisation"] for r in recs if r["data"].get("o2_utilisation") is not None
        ]
        rows = [
            [
                name,
                len(v),
                rnd(float(np.median(v))) if v else None,
                rnd(float(np.min(v))) if v else None,
                rnd(float(np.max(v))) if v else None,
                f"{lo:g}–{hi:g}",
            ]
            for name, v, (lo, hi) in (
                ("metallic yield", yields, (0.85, 0.99)),
                ("oxygen utilisation", utils, (0.80, 1.00)),
            )
        ]
        sections = [
            Section(
                f"{task_id}-balance",
                "Mass and oxygen balance residuals",
                "物料与氧平衡残差",
                text="Metallic yield = tapped steel / (hot metal + scrap); oxygen utilisation = oxygen the C, Si, Mn and Fe oxidation needs / oxygen blown. A heat is consistent when both lie inside their bounds.",
                table=Table(["quantity", "heats", "median", "min", "max", "bounds"], rows),
            )
        ]
        sections += _trend_sections(task_id, recs, notes)
        return sections, notes
    if aspect == "leakage":
        rows = [
            [r["sample_id"], "yes" if r["data"]["leak"] else "no", r["data"]["reason"]]
            for r in recs
        ]
        leaks = [r["sample_id"] for r in recs if r["data"]["leak"]]
        if leaks:
            notes.append(
                f"{task_id}: {', '.join(leaks)} recorded after the decision time; drop them from the model inputs."
            )
        return [
            Section(
                f"{task_id}-columns",
                "Features and the decision time",
                "特征与决策时刻",
                table=Table(["feature", "leak", "why"], rows),
            )
        ], notes
    if aspect == "drift":
        rows = [
            [
                r["sample_id"],
                rnd(r["data"]["early_mean"], 5),
                rnd(r["data"]["late_mean"], 5),
                rnd(r["data"]["ks"]),
                rnd(r["data"]["p"], 4, significant=True),
                "yes" if r["data"]["drift"] else "no",
            ]
            for r in recs
        ]
        return [
            Section(
                f"{task_id}-features",
                "Feature drift (earliest vs latest third of heats)",
                "特征漂移",
                table=Table(["feature", "early mean", "late mean", "KS", "p", "drift"], rows),
                charts=[
                    BarsChart(
                        "KS statistic by feature",
                        [r[0] for r in rows],
                        [BarSeries("KS", [r[3] for r in rows])],
                    )
                ],
            )
        ], notes
    # timeseries
    lags: dict[str, list[float]] = defaultdict(list)
    for r in recs:
        for s, v in r["data"].get("lags", {}).items():
            lags[s].append(v)
    rows = [
        [s, len(v), rnd(float(np.median(v))), rnd(float(np.min(v))), rnd(float(np.max(v)))]
        for s, v in lags.items()
    ]
    return [
        Section(
            f"{task_id}-lags",
            "Sensor lag behind the reference (cross-correlation)",
            "传感器滞后",
            table=Table(["sensor", "heats", "median lag s", "min", "max"], rows),
        )
    ], notes
