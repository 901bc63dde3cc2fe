"""What `pingce compare` pairs for a voice run: one record per trial.

A score file's trials are stored in blocks (one record per 50k trials, no per-record scores),
so the stored records cannot be paired trial by trial. `per_trial_records` expands them: each
trial becomes a record whose sample id is its utterance and whose scores are the
[score, is_bona_fide] pair every detector metric's registered statistic reads. Paired deltas
of EER, minDCF, actDCF, Cllr, min Cllr and ROCCH-EER then come from core's paired bootstrap
over the utterances both runs scored (`pingce.core.compare`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pingce.core.store import records_by_task
from pingce.voice.indicators import VOICE_METRICS
from pingce.voice.summary import trial_table


def per_trial_records(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-trial records of every detector task; ADD task records as stored. Files a system
    could not score have no score and are left out (coverage shows them as unpaired)."""
    out: list[dict[str, Any]] = []
    for task, recs in records_by_task(records).items():
        detector = [r for r in recs if "block" in r["data"] or "score" in r["data"]]
        if not detector:
            out.extend(recs)
            continue
        table = trial_table(detector)
        for i in range(len(table)):
            t = table.trial(i)
            pair = [float(t.score), 1.0 if t.is_bonafide else 0.0]
            out.append(
                {
                    "task": task,
                    "sample_id": t.utt,
                    "position": i,
                    "scores": {m.name: pair for m in VOICE_METRICS},
                    "data": {},
                }
            )
    return out
