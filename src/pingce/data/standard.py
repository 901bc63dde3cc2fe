"""The data-quality standard: datasets as subjects, one scoring task, ISO/IEC 5259-2-style roll-up."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from pingce.core.errors import DataError, SpecError
from pingce.core.execute import WorkUnit, run_units
from pingce.core.fingerprint import content_hash, path_digest
from pingce.core.options import CommonOptions
from pingce.core.registry import task_types
from pingce.core.spec import Indicator, SubjectSpec, Suite, TaskSpec, validate_params
from pingce.core.standard import Plan, PlannedTask, RunContext
from pingce.data.document import Document
from pingce.data.evaluate import FORMATS
from pingce.data.io.readers import InputProblem, InputSpec, list_shards, read_shard
from pingce.data.operators.base import OpParams
from pingce.data.operators.language import DEFAULT_CANDIDATES
from pingce.data.plugin import STANDARD_ID, TASK_TYPE
from pingce.data.quality.indicators import CHARACTERISTICS, MEASURES
from pingce.data.quality.topics import DEFAULT_TOPICS

if TYPE_CHECKING:  # numpy and the scoring rules load when a run scores or is summarised
    from pingce.data.quality.scoring import ScoringSettings

CHUNK = 256


class ProfileTask(OpParams):
    """Type-specific fields of a `data.profile` task."""

    id: str
    type: str
    title: str = ""
    title_zh: str = ""
    dimension: str = "general"
    language: str = "multi"
    weight: float = 1.0
    profile: Literal["pretrain", "sft"] = "pretrain"
    languages: list[str] = Field(default_factory=lambda: list(DEFAULT_CANDIDATES))
    target: dict[str, float] | None = None  # declared language shares for the balance measure
    topics: int = Field(default=DEFAULT_TOPICS, ge=2, le=100)  # K of the topic model (capped)


class DataOptions(CommonOptions):
    """The options a data-quality run stores and hashes (besides seed, limit, demo)."""

    profile: Literal["pretrain", "sft"] | None = None  # what `data evaluate --profile` chose
    sample: int | None = Field(default=None, ge=1)  # a uniform random sample of N records
    target: dict[str, float] | None = None  # declared language shares (balance measure)
    strict: bool = False  # stop at the first malformed record
    funnel: dict[str, Any] | None = None  # the processing pipeline's stats.json
    workers: int | None = Field(default=None, ge=1)  # scoring processes (execution only)
    demo_data: bool = False
    text_field: str | None = None
    id_field: str | None = None
    prompt_field: str | None = None
    response_field: str | None = None
    messages_field: str | None = None

    def fields(self) -> dict[str, str]:
        """The record field names given (text_field, id_field...)."""
        names = ("text_field", "id_field", "prompt_field", "response_field", "messages_field")
        return {k: getattr(self, k) for k in names if getattr(self, k) is not None}


class ProfileTaskType:
    """The `data.profile` task type: its fields checked, and the scoring settings it runs."""

    type = TASK_TYPE

    def __init__(self, spec: TaskSpec, source: str) -> None:
        self.spec = spec
        self.params = validate_params(ProfileTask, spec.model_dump(), f"{source}: tasks.{spec.id}")

    def scoring(self) -> ScoringSettings:
        from pingce.data.quality.scoring import ScoringSettings

        return ScoringSettings(profile=self.params.profile, languages=tuple(self.params.languages))


def _task_type(spec: TaskSpec, source: str) -> ProfileTaskType:
    if not spec.type.startswith("data.") or spec.type not in task_types:
        raise SpecError(
            f"{source}: task {spec.id!r}: unknown task type {spec.type!r}",
            hint=f"use {TASK_TYPE}",
        )
    task: ProfileTaskType = task_types.get(spec.type)(spec, source)
    return task


class DatasetSubject:
    """A dataset file or folder under evaluation."""

    def __init__(self, spec: InputSpec, raw: str) -> None:
        self.spec = spec
        self.raw = raw
        self.shards = list_shards(spec)

    def fingerprint(self) -> dict[str, Any]:
        # The one content digest for files and folders (a saved HF dataset folder is hashed by
        # every file's path, size and bytes, not by its listing).
        files = [[Path(p).name, path_digest(p)] for sh in self.shards for p in sh.paths]
        return {
            "files": files,
            "fields": self.spec.model_dump(mode="json", exclude={"path", "strict"}),
        }

    def settings(self) -> dict[str, Any]:
        return {"dataset": self.raw, "files": sum(len(s.paths) for s in self.shards)}


def _item_key(item: Document | InputProblem, fingerprint: str, task: str) -> tuple[str, str]:
    if isinstance(item, InputProblem):
        sid = f"{item.file}:{item.line}"
        return sid, content_hash(fingerprint, task, "problem", item.file, item.line, item.reason)
    return item.id, content_hash(fingerprint, task, item.id, item.source, item.parts, item.record)


class DataQualityStandard:
    id = STANDARD_ID
    options_model = DataOptions
    title = "AI training data processing and quality evaluation model (ISO/IEC 5259-2 measures)"
    title_zh = "人工智能 大模型训练数据处理流程与质量评价模型"

    def indicators(self) -> list[Indicator]:
        weights = ", ".join(f"{c.id} {c.weight:g}" for c in CHARACTERISTICS)
        inds = [
            Indicator(
                id="data_quality_score",
                name="Data quality score",
                name_zh="数据质量综合得分",
                unit="0-1",
                definition=f"Weighted mean of the characteristic scores: {weights}.",
            ),
        ]
        for m in MEASURES:
            inds.append(
                Indicator(
                    id=m.id,
                    name=m.name,
                    name_zh=m.name_zh,
                    unit=m.unit,
                    direction=m.direction,
                    definition=m.definition,
                )
            )
        return inds

    def validate_suite(self, suite: Suite) -> None:
        for t in suite.spec.tasks:
            _task_type(t, suite.source)

    def open_subject(self, subject: SubjectSpec, options: dict[str, Any]) -> DatasetSubject:
        if subject.scheme not in FORMATS:
            raise SpecError(
                f"dataset {subject.raw!r}: unknown scheme {subject.scheme!r}",
                hint="write data:PATH (format from the name) or jsonl:/parquet:/csv:/tsv:/text:/hf:PATH",
            )
        opts = DataOptions.of(options)
        fields = opts.fields()
        fields.update({k: v for k, v in subject.params.items() if k.endswith("_field")})
        try:
            spec = InputSpec(
                path=subject.target,
                format=FORMATS[subject.scheme],
                strict=opts.strict,
                **fields,
            )  # type: ignore[arg-type]
        except ValueError as exc:
            raise SpecError(f"dataset {subject.raw!r}: {exc}") from None
        return DatasetSubject(spec, subject.raw)

    def plan(self, suite: Suite, subject: DatasetSubject, options: dict[str, Any]) -> Plan:
        opts = DataOptions.of(options)
        seed, sample = opts.seed, opts.sample
        fp = content_hash(subject.fingerprint())
        tasks = []
        population = 0
        for t in suite.spec.tasks:
            task_type = _task_type(t, suite.source)
            params = task_type.params
            items: list[Document | InputProblem] = []
            rng = random.Random(seed)
            population = 0
            documents = 0
            first_problem: InputProblem | None = None
            for shard in subject.shards:
                for item in read_shard(shard, subject.spec):
                    population += 1
                    if isinstance(item, Document):
                        documents += 1
                    elif first_problem is None:
                        first_problem = item
                    if sample is None or len(items) < sample:
                        items.append(item)
                    else:  # reservoir sampling (Algorithm R): a uniform sample in one pass
                        j = rng.randrange(population)
                        if j < sample:
                            items[j] = item
            if not items:
                raise DataError(f"dataset {subject.raw!r} has no records")
            if documents == 0 and first_problem is not None:
                # Only unreadable lines (or an empty file): a score would be a silent 0.
                raise DataError(
                    f"dataset {subject.raw!r} has no readable records: {population} input "
                    f"problem(s), first {first_problem.where()}: {first_problem.reason}",
                    hint="check the file's format and encoding, or set --text-field",
                )
            units = []
            for pos, item in enumerate(items):
                sid, key = _item_key(item, fp, json.dumps([t.id, params.profile, params.languages]))
                units.append(WorkUnit(key=key, sample_id=sid, position=pos, payload=item))
            tasks.append(PlannedTask(t.id, units, task_type.scoring()))
        return Plan(
            tasks=tasks,
            settings={
                "seed": seed,
                "sample": sample,
                "population": population,
                "funnel": opts.funnel,
            },
        )

    def execute(self, ctx: RunContext) -> None:
        workers = DataOptions.of(ctx.options).workers or 1
        for task in ctx.plan.tasks:
            if workers > 1 and len(task.units) > CHUNK:
                _score_in_processes(ctx, task.task_id, task.units, task.handler, workers)
                continue
            run_units(
                ctx.store,
                ctx.run_id,
                task.task_id,
                task.units,
                lambda units, s=task.handler: _score_chunk([u.payload for u in units], s),
                chunk_size=CHUNK,
                progress=ctx.progress,
                description=f"scoring {task.task_id}",
            )

    def summarize(
        self, suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        options = dict(config.get("options", {}))
        task = suite["tasks"][0]
        options.setdefault("profile", task.get("profile", "pretrain"))
        if options.get("target") is None and task.get("target"):
            options["target"] = task["target"]
        options.setdefault("topics", task.get("topics", DEFAULT_TOPICS))
        from pingce.data.report import summarize_quality

        return summarize_quality(records, options, config.get("settings", {}))


def _score_chunk(payloads: list[Any], settings: ScoringSettings) -> list[Any]:
    from pingce.data.quality.scoring import score_items

    return score_items(payloads, settings)


def _score_in_processes(
    ctx: RunContext, task_id: str, units: Sequence[WorkUnit], settings: Any, workers: int
) -> None:
    """`run_units` with the scoring spread over `workers` processes (spawned, like `data
    process`); chunks are stored in order as they finish, so resume works the same way."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    done = ctx.store.existing_keys(ctx.run_id, task_id)
    todo = [u for u in units if u.key not in done]
    chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)]
    bar = None
    if ctx.progress is not None:
        bar = ctx.progress.add_task(
            f"scoring {task_id}", total=len(units), completed=len(units) - len(todo)
        )
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        pending = []
        ahead = iter(chunks)
        for chunk in ahead:  # keep at most 2 chunks per worker in flight (bounded memory)
            pending.append((chunk, pool.submit(_score_chunk, [u.payload for u in chunk], settings)))
            if len(pending) < 2 * workers:
                continue
            _store_chunk(ctx, task_id, *pending.pop(0), bar)
        while pending:
            _store_chunk(ctx, task_id, *pending.pop(0), bar)


def _store_chunk(ctx: RunContext, task_id: str, chunk: list[WorkUnit], fut: Any, bar: Any) -> None:
    outcomes = fut.result()
    ctx.store.add_records(
        ctx.run_id,
        [
            {
                "task": task_id,
                "key": u.key,
                "sample_id": u.sample_id,
                "position": u.position,
                "scores": out.scores,
                "data": out.data,
            }
            for u, out in zip(chunk, outcomes, strict=True)
        ],
    )
    if ctx.progress is not None and bar is not None:
        ctx.progress.advance(bar, len(chunk))


def register() -> None:
    """Kept for callers of the old entry point; registration lives in pingce.data.plugin."""
    from pingce.data.plugin import register as register_plugin

    register_plugin()
