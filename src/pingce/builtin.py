"""Registers pingce's own standards (the `pingce.plugins` entry point named `pingce`).

Each standard lives in its own package with a `register()` function in `standard.py`. A
standard whose optional dependencies are not installed is skipped here, so a minimal
install still works; it appears in `pingce list standards` once its extra is installed.
"""

from __future__ import annotations

import importlib
import os

# Order matters only for listings and the demo: llm first.
BUILTIN_STANDARDS = (
    "pingce.llm.standard",
    "pingce.perf.standard",
    "pingce.compression.standard",
    "pingce.conversion.standard",
    "pingce.data.standard",
    "pingce.voice.standard",
    "pingce.labeling.standard",
    "pingce.kg.standard",
    # Not a standard: `pingce serve`, the results dashboard.
    "pingce.web.cli",
)


def register() -> None:
    # PINGCE_DISABLE_STANDARDS=voice,kg leaves those standards out (e.g. while one is broken).
    disabled = {s.strip() for s in os.environ.get("PINGCE_DISABLE_STANDARDS", "").split(",")}
    for name in BUILTIN_STANDARDS:
        if name.split(".")[1] in disabled:
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # The standard is absent, or one of its optional dependencies is; skip it.
            if exc.name and (name.startswith(exc.name) or not exc.name.startswith("pingce")):
                continue
            raise
        module.register()
