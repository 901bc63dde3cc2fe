"""Pooled and per-attack / per-condition / per-language results, as report sections.

Grouping follows ASVspoof practice: a per-attack EER pits all bona fide trials against that
attack's spoofs; a per-condition (codec/channel) or per-language EER uses only that group's
bona fide and spoof trials; the attack x condition heat map pits the condition's bona fide
trials against the attack's spoofs in that condition. Groups with no trial of a class show
"n/a" rather than a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pingce.core.report.kit import (
    BarsChart,
    HeatmapChart,
    LinesChart,
    LineSeries,
    Section,
    Table,
    rnd,
)
from pingce.voice import metrics as vm


@dataclass(frozen=True)
class Row:
    score: float
    bona: bool
    attack: str
    condition: str
    language: str


Trials = Any  # a `pingce.voice.columns.TrialTable`, or a sequence of `Row`s


def _columns(rows: Trials) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(scores, bona, attack, condition, language) arrays; string columns as object arrays."""
    from pingce.voice.columns import TrialTable

    if isinstance(rows, TrialTable):
        return (
            rows.score,
            rows.bona,
            rows.attack.values(),
            rows.condition.values(),
            rows.language.values(),
        )
    return (
        np.array([r.score for r in rows], dtype=float),
        np.array([r.bona for r in rows], dtype=bool),
        np.array([r.attack for r in rows], dtype=object),
        np.array([r.condition for r in rows], dtype=object),
        np.array([r.language for r in rows], dtype=object),
    )


def _metrics(bona: np.ndarray, spoof: np.ndarray) -> dict[str, float] | None:
    if bona.size == 0 or spoof.size == 0:
        return None
    e, thr, min_dcf = vm.eer_and_min_dcf(bona, spoof)  # one sort for both
    return {
        "eer": e,
        "eer_threshold": thr,
        "min_dcf": min_dcf,
        "act_dcf": vm.act_dcf(bona, spoof)[0],
        "cllr": vm.cllr(bona, spoof),
        "min_cllr": vm.min_cllr(bona, spoof),
    }


def groups(rows: Trials) -> list[dict[str, Any]]:
    """One dict per group: by, value, n_bona, n_spoof and the metrics (None when undefined)."""
    scores, bona, attacks, conds, langs = _columns(rows)
    out: list[dict[str, Any]] = []

    def add(by: str, value: str, mb: np.ndarray, ms: np.ndarray) -> None:
        out.append(
            {
                "by": by,
                "value": value,
                "n_bona": int(mb.sum()),
                "n_spoof": int(ms.sum()),
                "metrics": _metrics(scores[mb], scores[ms]),
            }
        )

    add("pooled", "all", bona, ~bona)
    for a in sorted({str(v) for v in attacks[~bona]}):
        add("attack", a, bona, (~bona) & (attacks == a))
    for field, vals in (("condition", conds), ("language", langs)):
        distinct = sorted({str(v) for v in vals})
        if len(distinct) < 2:
            continue
        for v in distinct:
            m = vals == v
            add(field, v, bona & m, (~bona) & m)
    return out


BREAKDOWN_COLUMNS = (
    "by",
    "group",
    "n bona fide",
    "n spoof",
    "EER",
    "EER threshold",
    "minDCF",
    "actDCF",
    "Cllr",
    "minCllr",
)
GROUP_METRICS = ("eer", "eer_threshold", "min_dcf", "act_dcf", "cllr", "min_cllr")


def breakdown_section(gs: list[dict[str, Any]]) -> Section:
    rows = []
    for g in gs:
        m = g["metrics"] or {}
        rows.append(
            [
                g["by"],
                g["value"],
                g["n_bona"],
                g["n_spoof"],
                *(rnd(m.get(k)) for k in GROUP_METRICS),
            ]
        )
    return Section(
        id="voice-breakdown",
        title="Results pooled, per attack, per condition and per language",
        title_zh="总体、分攻击、分信道条件与分语种结果",
        text="Per attack: all bona fide trials vs that attack's spoofs. Per condition and "
        "per language: that group's bona fide vs spoof trials. EER as a fraction.",
        table=Table(BREAKDOWN_COLUMNS, rows),
    )


def det_section(rows: Trials) -> Section:
    scores, bona, _, conds, _ = _columns(rows)
    x, y = vm.det_points(scores[bona], scores[~bona])
    series = [LineSeries("pooled", x, y)]
    distinct = sorted({str(v) for v in conds})
    if len(distinct) > 1:
        for c in distinct:
            m = conds == c
            if (bona & m).any() and ((~bona) & m).any():
                x, y = vm.det_points(scores[bona & m], scores[(~bona) & m], max_points=120)
                series.append(LineSeries(c, x, y))
    chart = LinesChart(
        "DET",
        series,
        x_label="false alarm rate (spoof accepted)",
        y_label="miss rate (bona fide rejected)",
        x_scale="probit",
        y_scale="probit",
    )
    return Section(
        id="voice-det",
        title="DET curves (pooled and per condition)",
        title_zh="DET 曲线（总体与分信道条件）",
        text="Probit axes; rates are clipped to [1e-4, 1 - 1e-4].",
        charts=[chart],
    )


def heatmap_section(rows: Trials) -> Section | None:
    scores, bona, attacks, conds, _ = _columns(rows)
    attack_names = sorted({str(v) for v in attacks[~bona]})
    cond_names = sorted({str(v) for v in conds})
    if len(attack_names) < 2 and len(cond_names) < 2:
        return None
    values: list[list[float | None]] = []
    in_cond = {c: conds == c for c in cond_names}  # each mask once, not once per cell
    spoof_of = {a: (~bona) & (attacks == a) for a in attack_names}
    for a in attack_names:
        line: list[float | None] = []
        for c in cond_names:
            mb = bona & in_cond[c]
            ms = spoof_of[a] & in_cond[c]
            line.append(rnd(vm.eer(scores[mb], scores[ms])[0]) if mb.any() and ms.any() else None)
        values.append(line)
    chart = HeatmapChart(
        "EER (attack x condition)", attack_names, cond_names, values, unit="fraction"
    )
    return Section(
        id="voice-heatmap",
        title="EER by attack and condition",
        title_zh="分攻击与信道条件的等错误率",
        charts=[chart],
    )


def robustness_section(gs: list[dict[str, Any]], clean: str) -> Section | None:
    """EER and minDCF under each condition minus the clean condition's."""
    by_cond = {g["value"]: g["metrics"] for g in gs if g["by"] == "condition" and g["metrics"]}
    if clean not in by_cond or len(by_cond) < 2:
        return None
    base = by_cond[clean]
    labels = [c for c in sorted(by_cond) if c != clean]
    d_eer = [rnd(by_cond[c]["eer"] - base["eer"]) for c in labels]
    d_dcf = [rnd(by_cond[c]["min_dcf"] - base["min_dcf"]) for c in labels]
    rows = [
        [c, rnd(by_cond[c]["eer"]), d_eer[i], rnd(by_cond[c]["min_dcf"]), d_dcf[i]]
        for i, c in enumerate(labels)
    ]
    return Section(
        id="voice-robustness",
        title=f"Robustness: change against the {clean!r} condition",
        title_zh="鲁棒性：相对无失真条件的性能变化",
        text="Positive values are degradation (higher EER / minDCF than clean).",
        table=Table(["condition", "EER", "delta EER", "minDCF", "delta minDCF"], rows),
        charts=[BarsChart.single("EER change vs clean", labels, d_eer, "delta EER", "fraction")],
    )
