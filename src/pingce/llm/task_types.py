"""The llm standard's task types in the core registry, namespaced ``llm.<type>``.

Suites written before the namespace say ``type: multiple_choice``; that name stays a registry
alias of ``llm.multiple_choice`` (resolved by `get`/`in`, not listed), so every existing suite
and report keeps working. A
class's ``type_name`` stays the short name: it is part of each work unit's cache key, so
renaming it would make every stored run recompute on resume.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pingce.core.registry import task_types

PREFIX = "llm."
T = TypeVar("T")


def llm_task_type(name: str) -> Callable[[T], T]:
    """Class decorator: register a task type as ``llm.<name>`` with ``<name>`` as its alias."""

    def decorator(cls: T) -> T:
        task_types.register(PREFIX + name, cls)
        task_types.alias(name, PREFIX + name)
        return cls

    return decorator


def canonical_type(name: str) -> str:
    """``multiple_choice`` and ``llm.multiple_choice`` -> ``llm.multiple_choice``."""
    return task_types.canonical(name)


def short_type(name: str) -> str:
    """``llm.multiple_choice`` and ``multiple_choice`` -> ``multiple_choice``."""
    return name[len(PREFIX) :] if name.startswith(PREFIX) else name
