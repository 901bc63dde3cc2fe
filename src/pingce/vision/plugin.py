"""Registration of the vision standard (called by `pingce.builtin`): the standard, its task
types, its metrics, the `pingce vision` command group and the demo step. Heavy modules
(onnxruntime, torch, PIL) are imported only when a task runs."""

from __future__ import annotations

from pingce.core.registry import commands, demos, metrics, standards, task_types


def register() -> None:
    from pingce.vision.standard import STANDARD_ID, VisionStandard

    if standards.has_loaded(STANDARD_ID):
        return
    from pingce.vision.catalogue import METRICS
    from pingce.vision.cli import app
    from pingce.vision.demo import run_vision_demo
    from pingce.vision.tasks import PARAMS

    standards.register(STANDARD_ID, VisionStandard())
    for name, params in PARAMS.items():
        if not task_types.has_loaded(name):
            task_types.register(name, params)
    for m in METRICS:
        if not metrics.has_loaded(m.name):
            metrics.register(m.name, m)
    commands.register("vision", app)
    demos.register("75-vision", run_vision_demo)
