"""From a voice run's stored records to its report: detector metrics with bootstrap CIs, the
operating point, t-DCF, system indicators, breakdown sections and sample trials.

Every number is recomputed from the stored trials (blocks of a score file, or one record per
utterance of a system run); nothing is carried over from the run itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pingce.core.report.kit import IndicatorEntry, MetricRow, Section, TaskRow, to_dicts
from pingce.core.stats import estimates_indexed
from pingce.core.store import records_by_task
from pingce.voice import metrics as vm
from pingce.voice.add_task import summarize_add
from pingce.voice.breakdown import (
    breakdown_section,
    det_section,
    groups,
    heatmap_section,
    robustness_section,
)
from pingce.voice.columns import TrialTable, table_from_blocks
from pingce.voice.indicators import (
    ARRAY_FN,
    BOOTSTRAPPED,
    BY_NAME,
    OPERATING_METRICS,
    SYSTEM_INDICATORS,
    TDCF_METRIC,
    VOICE_METRICS,
    eer_min_dcf_resampler,
    operating_resampler,
)
from pingce.voice.options import VoiceOptions
from pingce.voice.sections import (
    bad_audio_section,
    operating_section,
    report_samples,
    system_section,
)
from pingce.voice.task_types import SYSTEM, canonical, is_add

LARGE_N = 20_000  # above this many trials the bootstrap uses 200 resamples


def trial_table(scored: list[dict[str, Any]]) -> TrialTable:
    """The scored trials of a task's records: blocks of a score file, or one record per
    utterance of a system run."""
    blocks = [r["data"] for r in scored if r["data"].get("block")]
    singles = [r for r in scored if not r["data"].get("block")]
    if not singles:
        return table_from_blocks(blocks)
    from pingce.voice.table import Trial

    trials = []
    for r in singles:
        d = r["data"]
        trials.append(
            Trial(
                utt=r["sample_id"],
                score=float(d["score"]),
                key=d["key"],
                attack=d["attack"],
                condition=d["condition"],
                language=d["language"],
            )
        )
    if blocks:  # both kinds in one task: never written so, but read both rather than drop one
        trials = [*table_from_blocks(blocks).trials(), *trials]
    return TrialTable.from_trials(trials)


def summarize_voice(
    suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """The report's tasks, indicators, samples, notes, sections and extra of a voice run."""
    opts = VoiceOptions.of(config.get("options", {}))
    seed = opts.seed
    by_task = records_by_task(records)
    task_rows: list[TaskRow] = []
    indicators: list[IndicatorEntry] = []
    sections: list[Section] = []
    samples: list[dict[str, Any]] = []
    notes: list[str] = []
    extra: dict[str, Any] = {}
    tdcf_reported = False
    for spec in suite["tasks"]:
        recs = by_task.get(spec["id"], [])
        if is_add(spec["type"]):
            add_row, add_inds, add_sections = summarize_add(spec, recs, seed)
            task_rows.append(add_row)
            indicators.extend(add_inds)
            sections.extend(add_sections)
            continue
        is_system = canonical(spec["type"]) == SYSTEM
        failed = [r for r in recs if r["data"].get("error")]
        scored = [r for r in recs if not r["data"].get("error")]
        if not scored:
            if failed:
                notes.append(f"{spec['id']}: none of {len(failed)} files could be scored.")
            continue
        rows = trial_table(scored)
        bona = rows.score[rows.bona]
        spoof = rows.score[~rows.bona]
        decisions = bool(spec.get("decisions"))
        threshold = 0.5 if decisions else spec.get("threshold")
        if decisions:
            # EER, DCFs, Cllr and the DET breakdown need scores to sweep a threshold over.
            metric_rows: dict[str, MetricRow] = {}
            odd = int(((rows.score != 0.0) & (rows.score != 1.0)).sum())
            if odd:  # a score file is checked when read; a system's outputs only here
                notes.append(
                    f"{spec['id']}: {odd} of {len(rows)} outputs are not 0/1 decisions; "
                    "they are read as bona fide when >= 0.5 and spoof below."
                )
            notes.append(
                f"{spec['id']}: hard decisions (1 bona fide, 0 spoof) are evaluated at the "
                "decision itself: accuracy, precision, recall and F1 (positive class spoof) "
                "with bootstrap CIs; EER, minDCF, actDCF, Cllr, t-DCF and the DET breakdown "
                "need soft scores and are not computed."
            )
        else:
            metric_rows = detector_rows(rows, seed)
            tdcf = tdcf_row(bona, spoof, opts)
            if tdcf is not None:
                metric_rows["voice_min_tdcf"] = tdcf
                tdcf_reported = True
            else:
                notes.append(
                    f"{spec['id']}: min t-DCF is not reported: the t-DCF weights are not "
                    "positive for the ASV error rates given."
                )
        if threshold is not None:
            metric_rows.update(operating_rows(rows, float(threshold), seed))
            sections.append(operating_section(rows, float(threshold), decisions))
        for name, row in metric_rows.items():
            mdef = BY_NAME.get(name, TDCF_METRIC)
            indicators.append(IndicatorEntry.from_metric(mdef, row, spec["id"]))
        default_primary = "voice_accuracy" if decisions else "voice_eer"
        primary = opts.primary_metric or default_primary
        task_rows.append(TaskRow.of(spec, len(rows), primary, metric_rows))
        reversed_, e, e_neg = vm.reversed_convention(bona, spoof)
        convention = {"reversed": reversed_, "eer": e, "eer_negated": e_neg}
        if reversed_:
            # --negate exists for score files only; a system run is fixed in the system.
            advice = (
                "make the system output bona-fide-higher scores (e.g. negate them in its "
                "command or wrapper); pingce voice evaluate --system does not flip them"
                if is_system
                else "rerun with --negate if spoof-higher is the system's convention"
            )
            notes.append(
                f"{spec['id']}: the scores look reversed (EER {e:.4f} as given, {e_neg:.4f} "
                f"negated): the system seems to score spoof higher. Metrics use the scores as "
                f"given; {advice}."
            )
        if decisions:
            extra[spec["id"]] = {"convention": convention, "groups": []}
            samples.extend(report_samples(spec["id"], rows, scored))
            continue
        gs = groups(rows)
        sections.append(breakdown_section(gs))
        sections.append(det_section(rows))
        heat = heatmap_section(rows)
        if heat:
            sections.append(heat)
        clean = spec.get("clean_condition") or next(
            (c for c in ("clean", "none") if c in rows.condition.names), None
        )
        if clean:
            rob = robustness_section(gs, clean)
            if rob:
                sections.append(rob)
        if is_system:
            sys_sec, sys_inds, sys_extra = system_report(spec["id"], scored, failed)
            sections.extend(sys_sec)
            indicators.extend(sys_inds)
            extra[f"{spec['id']}.system"] = sys_extra
            if failed:
                notes.append(
                    f"{spec['id']}: {len(failed)} file(s) could not be scored and are left out "
                    "of the metrics (see 'Files not scored')."
                )
        extra[spec["id"]] = {"convention": convention, "groups": gs}
        samples.extend(report_samples(spec["id"], rows, scored))
    tdcf_form = opts.tdcf_formulation
    if any(not is_add(spec["type"]) and not spec.get("decisions") for spec in suite["tasks"]):
        asv = (
            "the ASV error rates given for this run."
            if opts.asv_rates
            else "the ASVspoof 5 organisers' fixed ASV operating point."
        )
        tdcf_note = (
            f" min t-DCF uses the ASVspoof {tdcf_form} formulation with {asv}"
            if tdcf_reported
            else ""
        )
        notes.append("EER/minDCF CIs: seeded percentile bootstrap over trials." + tdcf_note)
    return {
        "tasks": to_dicts(task_rows),
        "dimensions": [],
        "overall": {
            "score": None,
            "method": "none: detector metrics are reported as measured, not rolled up",
        },
        "indicators": to_dicts(indicators),
        "samples": samples,
        "notes": notes,
        "sections": to_dicts(sections),
        "extra": extra,
    }


