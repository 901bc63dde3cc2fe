"""Registration of the voice standard (the `pingce.plugins` entry point calls `register`).

Registration only: the standard object, its namespaced task types (and their older names),
its metrics, the `pingce voice` command group and its `pingce demo` step. Task handlers, the
CLI and the demo are imported when first used.
"""

from __future__ import annotations

from typing import Any

from pingce.core.registry import CommandGroupRef, commands, demos, standards, task_types
from pingce.voice.catalogue import register_metrics
from pingce.voice.task_types import ADD_TYPES, ALIASES, TYPES

CLI_HELP = (
    "Deepfake-voice detectors: evaluate scores or a system, build a test set, train the baseline."
)


def _task(spec: Any, suite: Any) -> Any:
    from pingce.voice.tasks import VoiceTask

    return VoiceTask(spec, suite)


def _add_task(spec: Any, suite: Any) -> Any:
    from pingce.voice.add_task import AddTask

    return AddTask(spec, suite)


def _voice_demo(ctx: Any) -> str:
    from pingce.voice.demo import run_voice_demo

    return run_voice_demo(ctx)


def register() -> None:
    """Register everything the voice standard adds (idempotent)."""
    register_metrics()
    if standards.has_loaded("voice"):
        return
    from pingce.voice.standard import VoiceStandard

    standards.register("voice", VoiceStandard())
    for name in TYPES:
        task_types.register(name, _add_task if name in ADD_TYPES else _task)
    for old, new in ALIASES.items():
        task_types.alias(old, new)
    commands.register("voice", CommandGroupRef("pingce.voice.cli:app", CLI_HELP))
    demos.register("50-voice", _voice_demo)
