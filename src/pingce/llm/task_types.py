"""The llm standard's task types in the core registry, namespaced ``llm.<type>``.

Each is registered as a `LazyTaskType`: the table below says which module holds its class, and
that module (with its datasets, jinja2, numpy, HTTP stack...) is imported the first time the
type is used, not when pingce starts. Suites written before the namespace say
``type: multiple_choice``; that name stays a registry alias of ``llm.multiple_choice``
(resolved by `get`/`in`, not listed), so every existing suite and report keeps working. A
class's ``type_name`` stays the short name: it is part of each work unit's cache key, so
renaming it would make every stored run recompute on resume.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

PREFIX = "llm."
T = TypeVar("T")

_TASKS = "pingce.llm.tasks."
_BENCH = "pingce.llm.benchmarks.tasks"
# short name -> (module, class)
TASK_TYPES: dict[str, tuple[str, str]] = {
    "multiple_choice": (_TASKS + "multiple_choice", "MultipleChoiceTask"),
    "generative": (_TASKS + "generative", "GenerativeTask"),
    "perplexity": (_TASKS + "perplexity", "PerplexityTask"),
    "math_generative": (_TASKS + "math_generative", "MathGenerativeTask"),
    "mc2": (_TASKS + "mc2", "MC2Task"),
    "judged": (_TASKS + "judged", "JudgedTask"),
    "refusal": (_TASKS + "refusal", "RefusalTask"),
    "over_refusal": (_TASKS + "refusal", "OverRefusalTask"),
    "robustness": (_TASKS + "robustness", "RobustnessTask"),
    "contamination": (_TASKS + "contamination", "ContaminationTask"),
    "code_generation": (_TASKS + "code_generation", "CodeGenerationTask"),
    "mmlu": (_BENCH, "MMLUTask"),
    "cmmlu": (_BENCH, "CMMLUTask"),
    "ceval": (_BENCH, "CEvalTask"),
    "arc": (_BENCH, "ARCTask"),
    "hellaswag": (_BENCH, "HellaSwagTask"),
    "truthfulqa_mc1": (_BENCH, "TruthfulQAMC1Task"),
    "truthfulqa_mc2": (_BENCH, "TruthfulQAMC2Task"),
    "agieval": (_BENCH, "AGIEvalTask"),
    "c3": (_BENCH, "C3Task"),
    "gsm8k": (_BENCH, "GSM8KTask"),
    "math500": (_BENCH, "Math500Task"),
    "humaneval": (_BENCH, "HumanEvalTask"),
    "mbpp": (_BENCH, "MBPPTask"),
}


class LazyTaskType:
    """A registered task type whose class is imported on first use.

    Calling it builds a task (`LazyTaskType(spec, suite)` = `Class(spec, suite)`); any other
    attribute (`Params`, `default_metrics`, `allowed_metrics`, ...) is the class's.
    """

    def __init__(self, name: str, module: str, class_name: str) -> None:
        self._name = name
        self._module = module
        self._class_name = class_name

    def load(self) -> type:
        cls: type = getattr(importlib.import_module(self._module), self._class_name)
        return cls

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.load()(*args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") or attr in ("_name", "_module", "_class_name"):
            raise AttributeError(attr)
        return getattr(self.load(), attr)

    def __repr__(self) -> str:
        return f"LazyTaskType({PREFIX}{self._name} = {self._module}.{self._class_name})"


def register_task_types() -> None:
    """Every llm task type as ``llm.<name>``, with ``<name>`` as its alias (idempotent)."""
    from pingce.core.registry import task_types

    for name, (module, class_name) in TASK_TYPES.items():
        if not task_types.has_loaded(PREFIX + name):
            task_types.register(PREFIX + name, LazyTaskType(name, module, class_name))
            task_types.alias(name, PREFIX + name)


def llm_task_type(name: str) -> Callable[[T], T]:
    """Class decorator naming the task type a class implements; it must be the one the table
    above points to (so the table and the classes cannot drift apart)."""

    def decorator(cls: T) -> T:
        where = TASK_TYPES.get(name)
        here = (getattr(cls, "__module__", ""), getattr(cls, "__name__", ""))
        if where != here:
            raise RuntimeError(f"llm task type {name!r}: TASK_TYPES says {where}, class is {here}")
        return cls

    return decorator


def canonical_type(name: str) -> str:
    """``multiple_choice`` and ``llm.multiple_choice`` -> ``llm.multiple_choice``."""
    from pingce.core.registry import task_types

    return task_types.canonical(name)


def short_type(name: str) -> str:
    """``llm.multiple_choice`` and ``multiple_choice`` -> ``multiple_choice``."""
    return name[len(PREFIX) :] if name.startswith(PREFIX) else name
