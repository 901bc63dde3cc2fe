"""Registers pingce's own standards (the `pingce.plugins` entry point named `pingce`).

Each standard lives in its own package `pingce.<package>` with a `register()` function in
`plugin.py` (registration only). A standard whose optional dependency is not installed is
registered as *unavailable* (`pingce.core.registry.unavailable`): `pingce list standards`
shows it with the install hint, and `pingce run` on one of its suites says so in one line.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Builtin:
    package: str  # pingce.<package>
    standard: str  # the standard's id
    extra: str  # the pip extra that installs its dependencies
    # Modules the standard cannot work without; checked without importing them (find_spec),
    # so a standard that imports them lazily is still listed as unavailable when one is missing.
    requires: tuple[str, ...] = ()


# Order matters only for listings and the demo: llm first.
BUILTIN_STANDARDS = (
    Builtin("llm", "llm", "llm"),
    Builtin("perf", "server-perf", "perf"),
    Builtin("compression", "compression", "compression", ("torch", "onnx")),
    Builtin("conversion", "conversion", "compression", ("torch", "onnx", "onnxruntime")),
    Builtin("data", "data-quality", "data"),
    Builtin("voice", "voice", "voice", ("soundfile", "sklearn")),
    Builtin("labeling", "labeling", "vision", ("pycocotools", "PIL")),
    Builtin("kg", "kg", "kg", ("rdflib", "pyshacl", "owlrl")),
    Builtin("steel", "steel", "steel", ("sklearn", "pandas")),
    Builtin("vision", "vision", "vision"),
)
# Not standards: command groups with a `register()` of their own (`pingce serve`, the results
# dashboard; `pingce safety`), skipped when a third-party dependency of theirs is missing.
EXTRAS = ("pingce.web.cli", "pingce.safety.cli")


def plugin_module(package: str) -> str:
    """`pingce.<package>.plugin`, or `pingce.<package>.standard` for a package without one."""
    from importlib.util import find_spec

    name = f"pingce.{package}.plugin"
    try:
        found = find_spec(name)
    except ModuleNotFoundError:  # the package itself is absent
        found = None
    return name if found is not None else f"pingce.{package}.standard"


def first_missing(modules: tuple[str, ...]) -> str | None:
    """The first of `modules` that cannot be found, without importing any of them."""
    from importlib.util import find_spec

    for name in modules:
        try:
            if find_spec(name) is None:
                return name
        except (ImportError, ValueError):  # a finder refused it, or a broken install
            return name
    return None


def _missing_dependency(exc: ModuleNotFoundError) -> str | None:
    """The third-party module `exc` is about, or None when it is pingce's own (a bug)."""
    name = exc.name or ""
    return None if not name or name == "pingce" or name.startswith("pingce.") else name


def register() -> None:
    # PINGCE_DISABLE_STANDARDS=voice,kg leaves those standards out (e.g. while one is broken).
    disabled = {s.strip() for s in os.environ.get("PINGCE_DISABLE_STANDARDS", "").split(",")}
    from pingce.backends import register as register_backends
    from pingce.core.registry import Unavailable, unavailable

    # hf: and openai:// subjects, shared by llm and kg (idempotent, imports nothing heavy).
    register_backends()
    for std in BUILTIN_STANDARDS:
        if std.package in disabled or std.standard in disabled:
            continue
        module_name = plugin_module(std.package)
        missing = first_missing(std.requires)
        if missing is None:
            try:
                importlib.import_module(module_name).register()
                continue
            except ModuleNotFoundError as exc:
                missing = _missing_dependency(exc)
                if missing is None:
                    if exc.name in (f"pingce.{std.package}", module_name):
                        continue  # the package is not part of this install
                    raise
        if not unavailable.has_loaded(std.standard):
            hint = f"pip install 'pingce[{std.extra}]'"
            unavailable.register(std.standard, Unavailable(std.standard, missing, hint))
    for extra in EXTRAS:
        if extra.split(".")[1] in disabled:
            continue
        try:
            importlib.import_module(extra).register()
        except ModuleNotFoundError as exc:
            if _missing_dependency(exc) is None and exc.name != extra:
                raise
