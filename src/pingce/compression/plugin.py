"""Registration of the compression standard (the `pingce.plugins` entry point for `compression`).

Registration only: the standard, its namespaced task types (`compression.size`,
`compression.accuracy`, `compression.latency`; the old `compression-*` names stay aliases), its
metrics, the `pingce compress` command group and the demo step. torch and onnx are imported only
when a run loads a model.
"""

from __future__ import annotations

from typing import Any

STANDARD_ID = "compression"
CLI_HELP = "Test compressed models against their baseline; build compressed variants."


def _demo(ctx: Any) -> str:
    """The `pingce demo` step (pingce.compression.demo, imported when the demo runs)."""
    from pingce.compression.demo import run_compression_demo

    return run_compression_demo(ctx)


def register() -> None:
    """Entry point (via pingce.builtin) for the compression standard."""
    from pingce.core.registry import CommandGroupRef, commands, demos, standards

    if standards.has_loaded(STANDARD_ID):
        return
    from pingce.compression.metrics import register_metrics
    from pingce.compression.standard import CompressionStandard
    from pingce.compression.tasks import register_task_types

    register_metrics()
    register_task_types()
    standards.register(STANDARD_ID, CompressionStandard())
    commands.register("compress", CommandGroupRef("pingce.compression.cli:app", CLI_HELP))
    demos.register("30-compression", _demo)
