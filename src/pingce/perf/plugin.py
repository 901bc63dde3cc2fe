"""Registration of the server-perf standard (the `pingce.plugins` entry point for `perf`).

Registration only: the standard, its namespaced task types (`perf.accuracy`, `perf.scenario`,
`perf.server-search`, `perf.serve`, `perf.train`), its metrics, the `pingce perf` command group
and the demo step. A task type's module (numpy, torch, httpx...) is imported only when a suite
uses it.
"""

from __future__ import annotations

import importlib
from typing import Any

from pingce.perf.names import STANDARD_ID, TASK_PREFIX

# task type name (after the prefix) -> (module, class); each class takes (TaskSpec, source).
TASK_TYPES: dict[str, tuple[str, str]] = {
    "accuracy": ("pingce.perf.tasks", "AccuracyTask"),
    "scenario": ("pingce.perf.tasks", "ScenarioTask"),
    "server-search": ("pingce.perf.tasks", "ServerSearchTask"),
    "serve": ("pingce.perf.serve.task", "ServeTask"),
    "train": ("pingce.perf.train.task", "TrainTask"),
}


class LazyTaskType:
    """A registered task type whose class is imported on first use."""

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    def load(self) -> type:
        cls: type = getattr(importlib.import_module(self.module), self.name)
        return cls

    def __call__(self, spec: Any, source: str) -> Any:
        return self.load()(spec, source)


CLI_HELP = "AI server system performance (GB/T 45087-2024): inference, LLM serving, training."


def _demo(ctx: Any) -> str:
    """The `pingce demo` step (pingce.perf.demo, imported when the demo runs)."""
    from pingce.perf.demo import run_perf_demo

    return run_perf_demo(ctx)


def register() -> None:
    """Entry point of the `pingce.plugins` group for the server-perf standard."""
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
    from pingce.perf.metrics import ALL_METRICS
    from pingce.perf.standard import PerfStandard

    standards.register(STANDARD_ID, PerfStandard())
    for name, (module, cls) in TASK_TYPES.items():
        task_types.register(TASK_PREFIX + name, LazyTaskType(module, cls))
    for m in ALL_METRICS:
        if not metrics.has_loaded(m.name):
            metrics.register(m.name, m)
    commands.register("perf", CommandGroupRef("pingce.perf.cli:app", CLI_HELP))
    demos.register("20-perf", _demo)
