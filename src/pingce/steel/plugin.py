"""Registration of the steel standard (the `pingce.plugins` hook, called by `pingce.builtin`).

Registers the standard, its task types (`steel.endpoint`, `steel.importance`,
`steel.quality.*`), its metrics, the `pingce steel` command group and demo step 80-steel.
Nothing heavy is imported here: pandas and scikit-learn (the `steel` extra, which
`pingce.builtin` checks without importing) load when a run, command or demo needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STANDARD_ID = "steel"


@dataclass(frozen=True)
class SteelTaskType:
    """A steel task type: its name and the subject it needs."""

    name: str
    subject: str  # "model" or "heats"


def run_steel_demo(ctx: Any) -> str:
    """Demo step 80-steel (see `pingce.steel.demo`)."""
    from pingce.steel.demo import run_steel_demo as run

    return run(ctx)


def register() -> None:
    """Register the steel standard and everything it brings (idempotent)."""
    from pingce.core.registry import (
        CommandGroupRef,
        commands,
        demos,
        metrics,
        standards,
        task_types,
    )

    if standards.has_loaded(STANDARD_ID):
        return
    from pingce.steel.metrics import CATALOGUE
    from pingce.steel.standard import SteelStandard
    from pingce.steel.task_types import steel_task_types

    for name, mdef in CATALOGUE.items():
        if not metrics.has_loaded(name):
            metrics.register(name, mdef)
    for name in steel_task_types():
        if not task_types.has_loaded(name):
            kind = "heats" if name.startswith("steel.quality.") else "model"
            task_types.register(name, SteelTaskType(name, kind))
    standards.register(STANDARD_ID, SteelStandard())
    help_text = "Steel smelting decision models: BOF end-point evaluation and process-data quality."
    commands.register("steel", CommandGroupRef("pingce.steel.cli:app", help_text))
    demos.register("80-steel", run_steel_demo)
