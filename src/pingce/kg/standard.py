"""The knowledge-graph construction quality standard (钢铁生产过程知识图谱构建技术要求).

Three kinds of subject, one pipeline:

- ``triples:PATH`` — a KG-construction system's output (JSONL, RDF, Neo4j CSV), scored
  against a gold set (`kg.extraction`: triple P/R/F1, WebNLG schemes, entity and relation F1,
  ontology conformance, Text2KGBench hallucination);
- ``graph:PATH`` — a knowledge graph in RDF, checked without gold (`kg.quality.*`: SHACL,
  completeness, consistency, redundancy, connectivity, competency questions);
- a language model (``hf:PATH``, ``openai://...``) — the reference constructor (`kg.build`)
  prompts it to extract triples, then scores them like `kg.extraction`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pingce.core.errors import SpecError
from pingce.core.registry import backends
from pingce.kg.metrics import CATALOGUE
from pingce.kg.options import KGOptions
from pingce.kg.task_types import kg_task_type

if TYPE_CHECKING:  # the standard object is built at every CLI start: keep its module light
    from pingce.core.spec import Indicator, SubjectSpec, Suite
    from pingce.core.standard import Plan, RunContext

STANDARD_ID = "kg"


class KGStandard:
    id = STANDARD_ID
    title = "Knowledge graph construction quality (steel production processes)"
    title_zh = "钢铁生产过程知识图谱构建技术要求"
    options_model = KGOptions

    def indicators(self) -> list[Indicator]:
        return [m.indicator() for m in CATALOGUE.values()]

    def validate_suite(self, suite: Suite) -> None:
        from pingce.kg.tasks import params_for

        kinds = set()
        for spec in suite.spec.tasks:
            params_for(spec, suite.source)
            kinds.add(kg_task_type(spec, suite.source).kind)
        if len(kinds - {"quality"}) > 1 or ("quality" in kinds and len(kinds) > 1):
            raise SpecError(
                f"{suite.source}: a kg suite mixes task kinds {sorted(kinds)} that need different subjects"
            )

    def open_subject(self, subject: SubjectSpec, options: dict[str, Any]) -> Any:
        from pingce.kg.subjects import GraphSubject, PredictionsSubject

        if subject.scheme == "triples":
            return PredictionsSubject(subject)
        if subject.scheme == "graph":
            return GraphSubject(subject)
        if subject.scheme in backends:
            return backends.get(subject.scheme)(subject, options)
        raise SpecError(
            f"subject {subject.raw!r}: the kg standard has no {subject.scheme!r} subjects",
            hint="use triples:PREDICTIONS, graph:GRAPH.ttl or a model (hf:PATH)",
        )

    def plan(self, suite: Suite, subject: Any, options: dict[str, Any]) -> Plan:
        from pingce.core.standard import Plan, PlannedTask
        from pingce.kg.tasks import params_for

        tasks = []
        for spec in suite.spec.tasks:
            ttype = kg_task_type(spec, suite.source)
            params = params_for(spec, suite.source, suite.base_dir)
            ttype.check_subject(spec.id, subject)
            handler = ttype.make_handler(params, suite.base_dir)
            tasks.append(PlannedTask(spec.id, handler.units(subject), handler))
        return Plan(tasks=tasks, settings={"tasks": len(tasks)})

    def execute(self, ctx: RunContext) -> None:
        from pingce.core.standard import execute_handlers

        execute_handlers(ctx, lambda task: task.handler.chunk)

    def summarize(
        self, suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        from pingce.kg.summary import summarize

        return summarize(suite, config, records)


def register() -> None:
    """The old entry point; registration lives in `pingce.kg.plugin`."""
    from pingce.kg.plugin import register as register_plugin

    register_plugin()
