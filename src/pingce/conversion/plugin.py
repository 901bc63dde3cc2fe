"""Registration of the conversion standard (the `pingce.plugins` entry point for `conversion`).

Registration only: the standard, its namespaced task types (`conversion.checks`,
`conversion.numerics`, `conversion.shapes`, `conversion.divergence`, `conversion.performance`,
`conversion.zoo`; the old `conversion-*` names stay aliases), its metrics, the `pingce convert`
command group and the demo step. torch, onnx and onnxruntime are imported only when a run
loads, converts or checks a model.
"""

from __future__ import annotations

from typing import Any

STANDARD_ID = "conversion"
CLI_HELP = "Convert models (torch→ONNX, ONNX opsets, ORT-optimised) and verify conversions."


def _demo(ctx: Any) -> str:
    """The `pingce demo` step (pingce.conversion.demo, imported when the demo runs)."""
    from pingce.conversion.demo import run_conversion_demo

    return run_conversion_demo(ctx)


def register() -> None:
    """Entry point (via pingce.builtin) for the conversion standard."""
    from pingce.core.registry import CommandGroupRef, commands, demos, standards

    if standards.has_loaded(STANDARD_ID):
        return
    from pingce.conversion.metrics import register_metrics
    from pingce.conversion.standard import ConversionStandard
    from pingce.conversion.tasks import register_task_types

    register_metrics()
    register_task_types()
    standards.register(STANDARD_ID, ConversionStandard())
    commands.register("convert", CommandGroupRef("pingce.conversion.cli:app", CLI_HELP))
    demos.register("35-conversion", _demo)
