"""The server-perf standard's id and how its task type names are spelt."""

from __future__ import annotations

STANDARD_ID = "server-perf"
TASK_PREFIX = "perf."


def task_type_name(type_: str) -> str:
    """The registered name of a suite task's `type`: the un-namespaced names suites used before
    (`scenario`) are aliases of `perf.scenario` and so on."""
    return type_ if type_.startswith(TASK_PREFIX) else TASK_PREFIX + type_


def task_kind(type_: str) -> str:
    """A task type without its namespace (`perf.scenario` -> `scenario`), as reports show it."""
    return type_.removeprefix(TASK_PREFIX)
