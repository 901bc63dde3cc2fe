"""Registration of the data-quality standard (the `pingce.plugins` entry point for `data`).

Registration only: the standard, its task type `data.profile`, its measures as metrics, the
`pingce data` command group and the demo step.
"""

from __future__ import annotations

STANDARD_ID = "data-quality"
TASK_TYPE = "data.profile"


def register() -> None:
    """Entry point: the data-quality standard, its measures, the `pingce data` commands, the demo."""
    from pingce.core.registry import commands, demos, metrics, standards, task_types

    if standards.has_loaded(STANDARD_ID):
        return
    from pingce.data.cli import app
    from pingce.data.demo import run_data_demo
    from pingce.data.metrics import METRIC_DEFS
    from pingce.data.standard import DataQualityStandard, ProfileTaskType

    standards.register(STANDARD_ID, DataQualityStandard())
    task_types.register(TASK_TYPE, ProfileTaskType)
    for name, mdef in METRIC_DEFS.items():
        if not metrics.has_loaded(name):
            metrics.register(name, mdef)
    commands.register("data", app)
    demos.register("40-data", run_data_demo)
