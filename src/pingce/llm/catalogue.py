"""Registers the benchmark catalogue and the beyond-accuracy task types with the llm standard.

Called from `pingce.llm.plugin.register()`. Importing the task modules registers their task
types; metrics, filters, dataset loaders and the `pingce bench` commands are added here.
"""

from __future__ import annotations


def register() -> None:
    from pingce.core.registry import commands
    from pingce.llm.benchmarks import tasks as benchmark_tasks
    from pingce.llm.benchmarks.source import register_loaders
    from pingce.llm.catalogue_metrics import register_catalogue_metrics
    from pingce.llm.code_filters import register_code_filters

    register_catalogue_metrics()
    register_code_filters()
    register_loaders()
    from pingce.llm.tasks import (  # noqa: F401  (registers the task types)
        code_generation,
        contamination,
        math_generative,
        mc2,
        refusal,
        robustness,
    )

    benchmark_tasks.check_registered()
    if not commands.has_loaded("bench"):
        from pingce.llm.bench_cli import app

        commands.register("bench", app)
