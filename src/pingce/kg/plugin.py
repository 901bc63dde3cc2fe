"""Registration of the kg standard (the `pingce.plugins` hook, called by `pingce.builtin`).

Registers the standard, its task types (`kg.extraction`, `kg.build`, `kg.quality.*`), its
metrics, the `pingce kg` command group and demo step 70-kg. rdflib, pyshacl and the
backends load only when a run or command needs them.
"""

from __future__ import annotations

from typing import Any

STANDARD_ID = "kg"


def _kg_demo(ctx: Any) -> str:
    from pingce.kg.demo import run_kg_demo

    return run_kg_demo(ctx)


def register() -> None:
    """Register the kg standard and everything it brings (idempotent)."""
    from pingce.core.registry import CommandGroupRef, commands, demos, metrics, standards

    if standards.has_loaded(STANDARD_ID):
        return
    from pingce.kg.metrics import CATALOGUE
    from pingce.kg.standard import KGStandard
    from pingce.kg.task_types import register_task_types

    for name, mdef in CATALOGUE.items():
        if not metrics.has_loaded(name):
            metrics.register(name, mdef)
    register_task_types()
    standards.register(STANDARD_ID, KGStandard())
    commands.register(
        "kg",
        CommandGroupRef(
            "pingce.kg.cli:app",
            "Knowledge-graph construction quality (steel-production reference ontology and "
            "gold set).",
        ),
    )
    demos.register("70-kg", _kg_demo)
