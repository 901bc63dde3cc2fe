"""Registration of the data-quality standard (the `pingce.plugins` entry point for `data`).

Registration only: the standard, its task type `data.profile`, its measures as metrics, the
`pingce data` command group and the demo step.
"""

from __future__ import annotations

from typing import Any

STANDARD_ID = "data-quality"
TASK_TYPE = "data.profile"

CLI_HELP = "Training-data processing pipelines and the data-quality model."


def _demo(ctx: Any) -> str:
    """The `pingce demo` step (pingce.data.demo, imported when the demo runs)."""
    from pingce.data.demo import run_data_demo

    return run_data_demo(ctx)


def register() -> None:
    """Entry point: the data-quality standard, its measures, the `pingce data` commands, the demo."""
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
    from pingce.data.metrics import METRIC_DEFS
    from pingce.data.standard import DataQualityStandard, ProfileTaskType

    standards.register(STANDARD_ID, DataQualityStandard())
    task_types.register(TASK_TYPE, ProfileTaskType)
    for name, mdef in METRIC_DEFS.items():
        if not metrics.has_loaded(name):
            metrics.register(name, mdef)
    commands.register("data", CommandGroupRef("pingce.data.cli:app", CLI_HELP))
    demos.register("40-data", _demo)
