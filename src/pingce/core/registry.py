"""One place where named things register: standards, backends, task types, metrics, filters,
dataset loaders.

Each kind of thing has its own `Registry`. A module registers an object once, under a stable
name, with the `register` decorator or call; everything else (CLI listings, suite validation,
reports) looks it up here. Third-party packages add their own through the entry-point group
``pingce.plugins``: each entry point names a callable that is called once with no arguments
and registers whatever it wants.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from pingce.core.errors import SpecError

T = TypeVar("T")

PLUGIN_GROUP = "pingce.plugins"


class Registry(Generic[T]):
    """A name -> object table for one kind of thing (e.g. "metric")."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}  # old name -> registered name (hidden from listings)

    def register(self, name: str, obj: T | None = None) -> Any:
        """Register `obj` under `name`; used bare as a decorator when `obj` is omitted."""
        if obj is None:

            def decorator(target: T) -> T:
                self._add(name, target)
                return target

            return decorator
        self._add(name, obj)
        return obj

    def _add(self, name: str, obj: T) -> None:
        existing = self._items.get(name)
        if existing is not None and existing is not obj:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = obj

    def alias(self, old: str, name: str) -> None:
        """Let `old` (e.g. a name from before namespacing) resolve to the registered `name`;
        `get`, `in` and `has` accept it, `names()`/`items()`/`values()` do not list it."""
        target = self._aliases.get(old)
        if target is not None and target != name:
            raise ValueError(f"{self.kind} alias {old!r} already points to {target!r}")
        if old in self._items:
            raise ValueError(f"{self.kind} {old!r} is registered; it cannot also be an alias")
        self._aliases[old] = name

    def canonical(self, name: str) -> str:
        """The registered name `name` stands for (itself unless it is an alias)."""
        load_plugins()
        return self._aliases.get(name, name)

    def get(self, name: str) -> T:
        load_plugins()
        try:
            return self._items[self._aliases.get(name, name)]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            close = difflib.get_close_matches(str(name), list(self._items), n=1, cutoff=0.6)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            if self is standards and name in unavailable._items:
                gone = unavailable._items[str(name)]
                raise SpecError(gone.message(), hint=gone.hint) from None
            raise SpecError(
                f"unknown {self.kind} {name!r}{guess}", hint=f"known: {known}"
            ) from None

    def __contains__(self, name: object) -> bool:
        load_plugins()
        key = self._aliases.get(name, name) if isinstance(name, str) else name
        return key in self._items

    def has(self, name: str) -> bool:
        """Whether `name` is registered (plugins loaded first, like every lookup)."""
        return name in self

    def has_loaded(self, name: str) -> bool:
        """Whether `name` is registered already, without loading plugins: for a plugin's own
        `register()` (which may run while plugins are loading) to stay idempotent."""
        return name in self._items or name in self._aliases

    def get_loaded(self, name: str) -> T | None:
        """The object registered as `name` (aliases resolved) WITHOUT loading plugins, or None
        (e.g. in a spawned worker that must not pay for loading every standard)."""
        return self._items.get(self._aliases.get(name, name))

    def values(self) -> list[T]:
        """The registered objects, in name order."""
        load_plugins()
        return [obj for _, obj in sorted(self._items.items())]

    def names(self) -> list[str]:
        load_plugins()
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        load_plugins()
        return iter(sorted(self._items.items()))


@dataclass(frozen=True)
class Unavailable:
    """A standard that is installed but cannot load: an optional dependency is missing."""

    name: str  # the standard's id, e.g. "kg"
    missing: str  # the module that could not be imported, e.g. "rdflib"
    hint: str  # how to install it, e.g. "pip install 'pingce[kg]'"

    def message(self) -> str:
        """One line: what is unavailable, why, and the fix."""
        return f"standard {self.name!r} is unavailable: module {self.missing!r} is not installed"


@dataclass(frozen=True)
class CommandGroupRef:
    """A `pingce <name> ...` command group that is imported only when it is used: register
    `CommandGroupRef("pingce.kg.cli:app", "Knowledge-graph quality ...")` in `commands`
    instead of the typer app, so `pingce --help` lists it without importing the module."""

    target: str  # "module:attribute" of a typer app
    help: str  # the one-line help shown by `pingce --help`

    def load(self) -> Any:
        import importlib

        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)


standards: Registry[Any] = Registry("standard")
# Standards whose optional dependencies are missing (listed by `pingce list standards`).
unavailable: Registry[Unavailable] = Registry("unavailable standard")
backends: Registry[Callable[..., Any]] = Registry("backend")
task_types: Registry[Any] = Registry("task type")
metrics: Registry[Any] = Registry("metric")
filters: Registry[Callable[..., Any]] = Registry("answer filter")
loaders: Registry[Callable[..., Any]] = Registry("dataset loader")
# `pingce <name> ...` command groups (typer apps, or `CommandGroupRef`s to import them only
# when used) that a standard adds, e.g. `pingce perf`.
commands: Registry[Any] = Registry("command group")
# Steps of `pingce demo`: callables (DemoContext) -> run id, run in registration order after llm.
demos: Registry[Callable[..., Any]] = Registry("demo step")

_plugins_loaded = False


def load_plugins() -> None:
    """Call every ``pingce.plugins`` entry point once (pingce's own standards included)."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group=PLUGIN_GROUP):
        hook = ep.load()
        hook()
