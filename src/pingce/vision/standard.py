"""The vision standard: vision models and platforms — model quality (classification,
industrial defects), continual-learning systems and high-speed frame streams.

Subjects: a model (``onnx:``, ``torchscript:``, ``pt2:``, ``torch:FILE.py:FACTORY``,
``http://``, ``pipe:COMMAND``, ``reference:defects?train=DIR``; `pingce.vision.runtime`) for
the classification, defects and frame-stream tasks; a learner (``learner:naive|replay``,
``learner:FILE.py:CLASS``, ``learner:http://HOST:PORT``; `pingce.vision.continual`) for the
continual tasks. Run option: ``threads`` (the model runtime's intra-op threads).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pingce.core.errors import SpecError
from pingce.core.options import CommonOptions
from pingce.vision.tasks import PARAMS, TASK_TYPES, spec_dict

if TYPE_CHECKING:  # the module stays light: `pingce --help` imports it through plugin.py
    import numpy as np

    from pingce.core.execute import Outcome, WorkUnit
    from pingce.core.spec import Indicator, SubjectSpec, Suite
    from pingce.core.standard import Plan, RunContext

STANDARD_ID = "vision"
LEARNER_TASKS = {"vision.continual"}


class VisionOptions(CommonOptions):
    """`threads`: the model runtime's intra-op threads (None: 1); `limit` (common): images per
    quality task, frames per stream, images per continual dataset, when the task sets none."""

    threads: int | None = None


def _params(t: Any, source: str) -> Any:
    from pingce.core.spec import validate_params

    if t.type not in PARAMS:
        raise SpecError(
            f"{source}: task {t.id!r}: unknown type {t.type!r}",
            hint=f"one of: {', '.join(TASK_TYPES)}",
        )
    return validate_params(PARAMS[t.type], t.model_dump(), f"{source}: tasks.{t.id}")


class VisionStandard:
    id = STANDARD_ID
    title = (
        "Vision models and platforms (industrial vision, autonomous learning, high-speed imaging)"
    )
    title_zh = "视觉模型与平台（工业视觉训练推理平台、自主学习视觉系统、高速成像分析系统）"
    options_model = VisionOptions

    def indicators(self) -> list[Indicator]:
        from pingce.vision.catalogue import METRICS

        return [m.indicator() for m in METRICS]

    def validate_suite(self, suite: Suite) -> None:
        kinds = set()
        for t in suite.spec.tasks:
            kinds.add(_params(t, suite.source).type in LEARNER_TASKS)
        if len(kinds) > 1:
            raise SpecError(
                f"{suite.source}: continual tasks (a learner subject) and model tasks cannot share a suite",
                hint="put vision.continual tasks in a suite of their own",
            )

    def open_subject(self, subject: SubjectSpec, options: dict[str, Any]) -> Any:
        if subject.scheme == "learner":
            from pingce.vision.continual import LearnerSubject

            return LearnerSubject(subject)
        from pingce.vision.runtime import open_model

        return open_model(subject, VisionOptions.of(options).model_dump())

    def plan(self, suite: Suite, subject: Any, options: dict[str, Any]) -> Plan:
        from pingce.core.fingerprint import content_hash
        from pingce.core.standard import Plan, PlannedTask
        from pingce.vision.continual import LearnerSubject

        fp = content_hash(subject.fingerprint())
        tasks: list[PlannedTask] = []
        classes: dict[str, list[str]] = {}
        for t in suite.spec.tasks:
            params = _params(t, suite.source)
            wants_learner = params.type in LEARNER_TASKS
            if wants_learner != isinstance(subject, LearnerSubject):
                need = (
                    "a learner (learner:naive, learner:FILE.py:CLASS, ...)"
                    if wants_learner
                    else "a model (onnx:, torchscript:, http://, ...)"
                )
                raise SpecError(
                    f"task {t.id!r} ({params.type}) needs {need} as the subject, not {subject.spec.raw!r}"
                )
            limit = VisionOptions.of(options).limit
            if limit and hasattr(params, "limit") and params.limit is None:
                params = params.model_copy(update={"limit": limit})
            spec = spec_dict(params)
            units = self._units(params, suite, fp, spec, classes)
            tasks.append(PlannedTask(t.id, units, params))
        return Plan(tasks=tasks, settings={"classes": classes})

    def _units(
        self,
        params: Any,
        suite: Suite,
        fp: str,
        spec: dict[str, Any],
        classes: dict[str, list[str]],
    ) -> list[WorkUnit]:
        from pingce.core.execute import WorkUnit
        from pingce.core.fingerprint import content_hash
        from pingce.vision import tasks as T

        if params.type == "vision.classification":
            names, samples = T.classification_data(params.dataset, suite.base_dir)
            names = params.class_names or names
            bad = [s.id for s in samples if s.label >= len(names)]
            if bad:
                raise SpecError(
                    f"task {params.id}: {len(bad)} images have a class beyond class_names (first: {bad[0]})"
                )
            classes[params.id] = names
        elif params.type == "vision.defects":
            _, samples = T.defect_data(params.dataset, suite.base_dir)
        elif params.type == "vision.segmentation":
            names, samples = T.segmentation_data(params.dataset, suite.base_dir, params.class_names)
            classes[params.id] = names
        elif params.type == "vision.detection":
            names, samples = T.detection_data(params.dataset, suite.base_dir, params.images)
            names = params.class_names or names
            unknown = sorted({b[0] for s in samples for b in (s.boxes or [])} - set(names))
            if unknown:
                raise SpecError(f"task {params.id}: gold labels {unknown} are not in class_names")
            classes[params.id] = names
        elif params.type == "vision.continual":
            names, samples = T.classification_data(params.dataset, suite.base_dir)
            classes[params.id] = names
            samples = samples[: params.limit] if params.limit else samples
            digest = content_hash([s.digest for s in samples])
            return [
                WorkUnit(
                    content_hash(fp, params.id, spec, digest, seed),
                    f"seed-{seed}",
                    i,
                    {"samples": samples, "seed": seed, "n_classes": len(names)},
                )
                for i, seed in enumerate(params.seeds)
            ]
        else:
            names, samples = T.frame_data(params.dataset, suite.base_dir, params.frames)
            samples = samples[: params.frames]
            classes[params.id] = names
            digest = content_hash([s.digest for s in samples])
            return [
                WorkUnit(
                    content_hash(fp, params.id, spec, digest),
                    "stream",
                    0,
                    {"samples": samples, "n_classes": len(names)},
                )
            ]
        if params.limit:
            samples = samples[: params.limit]
        return [
            WorkUnit(content_hash(fp, params.id, spec, s.digest), s.id, i, {"sample": s})
            for i, s in enumerate(samples)
        ]

    def execute(self, ctx: RunContext) -> None:
        from pingce.core.execute import run_units
        from pingce.vision import quality

        for task in ctx.plan.tasks:
            params = task.handler
            if params.type == "vision.classification":
                n_cls = len(ctx.plan.settings["classes"][task.task_id])

                def process(
                    units: list[WorkUnit], p: Any = params, n: int = n_cls
                ) -> list[Outcome]:
                    return quality.classification_chunk(units, ctx.subject, p, n)

                chunk = params.batch_size
            elif params.type == "vision.defects":

                def process(units: list[WorkUnit], p: Any = params) -> list[Outcome]:
                    return quality.defects_chunk(units, ctx.subject, p)

                chunk = params.batch_size
            elif params.type == "vision.segmentation":
                n_seg = len(ctx.plan.settings["classes"][task.task_id])

                def process(
                    units: list[WorkUnit], p: Any = params, n: int = n_seg
                ) -> list[Outcome]:
                    return quality.segmentation_chunk(units, ctx.subject, p, n)

                chunk = params.batch_size
            elif params.type == "vision.detection":
                det_classes = ctx.plan.settings["classes"][task.task_id]

                def process(
                    units: list[WorkUnit], p: Any = params, c: list[str] = det_classes
                ) -> list[Outcome]:
                    return quality.detection_chunk(units, ctx.subject, p, c)

                chunk = params.batch_size
            elif params.type == "vision.continual":

                def process(units: list[WorkUnit], p: Any = params) -> list[Outcome]:
                    return [_continual_outcome(u, ctx.subject, p) for u in units]

                chunk = 1
            else:

                def process(units: list[WorkUnit], p: Any = params) -> list[Outcome]:
                    return [_framestream_outcome(u, ctx.subject, p) for u in units]

                chunk = 1
            run_units(
                ctx.store,
                ctx.run_id,
                task.task_id,
                task.units,
                process,
                chunk_size=chunk,
                progress=ctx.progress,
                description=f"vision {task.task_id}",
            )
        close = getattr(ctx.subject, "close", None)
        if close is not None:
            close()

    def summarize(
        self, suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        from pingce.vision.summary import summarize_vision

        return summarize_vision(suite, config, records)


def _images(
    samples: Sequence[Any],
    size: tuple[int, int],
    mean: Sequence[float] = (0, 0, 0),
    std: Sequence[float] = (1, 1, 1),
) -> np.ndarray:
    from pingce.vision.datasets import load_rgb, resize, to_batch

    return to_batch([resize(load_rgb(s), size) for s in samples], list(mean), list(std))


def _continual_outcome(unit: WorkUnit, subject: Any, params: Any) -> Outcome:
    import numpy as np

    from pingce.core.execute import Outcome
    from pingce.vision.continual import budget_stream, make_stream, run_stream, stream_scores

    samples = unit.payload["samples"]
    x = _images(samples, params.image_size)
    y = np.array([s.label for s in samples])
    seed = unit.payload["seed"]
    stream = make_stream(x, y, params.scenario, params.n_experiences, seed, params.test_fraction)
    data = run_stream(subject.new(), stream, unit.payload["n_classes"], seed)
    data["budgets"] = [
        budget_stream(subject.new(), stream, unit.payload["n_classes"], seed, b, st)
        for st in params.query_strategies
        for b in params.label_budgets
    ]
    return Outcome(scores=stream_scores(data), data=data)


def _framestream_outcome(unit: WorkUnit, subject: Any, params: Any) -> Outcome:
    import numpy as np

    from pingce.core.execute import Outcome
    from pingce.vision.framestream import StreamConfig, run_stream, search_max_fps, stream_figures
    from pingce.vision.runtime import first_output

    samples = unit.payload["samples"]
    frames = [f[None] for f in _images(samples, params.image_size, params.mean, params.std)]
    labels = [s.label for s in samples]
    n_classes = unit.payload["n_classes"]

    def system(i: int) -> Any:
        return subject.predict(frames[i])

    def is_correct(i: int, out: Any) -> bool | None:
        scores = np.asarray(first_output(out, ("prob", "logit", "score")))
        if scores.size != n_classes:
            return None
        return int(scores.reshape(-1).argmax()) == labels[i]

    def cfg(fps: float, duration: float) -> StreamConfig:
        return StreamConfig(
            fps, duration, params.burst_size, params.queue_depth, params.deadline_ms
        )

    for i in range(min(5, len(frames))):  # warm-up: first calls allocate
        system(i)
    stream_fn = run_stream
    if params.generator == "process":
        from pingce.vision.framestream_process import run_stream_process

        stream_fn = run_stream_process
    fixed = stream_fn(system, cfg(params.fps, params.duration_s), len(frames), is_correct)
    data: dict[str, Any] = {"fixed": fixed, "search": None}
    if params.search is not None:
        s = params.search
        max_p99 = params.max_p99_ms or params.deadline_ms

        def probe(fps: float) -> dict[str, Any]:
            return stream_figures(stream_fn(system, cfg(fps, s.probe_duration_s), len(frames)))

        best, probes = search_max_fps(
            probe, s.low_fps, s.high_fps, s.steps, params.max_drop_rate, max_p99
        )
        data["search"] = {"max_fps": best, "probes": probes}
    figs = stream_figures(fixed)
    scores = {k: v for k, v in figs.items() if k.startswith("fs_") and v is not None}
    return Outcome(scores=scores, data=data)