def _resamples(n: int) -> int:
    return 1000 if n <= LARGE_N else 200


def detector_rows(table: TrialTable, seed: int) -> dict[str, MetricRow]:
    """EER and minDCF with bootstrap CIs, actDCF, Cllr, min Cllr and ROCCH-EER as given."""
    rows = {}
    n = len(table)
    bona, spoof = table.score[table.bona], table.score[~table.bona]
    # EER and minDCF with bootstrap CIs: index vectors resampled over the arrays (the same
    # draws as core.stats' list path), both statistics from one pass per resample.
    resampler = eer_min_dcf_resampler(table.score, table.bona)
    ests = estimates_indexed(n, resampler, n_resamples=_resamples(n), seed=seed)
    by_name = dict(zip(BOOTSTRAPPED, ests, strict=True))
    for m in VOICE_METRICS:
        if m.name in by_name:
            row = MetricRow.from_estimate(m, by_name[m.name], n=n, stderr_needs_ci=True)
            rows[m.name] = replace(row, value=float(row.value))
        else:
            rows[m.name] = MetricRow.fixed(m, float(ARRAY_FN[m.name](bona, spoof)), n)
    return rows


def operating_rows(table: TrialTable, threshold: float, seed: int) -> dict[str, MetricRow]:
    """Accuracy, precision, recall, F1 at the threshold with bootstrap CIs."""
    n = len(table)
    resampler = operating_resampler(table.score, table.bona, threshold)
    ests = estimates_indexed(n, resampler, n_resamples=_resamples(n), seed=seed)
    return {
        m.name: MetricRow.from_estimate(m, est, n=n, stderr_needs_ci=True)
        for m, est in zip(OPERATING_METRICS, ests, strict=True)
    }


