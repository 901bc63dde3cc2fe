"""Registration of the vision standard (called by `pingce.builtin`): the standard, its task
types, its metrics, the `pingce vision` command group and the demo step. Only light modules are
imported here (`pingce --help` loads every plugin): the CLI group and the demo are imported
when used, numpy/torch/onnxruntime/PIL when a task runs."""

from __future__ import annotations

from typing import Any

from pingce.core.registry import CommandGroupRef, commands, demos, metrics, standards, task_types

CLI_HELP = "Vision models and platforms: model quality, industrial defects, continual learning, frame streams."


def run_demo(ctx: Any) -> str:
    from pingce.vision.demo import run_vision_demo

    return run_vision_demo(ctx)


def register() -> None:
    from pingce.vision.standard import STANDARD_ID, VisionStandard

    if standards.has_loaded(STANDARD_ID):
        return
    from pingce.vision.catalogue import METRICS
    from pingce.vision.tasks import PARAMS

    standards.register(STANDARD_ID, VisionStandard())
    for name, params in PARAMS.items():
        if not task_types.has_loaded(name):
            task_types.register(name, params)
    for m in METRICS:
        if not metrics.has_loaded(m.name):
            metrics.register(m.name, m)
    commands.register("vision", CommandGroupRef("pingce.vision.cli:app", CLI_HELP))
    demos.register("75-vision", run_demo)
