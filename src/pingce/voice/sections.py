"""Report sections of a voice task that are not the pooled/grouped breakdown
(`pingce.voice.breakdown`): the operating point, a system's speed and its bad files, and the
report's sample trials."""

from __future__ import annotations

from typing import Any

from pingce.core.measure import LatencyStats
from pingce.core.report.kit import LinesChart, LineSeries, Section, Table, rnd
from pingce.voice.columns import TrialTable

SAMPLES_IN_REPORT = 50


def operating_section(table: TrialTable, threshold: float, decisions: bool) -> Section:
    """The confusion counts at the operating point (positive class spoof)."""
    flagged = table.score < threshold
    spoof = ~table.bona
    tp, fp = int((flagged & spoof).sum()), int((flagged & table.bona).sum())
    fn, tn = int((~flagged & spoof).sum()), int((~flagged & table.bona).sum())
    how = (
        "hard decisions (1 bona fide, 0 spoof)"
        if decisions
        else f"threshold {threshold:g} (score < threshold: spoof)"
    )
    return Section(
        id="voice-operating-point",
        title="At the operating point: accuracy, precision, recall, F1",
        title_zh="工作点上的准确率、精确率、召回率与F1",
        text=f"{how}; positive class spoof. Bootstrap 95% CIs over trials.",
        table=Table(
            ["", "flagged spoof", "accepted as bona fide"],
            [["spoof", tp, fn], ["bona fide", fp, tn]],
        ),
    )


def system_section(
    scored: list[dict[str, Any]],
    stats: LatencyStats,
    rtf: float | None,
    tput: float | None,
    audio_s: float,
    n_clipped: int,
    n_failed: int,
) -> Section:
    """Latency, real-time factor and throughput of a system run, with the latency CDF."""
    ordered = sorted(stats.samples_ms)
    cdf_y = [(i + 1) / len(ordered) for i in range(len(ordered))]
    rows: list[list[Any]] = [
        ["latency mean (ms)", rnd(stats.mean_ms, 3)],
        ["latency p50 (ms)", rnd(stats.p50_ms, 3)],
        ["latency p95 (ms)", rnd(stats.p95_ms, 3)],
        ["latency max (ms)", rnd(stats.max_ms, 3)],
        ["real-time factor", rnd(rtf, 5)],
        ["throughput (utt/s)", rnd(tput, 3)],
        ["audio scored (s)", rnd(audio_s, 3)],
        ["clipped files (scored)", n_clipped],
        ["files not scored", n_failed],
    ]
    cdf = LinesChart(
        "Latency CDF",
        [LineSeries("latency", ordered, cdf_y)],
        x_label="latency (ms)",
        y_label="fraction of utterances",
    )
    return Section(
        id="voice-system",
        title="System performance",
        title_zh="系统性能",
        text=f"{len(scored)} utterances scored one at a time. Mean latency {stats.mean_ms:.2f} ms "
        f"(95% CI {stats.ci_low_ms:.2f}-{stats.ci_high_ms:.2f}); real-time factor = scoring "
        "time / audio duration.",
        table=Table(["indicator", "value"], rows),
        charts=[cdf],
    )


def bad_audio_section(failed: list[dict[str, Any]], clipped: list[dict[str, Any]]) -> Section:
    """Files a system could not score, and files it scored that are clipped."""
    rows = []
    for r in failed:
        d = r["data"]
        rows.append([d.get("file", r["sample_id"]), d["error"], d["message"], "not scored"])
    for r in clipped:
        file = r["data"].get("file", r["sample_id"])
        rows.append([file, "clipped", "more than 0.1% of samples at full scale", "scored"])
    return Section(
        id="voice-bad-audio",
        title="Files not scored and flagged files",
        title_zh="异常音频文件",
        table=Table(["file", "problem", "message", "outcome"], rows),
    )


def report_samples(
    task_id: str, rows: TrialTable, scored: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The first trials as report samples (with latency for a system run's trials)."""
    per_trial = {r["sample_id"]: r["data"] for r in scored if not r["data"].get("block")}
    samples = []
    for i in range(min(SAMPLES_IN_REPORT, len(rows))):
        t = rows.trial(i)
        d = per_trial.get(t.utt, {})
        samples.append(
            {
                "task": task_id,
                "sample_id": t.utt,
                "prompt": f"{t.key} attack={t.attack} condition={t.condition} language={t.language}",
                "output": f"{t.score:.6g}",
                "extracted": None,
                "reference": t.key,
                "scores": {"score": float(t.score)},
                "data": {k: v for k, v in d.items() if k in ("latency_ms", "seconds", "clipped")},
            }
        )
    return samples
