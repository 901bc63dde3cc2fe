"""Report sections of a voice task that are not the pooled/grouped breakdown
(`pingce.voice.breakdown`): the operating point, a system's speed and its bad files, and the
report's sample trials."""

from __future__ import annotations

from typing import Any

from pingce.voice.columns import TrialTable

SAMPLES_IN_REPORT = 50


def operating_section(table: TrialTable, threshold: float, decisions: bool) -> dict[str, Any]:
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
    return {
        "id": "voice-operating-point",
        "title": "At the operating point: accuracy, precision, recall, F1",
        "title_zh": "工作点上的准确率、精确率、召回率与F1",
        "text": f"{how}; positive class spoof. Bootstrap 95% CIs over trials.",
        "table": {
            "columns": ["", "flagged spoof", "accepted as bona fide"],
            "rows": [["spoof", tp, fn], ["bona fide", fp, tn]],
        },
    }


def system_section(
    scored: list[dict[str, Any]],
    stats: Any,
    rtf: float | None,
    tput: float | None,
    audio_s: float,
    n_clipped: int,
    n_failed: int,
) -> dict[str, Any]:
    """Latency, real-time factor and throughput of a system run, with the latency CDF."""
    ordered = sorted(stats.samples_ms)
    cdf_y = [(i + 1) / len(ordered) for i in range(len(ordered))]
    return {
        "id": "voice-system",
        "title": "System performance",
        "title_zh": "系统性能",
        "text": f"{len(scored)} utterances scored one at a time. Mean latency {stats.mean_ms:.2f} ms "
        f"(95% CI {stats.ci_low_ms:.2f}-{stats.ci_high_ms:.2f}); real-time factor = scoring time / audio duration.",
        "table": {
            "columns": ["indicator", "value"],
            "rows": [
                ["latency mean (ms)", round(stats.mean_ms, 3)],
                ["latency p50 (ms)", round(stats.p50_ms, 3)],
                ["latency p95 (ms)", round(stats.p95_ms, 3)],
                ["latency max (ms)", round(stats.max_ms, 3)],
                ["real-time factor", None if rtf is None else round(rtf, 5)],
                ["throughput (utt/s)", None if tput is None else round(tput, 3)],
                ["audio scored (s)", round(audio_s, 3)],
                ["clipped files (scored)", n_clipped],
                ["files not scored", n_failed],
            ],
        },
        "charts": [
            {
                "kind": "lines",
                "title": "Latency CDF",
                "x_label": "latency (ms)",
                "y_label": "fraction of utterances",
                "series": [{"name": "latency", "x": ordered, "y": cdf_y}],
            }
        ],
    }


def bad_audio_section(
    failed: list[dict[str, Any]], clipped: list[dict[str, Any]]
) -> dict[str, Any]:
    """Files a system could not score, and files it scored that are clipped."""
    rows = [
        [
            r["data"].get("file", r["sample_id"]),
            r["data"]["error"],
            r["data"]["message"],
            "not scored",
        ]
        for r in failed
    ]
    rows += [
        [
            r["data"].get("file", r["sample_id"]),
            "clipped",
            "more than 0.1% of samples at full scale",
            "scored",
        ]
        for r in clipped
    ]
    return {
        "id": "voice-bad-audio",
        "title": "Files not scored and flagged files",
        "title_zh": "异常音频文件",
        "table": {"columns": ["file", "problem", "message", "outcome"], "rows": rows},
    }


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
