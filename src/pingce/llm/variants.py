"""Several versions of one sample in one record: few-shot trials, robustness perturbations.

A unit whose payload is `{"variants": [{"name": ..., "payload": ...}, ...]}` stands for one
sample asked several ways. The task's own `process` answers every version (one flat batch, so
the backend batches across them); the versions' outcomes come back grouped by sample. Keeping
them in one record keeps the sample the unit of the confidence interval.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pingce.core.execute import Outcome, WorkUnit


def is_variant_unit(unit: WorkUnit) -> bool:
    return isinstance(unit.payload, dict) and "variants" in unit.payload


def variants_payload(named: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    return {"variants": [{"name": n, "payload": p} for n, p in named]}


def process_variants(
    process: Callable[[list[WorkUnit]], list[Outcome]], units: Sequence[WorkUnit]
) -> list[list[tuple[str, Outcome]]]:
    """For each unit, (variant name, outcome) per variant, in payload order."""
    flat: list[WorkUnit] = []
    names: list[list[str]] = []
    for u in units:
        names.append([v["name"] for v in u.payload["variants"]])
        flat.extend(
            WorkUnit(
                key=f"{u.key}/{v['name']}",
                sample_id=u.sample_id,
                position=u.position,
                payload=v["payload"],
            )
            for v in u.payload["variants"]
        )
    outs = process(flat) if flat else []
    grouped = []
    at = 0
    for ns in names:
        grouped.append(list(zip(ns, outs[at : at + len(ns)], strict=True)))
        at += len(ns)
    return grouped


def summed_usage(outcomes: Sequence[Outcome]) -> dict[str, float]:
    total: dict[str, float] = {}
    for out in outcomes:
        for k, v in out.data.get("usage", {}).items():
            total[k] = total.get(k, 0) + v
    return total
