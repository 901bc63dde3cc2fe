"""Compare two runs task by task on the samples they share, with paired significance."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pingce.core.errors import PingceError, StoreError
from pingce.core.registry import metrics
from pingce.core.stats import paired_test
from pingce.core.store import RunRow, Store, records_as_dicts


@dataclass(frozen=True)
class MetricDelta:
    task: str
    metric: str
    value_a: float
    value_b: float
    delta: float  # b - a
    ci_low: float | None
    ci_high: float | None
    p_value: float
    n: int  # paired samples
    method: str
    direction: str

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "significant": self.significant}


def compare_runs(store: Store, a: RunRow, b: RunRow, seed: int = 0) -> list[MetricDelta]:
    """Per (task, metric) deltas on samples present in both runs (paired by sample id)."""
    if a.standard != b.standard:
        raise PingceError(f"runs {a.id} and {b.id} belong to different standards")
    recs_a = _by_task(records_as_dicts(store.records(a.id)))
    recs_b = _by_task(records_as_dicts(store.records(b.id)))
    deltas: list[MetricDelta] = []
    for task in [t for t in recs_a if t in recs_b]:
        shared = sorted(set(recs_a[task]) & set(recs_b[task]))
        if not shared:
            continue
        names = [
            m for m in recs_a[task][shared[0]]["scores"] if m in recs_b[task][shared[0]]["scores"]
        ]
        for name in names:
            mdef = metrics.get(name)
            xs = [recs_a[task][s]["scores"][name] for s in shared]
            ys = [recs_b[task][s]["scores"][name] for s in shared]
            stat = mdef.statistic
            if stat is None and not all(_is_number(v) for v in (*xs, *ys)):
                # Without a statistic the scores are averaged: each must be a number.
                raise StoreError(
                    f"runs {a.id} and {b.id}: task {task!r} metric {name!r} has non-numeric "
                    "per-sample scores; they cannot be compared"
                )
            # Stored scores are untrusted: McNemar only when they really are 0/1.
            binary = bool(mdef.binary) and all(v in (0, 1) for v in (*xs, *ys))
            result = paired_test(xs, ys, binary=binary, statistic=stat, seed=seed)
            va = stat(xs) if stat else sum(xs) / len(xs)
            vb = stat(ys) if stat else sum(ys) / len(ys)
            deltas.append(
                MetricDelta(
                    task,
                    name,
                    va,
                    vb,
                    result.delta,
                    result.ci_low,
                    result.ci_high,
                    result.p_value,
                    result.n,
                    result.method,
                    mdef.direction,
                )
            )
    return deltas


def _by_task(records: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in records:
        out[r["task"]][r["sample_id"]] = r
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, bool | int | float)