def tdcf_row(bona: Any, spoof: Any, opts: VoiceOptions) -> MetricRow | None:
    """min t-DCF against the run's ASV error rates (or ASVspoof 5's); None when undefined."""
    rates = opts.asv_rates
    asv = vm.AsvRates(**rates.model_dump()) if rates else vm.ASVSPOOF5_ASV
    try:
        value, _ = vm.min_tdcf(bona, spoof, asv, opts.tdcf_formulation)
    except ValueError:
        return None
    return MetricRow.fixed(TDCF_METRIC, value, len(bona) + len(spoof))


def system_report(
    task_id: str, scored: list[dict[str, Any]], failed: list[dict[str, Any]]
) -> tuple[list[Section], list[IndicatorEntry], dict[str, Any]]:
    """(sections, indicators, extra) of a system run: latency, RTF, throughput, bad files."""
    from pingce.core.measure import LatencyStats

    lat_s = [r["data"]["latency_ms"] / 1000.0 for r in scored]
    stats = LatencyStats.from_samples(lat_s)
    total_s = sum(lat_s)
    audio_s = sum(r["data"]["seconds"] for r in scored)
    rtf = total_s / audio_s if audio_s > 0 else None
    tput = len(scored) / total_s if total_s > 0 else None
    clipped = [r for r in scored if r["data"].get("clipped")]
    values = {
        "voice_latency_p50_ms": stats.p50_ms,
        "voice_latency_p95_ms": stats.p95_ms,
        "voice_rtf": rtf,
        "voice_throughput": tput,
        "voice_bad_audio": float(len(failed)),
    }
    inds = []
    for ind in SYSTEM_INDICATORS:
        n = len(scored) + len(failed) if ind.id == "voice_bad_audio" else len(scored)
        inds.append(IndicatorEntry.from_indicator(ind, values[ind.id], task_id, n=n))
    sections = [system_section(scored, stats, rtf, tput, audio_s, len(clipped), len(failed))]
    if failed or clipped:
        sections.append(bad_audio_section(failed, clipped))
    extra = {
        "latency": stats.to_dict(),
        "rtf": rtf,
        "throughput": tput,
        "failed": len(failed),
        "clipped": len(clipped),
    }
    return sections, inds, extra
