"""Compare two runs task by task on the samples they share, with paired significance.

Pairing needs the same samples on both sides, so the deltas use only the (task, sample id)
pairs present in both runs. What that leaves out is reported, never silently dropped: each
delta carries each run's own full-task value and sample count beside the paired ones, and
`TaskCoverage` lists every task of either run with its paired and unpaired sample counts
(a task present in one run only has no delta at all).
"""

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
    # each run's own value over all of its samples of the task, and those sample counts
    full_a: float | None = None
    full_b: float | None = None
    n_a: int = 0
    n_b: int = 0

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "significant": self.significant}


@dataclass(frozen=True)
class TaskCoverage:
    """How much of one task the comparison could pair."""

    task: str
    n_a: int  # samples of the task in run A (0: the task is not in A)
    n_b: int
    n_paired: int  # sample ids present in both

    @property
    def complete(self) -> bool:
        return self.n_paired == self.n_a == self.n_b

    def describe(self) -> str:
        """One line saying what the comparison left out of this task ('' when nothing)."""
        if self.complete:
            return ""
        if not self.n_b:
            return f"{self.task}: only in run A ({self.n_a} samples) — not compared"
        if not self.n_a:
            return f"{self.task}: only in run B ({self.n_b} samples) — not compared"
        if not self.n_paired:
            return (
                f"{self.task}: no sample id in common (A {self.n_a}, B {self.n_b}) — not compared"
            )
        return (
            f"{self.task}: {self.n_paired} paired samples; left out {self.n_a - self.n_paired} "
            f"of A's {self.n_a} and {self.n_b - self.n_paired} of B's {self.n_b}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "complete": self.complete}


def compare_runs(store: Store, a: RunRow, b: RunRow, seed: int = 0) -> list[MetricDelta]:
    """Per (task, metric) deltas on samples present in both runs (paired by sample id)."""
    return compare_runs_with_coverage(store, a, b, seed)[0]


def compare_runs_with_coverage(
    store: Store, a: RunRow, b: RunRow, seed: int = 0
) -> tuple[list[MetricDelta], list[TaskCoverage]]:
    """`compare_runs` plus the coverage of every task of either run (A's order, then B's)."""
    if a.standard != b.standard:
        raise PingceError(f"runs {a.id} and {b.id} belong to different standards")
    recs_a = _by_task(comparison_records(a, records_as_dicts(store.records(a.id))))
    recs_b = _by_task(comparison_records(b, records_as_dicts(store.records(b.id))))
    deltas: list[MetricDelta] = []
    coverage = [
        TaskCoverage(
            t,
            len(recs_a.get(t, {})),
            len(recs_b.get(t, {})),
            len(set(recs_a.get(t, {})) & set(recs_b.get(t, {}))),
        )
        for t in dict.fromkeys([*recs_a, *recs_b])
    ]
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
            all_a = [r["scores"][name] for r in recs_a[task].values() if name in r["scores"]]
            all_b = [r["scores"][name] for r in recs_b[task].values() if name in r["scores"]]
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
                    _value(all_a, stat),
                    _value(all_b, stat),
                    len(recs_a[task]),
                    len(recs_b[task]),
                )
            )
    return deltas, coverage


def _value(items: list[Any], stat: Any) -> float | None:
    """A run's own value of a metric over all its samples (None if they cannot be averaged)."""
    if not items:
        return None
    if stat is not None:
        try:
            return float(stat(items))
        except (TypeError, ValueError, ZeroDivisionError):
            return None
    if not all(_is_number(v) for v in items):
        return None
    return sum(items) / len(items)


def comparison_records(row: RunRow, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-sample records `pingce compare` pairs for run `row`: its stored records, or what
    its standard's optional `comparison_records(records)` expands them to (a standard that
    stores samples in blocks gives one record per sample: task, sample_id, scores)."""
    from pingce.core.registry import standards

    standard = standards.get(row.standard) if standards.has(row.standard) else None
    expand = getattr(standard, "comparison_records", None)
    return list(expand(records)) if expand is not None else records


def _by_task(records: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in records:
        out[r["task"]][r["sample_id"]] = r
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, bool | int | float)
