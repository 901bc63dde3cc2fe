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
from pathlib import Path
from typing import Any

from pingce.core.errors import SpecError
from pingce.core.execute import run_units
from pingce.core.registry import backends, commands, demos, metrics, standards
from pingce.core.spec import Indicator, SubjectSpec, Suite
from pingce.core.standard import Plan, PlannedTask, RunContext, task_row
from pingce.core.store import records_by_task
from pingce.kg.metrics import CATALOGUE
from pingce.kg.tasks import (
    BuildParams,
    BuildTask,
    ExtractionParams,
    ExtractionTask,
    QualityParams,
    QualityTask,
    file_digest,
    params_for,
)

STANDARD_ID = "kg"
CHUNK = {"kg.extraction": 64, "kg.build": 4}


class PredictionsSubject:
    """A system's extracted triples."""

    def __init__(self, spec: SubjectSpec) -> None:
        from pingce.kg.readers import read_predictions

        self.path = Path(spec.target)
        self.format = spec.params.get("format", "auto")
        self.predictions = read_predictions(self.path, self.format)
        self._digest = file_digest(self.path)

    def fingerprint(self) -> dict[str, Any]:
        return {"predictions": self._digest, "format": self.format}

    def settings(self) -> dict[str, Any]:
        return {"predictions": str(self.path), "format": self.predictions.format,
                "texts": len(self.predictions.items), "triples": self.predictions.n_triples(),
                "pooled_triples": len(self.predictions.pooled)}  # fmt: skip


class GraphSubject:
    """A knowledge graph in an RDF file."""

    def __init__(self, spec: SubjectSpec) -> None:
        from pingce.kg.quality import load_graph

        self.path = Path(spec.target)
        self.graph = load_graph(self.path)
        self._digest = file_digest(self.path)

    def fingerprint(self) -> dict[str, Any]:
        return {"graph": self._digest}

    def settings(self) -> dict[str, Any]:
        return {"graph": str(self.path), "triples": len(self.graph)}


class KGStandard:
    id = STANDARD_ID
    title = "Knowledge graph construction quality (steel production processes)"
    title_zh = "钢铁生产过程知识图谱构建技术要求"

    def indicators(self) -> list[Indicator]:
        return [m.indicator() for m in CATALOGUE.values()]

    def validate_suite(self, suite: Suite) -> None:
        kinds = set()
        for spec in suite.spec.tasks:
            params_for(spec, suite.source)
            kinds.add("build" if spec.type == "kg.build" else spec.type.split(".")[1])
        if len(kinds - {"quality"}) > 1 or ("quality" in kinds and len(kinds) > 1):
            raise SpecError(
                f"{suite.source}: a kg suite mixes task kinds {sorted(kinds)} that need different subjects"
            )

    def open_subject(self, subject: SubjectSpec, options: dict[str, Any]) -> Any:
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
        tasks = []
        for spec in suite.spec.tasks:
            params = params_for(spec, suite.source, suite.base_dir)
            if isinstance(params, BuildParams):
                if isinstance(subject, PredictionsSubject | GraphSubject):
                    raise SpecError(
                        f"task {spec.id}: kg.build needs a language model subject (hf:PATH)"
                    )
                handler: Any = BuildTask(params, suite.base_dir)
            elif isinstance(params, ExtractionParams):
                if not isinstance(subject, PredictionsSubject):
                    raise SpecError(
                        f"task {spec.id}: kg.extraction needs triples:PREDICTIONS as subject"
                    )
                handler = ExtractionTask(params)
            else:
                assert isinstance(params, QualityParams)
                if not isinstance(subject, GraphSubject):
                    raise SpecError(f"task {spec.id}: {spec.type} needs graph:GRAPH as subject")
                handler = QualityTask(params, spec.type.rsplit(".", 1)[1])
            tasks.append(PlannedTask(spec.id, handler.units(subject), handler))
        return Plan(tasks=tasks, settings={"tasks": len(tasks)})

    def execute(self, ctx: RunContext) -> None:
        for task in ctx.plan.tasks:
            kind = "kg.build" if isinstance(task.handler, BuildTask) else "kg.extraction"
            chunk = CHUNK.get(kind, 256) if not isinstance(task.handler, QualityTask) else 512
            run_units(
                ctx.store, ctx.run_id, task.task_id, task.units,
                lambda units, h=task.handler: h.process(ctx.subject, units),
                chunk_size=chunk, progress=ctx.progress, description=task.task_id,
            )  # fmt: skip

    def summarize(
        self, suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        from pingce.kg.summary import (
            PRIMARY,
            build_sections,
            extraction_sections,
            indicator_row,
            metric_rows,
            quality_sections,
            samples,
        )

        by_task = records_by_task(records)
        tasks, indicators, sections, notes, sample_rows = [], [], [], [], []
        overall_parts: list[float] = []
        for spec in suite["tasks"]:
            recs = by_task.get(spec["id"], [])
            if not recs:
                continue
            rows = metric_rows(recs, seed=int(config.get("options", {}).get("seed", 0)))
            ttype = spec["type"]
            primary = PRIMARY[ttype] if PRIMARY[ttype] in rows else next(iter(rows), "")
            if ttype == "kg.extraction":
                sec, nt = extraction_sections(spec["id"], recs)
            elif ttype == "kg.build":
                sec, nt = build_sections(spec["id"], recs)
            else:
                sec, nt = quality_sections(spec["id"], ttype.rsplit(".", 1)[1], recs)
            sections.extend(sec)
            notes.extend(nt)
            sample_rows.extend(samples(spec["id"], recs))
            if not rows:
                continue
            indicators.extend(indicator_row(name, row, spec["id"]) for name, row in rows.items())
            tasks.append(
                task_row(
                    spec, len(recs), primary, rows,
                    default_dimension="kg", default_language="multi", type=ttype,
                )
            )  # fmt: skip
            if primary:
                v = rows[primary]["value"]
                overall_parts.append(1.0 - v if rows[primary]["direction"] == "lower" else v)
        kinds = {t["type"] for t in tasks}
        if kinds <= {"kg.extraction", "kg.build"} and len(tasks) == 1:
            method = f"{tasks[0]['primary_metric']} of the one task"
        else:
            method = "mean of the task scores (rates where lower is better enter as 1 - rate)"
        score = sum(overall_parts) / len(overall_parts) if overall_parts else None
        return {
            "tasks": tasks, "dimensions": [], "overall": {"score": score, "method": method},
            "indicators": indicators, "samples": sample_rows, "notes": notes, "sections": sections,
            "extra": {"subject_settings": config.get("settings", {})},
        }  # fmt: skip


def register() -> None:
    """Entry point (via pingce.builtin): the kg standard, its metrics, `pingce kg`, demo 70-kg."""
    if STANDARD_ID in standards._items:
        return
    from pingce.kg.cli import app
    from pingce.kg.demo import run_kg_demo

    for name, mdef in CATALOGUE.items():
        if name not in metrics._items:
            metrics.register(name, mdef)
    standards.register(STANDARD_ID, KGStandard())
    commands.register("kg", app)
    demos.register("70-kg", run_kg_demo)
