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

    def get(self, name: str) -> T:
        load_plugins()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            close = difflib.get_close_matches(str(name), list(self._items), n=1, cutoff=0.6)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            raise SpecError(
                f"unknown {self.kind} {name!r}{guess}", hint=f"known: {known}"
            ) from None

    def __contains__(self, name: object) -> bool:
        load_plugins()
        return name in self._items

    def names(self) -> list[str]:
        load_plugins()
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        load_plugins()
        return iter(sorted(self._items.items()))


standards: Registry[Any] = Registry("standard")
backends: Registry[Callable[..., Any]] = Registry("backend")
task_types: Registry[Any] = Registry("task type")
metrics: Registry[Any] = Registry("metric")
filters: Registry[Callable[..., Any]] = Registry("answer filter")
loaders: Registry[Callable[..., Any]] = Registry("dataset loader")
# `pingce <name> ...` command groups (typer apps) that a standard adds, e.g. `pingce perf`.
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
