"""The kg standard's task types, registered in `pingce.core.registry.task_types`.

Each type is one declarative record: its parameter model, the subject it needs, its primary
metric, and where its handler class and report sections live (imported on use, so
registering costs nothing). The standard plans, executes and summarizes through these
records instead of branching on type names.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pingce.core.errors import SpecError
from pingce.core.spec import TaskSpec

SubjectKind = Literal["triples", "graph", "model"]


def _load(ref: str) -> Any:
    module, name = ref.split(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class KGTaskType:
    """One kg task type (e.g. ``kg.quality.shacl``)."""

    name: str
    kind: str  # extraction, build or quality: a suite holds one kind (they need different subjects)
    subject: SubjectKind
    params: str  # "module:Class" of its pydantic parameter model
    handler: str  # "module:Class"; built as Class(params, base_dir, aspect)
    sections: str  # "module:function"; (task_id, recs=, [aspect=]) -> (sections, notes)
    primary: str  # primary metric
    aspect: str = ""  # the quality aspect, for kg.quality.*

    def load_params(self) -> type:
        cls: type = _load(self.params)
        return cls

    def make_handler(self, params: Any, base_dir: Path) -> Any:
        return _load(self.handler)(params, base_dir, self.aspect)

    def report_sections(self, task_id: str, records: Any) -> tuple[list[dict[str, Any]], list[str]]:
        kwargs = {"recs": records, **({"aspect": self.aspect} if self.aspect else {})}
        result: tuple[list[dict[str, Any]], list[str]] = _load(self.sections)(task_id, **kwargs)
        return result

    def check_subject(self, task_id: str, subject: Any) -> None:
        """One-line error when the run's subject is not the kind this task scores."""
        from pingce.kg.subjects import GraphSubject, PredictionsSubject

        if self.subject == "triples" and not isinstance(subject, PredictionsSubject):
            raise SpecError(f"task {task_id}: {self.name} needs triples:PREDICTIONS as subject")
        if self.subject == "graph" and not isinstance(subject, GraphSubject):
            raise SpecError(f"task {task_id}: {self.name} needs graph:GRAPH as subject")
        if self.subject == "model" and isinstance(subject, PredictionsSubject | GraphSubject):
            raise SpecError(f"task {task_id}: {self.name} needs a language model subject (hf:PATH)")


QUALITY_ASPECTS = (
    "shacl",
    "completeness",
    "consistency",
    "redundancy",
    "connectivity",
    "competency",
)
_QUALITY_PRIMARY = {
    "shacl": "kg_shacl_conformance",
    "completeness": "kg_completeness",
    "consistency": "kg_consistency",
    "redundancy": "kg_redundancy_rate",
    "connectivity": "kg_isolated_rate",
    "competency": "kg_cq_pass_rate",
}
KG_TASK_TYPES: tuple[KGTaskType, ...] = (
    KGTaskType(
        name="kg.extraction",
        kind="extraction",
        subject="triples",
        params="pingce.kg.tasks:ExtractionParams",
        handler="pingce.kg.tasks:ExtractionTask",
        sections="pingce.kg.summary:extraction_sections",
        primary="kg_triple_f1",
    ),
    KGTaskType(
        name="kg.build",
        kind="build",
        subject="model",
        params="pingce.kg.tasks:BuildParams",
        handler="pingce.kg.tasks:BuildTask",
        sections="pingce.kg.summary:build_sections",
        primary="kg_triple_f1",
    ),
    *(
        KGTaskType(
            name=f"kg.quality.{aspect}",
            kind="quality",
            subject="graph",
            params="pingce.kg.tasks:QualityParams",
            handler="pingce.kg.tasks:QualityTask",
            sections="pingce.kg.summary:quality_sections",
            primary=primary,
            aspect=aspect,
        )
        for aspect, primary in _QUALITY_PRIMARY.items()
    ),
)
TASK_TYPES = tuple(t.name for t in KG_TASK_TYPES)


def register_task_types() -> None:
    from pingce.core.registry import task_types

    for t in KG_TASK_TYPES:
        task_types.register(t.name, t)


def kg_task_type(spec: TaskSpec | dict[str, Any], where: str) -> KGTaskType:
    """The registered kg task type a suite task names; one-line error for any other type."""
    from pingce.core.registry import task_types

    type_name = spec.type if isinstance(spec, TaskSpec) else str(spec["type"])
    task_id = spec.id if isinstance(spec, TaskSpec) else spec["id"]
    found = task_types.get(type_name) if type_name in task_types else None
    if not isinstance(found, KGTaskType):
        raise SpecError(
            f"{where}: task {task_id}: unknown type {type_name!r}",
            hint=f"one of: {', '.join(TASK_TYPES)}",
        )
    return found
