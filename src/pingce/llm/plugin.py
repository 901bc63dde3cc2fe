"""Registration of the llm standard (the `pingce.plugins` hook, called by `pingce.builtin`).

Registration only, and cheap: the standard object, its `llm.*` task types (imported on first
use, see `pingce.llm.task_types`), metrics, answer filters, dataset loaders, the `pingce bench`
command group (imported when run) and the two demo steps (imported when run). torch,
transformers, numpy, SQLAlchemy and the HTTP stack load only in a command that needs them.
"""

from __future__ import annotations

from typing import Any


def _llm_demo(ctx: Any) -> str:
    from pingce.llm.demo import run_llm_demo

    return run_llm_demo(ctx)


def _served_demo(ctx: Any) -> str | None:
    from pingce.llm.demo import run_served_demo

    return run_served_demo(ctx)


def register() -> None:
    """Register the llm standard and everything it brings (idempotent)."""
    from pingce.core.registry import CommandGroupRef, commands, demos, standards
    from pingce.llm import catalogue_metrics, code_filters, filters, judge, metrics  # noqa: F401
    from pingce.llm.benchmarks.source import register_loaders
    from pingce.llm.task_types import register_task_types

    # Importing metrics, filters and datasets registers the core metrics, filters and loaders.
    from pingce.llm import datasets  # noqa: F401  (isort: skip)

    register_task_types()
    catalogue_metrics.register_catalogue_metrics()
    judge.register_metrics()
    code_filters.register_code_filters()
    register_loaders()
    if not standards.has_loaded("llm"):
        from pingce.llm.standard import LLMStandard

        standards.register("llm", LLMStandard())
        demos.register("10-llm", _llm_demo)
        demos.register("12-llm-served", _served_demo)
    if not commands.has_loaded("bench"):
        commands.register(
            "bench",
            CommandGroupRef(
                "pingce.llm.bench_cli:app", "Built-in benchmark helpers (submission files)."
            ),
        )
    if not commands.has_loaded("import"):  # lm-eval task YAMLs as pingce suites (loaded when used)
        commands.register(
            "import",
            CommandGroupRef("pingce.llm.lmeval_import.cli:app", "Import other tools' tasks."),
        )
