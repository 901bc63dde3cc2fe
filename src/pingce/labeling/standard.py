"""The labeling standard (AI visual data automatic labeling systems): auto-labels against gold,
human correction effort, and labeling speed.

Subjects: ``labels:PATH?format=F&which=predictions`` (a label file or folder produced by any
tool) or ``labeler:SPEC`` (an auto-labeler pingce runs on the images: ``shapes``, ``ocr``,
``reference``, ``onnx:DET.yaml``, ``http://HOST:PORT``). Run options: ``gold`` (path),
``gold_format``, ``images`` (folder), ``threads``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pingce.core.errors import SpecError
from pingce.core.sample_failure import FailRule
from pingce.core.spec import Indicator, SubjectSpec, Suite, validate_params
from pingce.labeling.options import LabelingOptions
from pingce.labeling.task_types import TYPES, canonical

if TYPE_CHECKING:
    from pingce.core.standard import Plan, RunContext

STANDARD_ID = "labeling"
CHUNK = 8


class LabelingStandard:
    id = STANDARD_ID
    title = "AI visual data automatic labeling systems"
    title_zh = "人工智能 视觉数据自动标注系统技术要求"
    options_model = LabelingOptions

    def failure_rules(self) -> list[FailRule]:
        """A labelled image fails when a person would have to fix it: a missed, spurious or
        wrongly classed object (detection), a wrong image class,
        a box to edit, delete or add (effort), or no pixel right (segmentation, whose quality
        the IoU tables show). The other per-image numbers (valid, ignored, latency) are counts,
        not verdicts."""
        return [
            FailRule("missing", ">", 0),
            FailRule("extra", ">", 0),
            FailRule("mismatched", ">", 0),
            FailRule("correct", "<", 1),
            FailRule("edited", ">", 0),
            FailRule("deleted", ">", 0),
            FailRule("added", ">", 0),
            FailRule("pixel_accuracy", "<=", 0),
        ]

    def indicators(self) -> list[Indicator]:
        from pingce.labeling.catalogue import INDICATOR_THRESHOLDS, METRICS

        return [
            Indicator(
                id=m.name,
                name=m.name,
                name_zh=m.name_zh,
                unit=m.unit,
                direction=m.direction,
                definition=m.definition,
                threshold=INDICATOR_THRESHOLDS.get(m.name),
            )
            for m in METRICS
        ]

    def validate_suite(self, suite: Suite) -> None:
        from pingce.labeling.tasks import TaskParams

        for t in suite.spec.tasks:
            if canonical(t.type) not in TYPES:
                raise SpecError(
                    f"{suite.source}: task {t.id!r}: unknown type {t.type!r}",
                    hint=f"one of: {', '.join(TYPES)}",
                )
            validate_params(TaskParams, t.model_dump(), f"{suite.source}: tasks.{t.id}")

    def open_subject(self, subject: SubjectSpec, options: dict[str, Any]) -> Any:
        from pingce.labeling.subjects import LabelerSubject, LabelsSubject

        if subject.scheme == "labels":
            return LabelsSubject(subject)
        if subject.scheme == "labeler":
            if options.get("images") is None:
                raise SpecError(
                    f"running {subject.raw!r} needs the images", hint="pass --images DIR"
                )
            return LabelerSubject(subject, options)
        raise SpecError(
            f"subject {subject.raw!r}: unknown scheme {subject.scheme!r}",
            hint="use labels:PATH[?format=coco] or labeler:shapes|ocr|reference|onnx:DET.yaml|http://HOST:PORT",
        )

    def plan(self, suite: Suite, subject: Any, options: dict[str, Any]) -> Plan:
        from pingce.labeling.planning import plan_tasks

        return plan_tasks(suite, subject, options)

    def execute(self, ctx: RunContext) -> None:
        from pingce.core.execute import run_units
        from pingce.labeling.runner import process_units

        for task in ctx.plan.tasks:
            run_units(
                ctx.store,
                ctx.run_id,
                task.task_id,
                task.units,
                lambda units: process_units(units, ctx.subject),
                chunk_size=CHUNK,
                progress=ctx.progress,
                description=f"labeling {task.task_id}",
            )

    def summarize(
        self, suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        from pingce.labeling.summary import summarize_labeling

        return summarize_labeling(suite, config, records)


def register() -> None:
    """Kept for callers of the old entry point; registration lives in `pingce.labeling.plugin`."""
    from pingce.labeling.plugin import register as register_plugin

    register_plugin()


__all__ = ["LabelingStandard", "register"]
