"""Registration of the steel standard (the `pingce.plugins` hook, called by `pingce.builtin`).

Registers the standard, its task types (`steel.endpoint`, `steel.importance`,
`steel.quality.*`), its metrics, the `pingce steel` command group and demo step 80-steel.
pandas and scikit-learn are required (the `steel` extra); ONNX Runtime, httpx, LightGBM and
XGBoost load only when a model of that kind is opened.
"""

from __future__ import annotations

from dataclasses import dataclass

STANDARD_ID = "steel"


@dataclass(frozen=True)
class SteelTaskType:
    """A steel task type: its name and the subject it needs."""

    name: str
    subject: str  # "model" or "heats"


def register() -> None:
    """Register the steel standard and everything it brings (idempotent)."""
    import pandas  # noqa: F401  (required: a missing one lists steel as unavailable)
    import sklearn  # noqa: F401

    from pingce.core.registry import commands, demos, metrics, standards, task_types

    if standards.has_loaded(STANDARD_ID):
        return
    from pingce.steel.cli import app
    from pingce.steel.demo import run_steel_demo
    from pingce.steel.metrics import CATALOGUE
    from pingce.steel.standard import SteelStandard
    from pingce.steel.standard import task_types as steel_task_types

    for name, mdef in CATALOGUE.items():
        if not metrics.has_loaded(name):
            metrics.register(name, mdef)
    for name in steel_task_types():
        if not task_types.has_loaded(name):
            kind = "heats" if name.startswith("steel.quality.") else "model"
            task_types.register(name, SteelTaskType(name, kind))
    standards.register(STANDARD_ID, SteelStandard())
    commands.register("steel", app)
    demos.register("80-steel", run_steel_demo)
