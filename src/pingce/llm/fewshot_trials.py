"""Prompt variance: rerun a task with resampled few-shot sets and report the spread.

With `fewshot_trials: N` (task field, or the run option of the same name), each sample is
asked N times, trial t drawing its few-shot examples with seed `trial_seed(seed, t)`; trial 0
uses the run's own seed, so it asks exactly what a run without trials asks. The record's
scores are the mean over trials (so the task score and its CI stay per sample); the per-trial
scores are kept in `data["trials"]`, and `trial_spread` turns them into the spread of the
task score across few-shot sets.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from pingce.core.execute import Outcome
from pingce.llm.variants import summed_usage

TRIAL_SEED_STRIDE = 100_003  # a prime, so trial seeds of nearby run seeds do not collide


def trial_seed(seed: int, trial: int) -> int:
    return seed if trial == 0 else seed + TRIAL_SEED_STRIDE * trial


def merge_trials(named: Sequence[tuple[str, Outcome]]) -> Outcome:
    """One outcome for a sample from its trials: mean scores, trial 0's data, summed usage."""
    outs = [o for _, o in named]
    scores: dict[str, Any] = {}
    for name, first in outs[0].scores.items():
        values = [o.scores[name] for o in outs]
        if isinstance(first, int | float) and not isinstance(first, bool):
            scores[name] = sum(float(v) for v in values) / len(values)
        else:  # corpus statistics cannot be averaged per sample; keep trial 0's
            scores[name] = first
    data = dict(outs[0].data)
    data["trials"] = [o.scores for o in outs]
    data["usage"] = summed_usage(outs)
    return Outcome(scores=scores, data=data)


def trial_spread(records: Sequence[dict[str, Any]], metric: str) -> dict[str, Any] | None:
    """Per-trial task score (mean over samples) and its spread, from stored records."""
    per_trial: list[list[float]] = []
    for rec in records:
        trials = rec["data"].get("trials")
        if not trials:
            return None
        for t, scores in enumerate(trials):
            value = scores.get(metric)
            if not isinstance(value, int | float):
                return None
            while len(per_trial) <= t:
                per_trial.append([])
            per_trial[t].append(float(value))
    if not per_trial:
        return None
    means = [sum(v) / len(v) for v in per_trial]
    return {
        "metric": metric,
        "trials": len(means),
        "per_trial": means,
        "mean": statistics.fmean(means),
        "std": statistics.stdev(means) if len(means) > 1 else 0.0,
        "min": min(means),
        "max": max(means),
        "range": max(means) - min(means),
    }
