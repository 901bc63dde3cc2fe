"""Registration of the labeling standard (the `pingce.plugins` entry point calls `register`).

Registration only: the standard object, its namespaced task types (`labeling.<type>`, the
older `label.<type>` names as aliases), its metrics, the `pingce label` command group and its
`pingce demo` step. Heavy modules (OpenCV, ONNX Runtime, pycocotools) load when first used.
"""

from __future__ import annotations

from typing import Any

from pingce.core.registry import (
    CommandGroupRef,
    commands,
    demos,
    metrics,
    standards,
    task_types,
)
from pingce.labeling.task_types import ALIASES, TASK_TYPES

STANDARD_ID = "labeling"
CLI_HELP = "Visual data auto-labeling: quality, correction effort, speed."


def _labeling_demo(ctx: Any) -> str:
    from pingce.labeling.demo import run_labeling_demo

    return run_labeling_demo(ctx)


def register() -> None:
    """Register everything the labeling standard adds (idempotent)."""
    if standards.has_loaded(STANDARD_ID):
        return
    from pingce.labeling.catalogue import METRICS
    from pingce.labeling.standard import LabelingStandard

    standards.register(STANDARD_ID, LabelingStandard())
    for t in TASK_TYPES:
        task_types.register(t.name, t)
    for old, new in ALIASES.items():
        task_types.alias(old, new)
    for m in METRICS:
        if not metrics.has_loaded(m.name):
            metrics.register(m.name, m)
    commands.register("label", CommandGroupRef("pingce.labeling.cli:app", CLI_HELP))
    demos.register("60-labeling", _labeling_demo)
