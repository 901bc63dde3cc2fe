"""The AI server system performance standard (GB/T 45087-2024), id "server-perf".

Subjects: a built-in workload (`builtin:digits`, `builtin:resnet50`, `builtin:bert-base`), a
TorchScript / torch.export file (`torch:F`), an ONNX model (`onnx:F.onnx`), a Python callable
(`python:module:function`), an HTTP endpoint (`http://host:port/path`), or an OpenAI-compatible
LLM server for `serve` tasks (`openai:http://host:port/v1?model=NAME`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pingce.core.errors import SpecError
from pingce.core.registry import commands, demos, metrics, standards
from pingce.core.spec import Indicator, SubjectSpec, Suite
from pingce.core.standard import Plan, PlannedTask, RunContext

STANDARD_ID = "server-perf"


class InferSubject:
    """A SUT with the samples it is driven with; opened once per run."""

    def __init__(self, subject: SubjectSpec, options: dict[str, Any]) -> None:
        from pingce.perf.sut import open_sut, sut_fingerprint

        self.spec = subject
        self.sut, self.data = open_sut(subject, options)
        self._fp = sut_fingerprint(self.sut, self.data)

    def fingerprint(self) -> dict[str, Any]:
        return self._fp

    def settings(self) -> dict[str, Any]:
        return {
            **self.sut.settings(),
            "dataset": self.data.name,
            "samples": len(self.data),
            "division": self.data.division,
            "reference_accuracy": self.data.reference_accuracy,
        }


class ServeSubject:
    """An OpenAI-compatible endpoint (`openai:http://host:port/v1?model=NAME`)."""

    def __init__(self, subject: SubjectSpec, options: dict[str, Any]) -> None:
        target = subject.target
        if not target.startswith(("http://", "https://")):
            raise SpecError(
                f"subject {subject.raw!r}: expected openai:http://host:port/v1?model=NAME"
            )
        self.base_url = target.rstrip("/")
        self.model = subject.params.get("model") or options.get("served_model") or ""
        if not self.model:
            raise SpecError(f"subject {subject.raw!r} names no model", hint="add ?model=NAME")
        self.api_key = options.get("api_key")

    def fingerprint(self) -> dict[str, Any]:
        return {"endpoint": self.base_url, "model": self.model}

    def settings(self) -> dict[str, Any]:
        return {"endpoint": self.base_url, "model": self.model}


def _task_handler(spec: Any, source: str) -> Any:
    from pingce.perf.tasks import AccuracyTask, ScenarioTask, ServerSearchTask

    table: dict[str, Any] = {
        "accuracy": AccuracyTask,
        "scenario": ScenarioTask,
        "server-search": ServerSearchTask,
    }
    try:
        from pingce.perf.extensions import EXTRA_TASKS

        table.update(EXTRA_TASKS)
    except ImportError:  # pragma: no cover - optional parts
        pass
    cls = table.get(spec.type)
    if cls is None:
        raise SpecError(
            f"{source}: tasks.{spec.id}.type: unknown server-perf task type {spec.type!r}",
            hint=f"one of {', '.join(sorted(table))}",
        )
    return cls(spec, source)


class PerfStandard:
    id = STANDARD_ID
    title = "AI server system performance testing (GB/T 45087-2024)"
    title_zh = "人工智能 服务器系统性能测试方法（GB/T 45087-2024）"

    def indicators(self) -> list[Indicator]:
        from pingce.perf.metrics import METRICS

        extra: list[Any] = []
        try:
            from pingce.perf.extensions import extra_metrics

            extra = extra_metrics()
        except ImportError:  # pragma: no cover
            pass
        return [m.indicator() for m in [*METRICS, *extra]]

    def validate_suite(self, suite: Suite) -> None:
        for spec in suite.spec.tasks:
            _task_handler(spec, suite.source)

    def open_subject(self, subject: SubjectSpec, options: dict[str, Any]) -> Any:
        if subject.scheme == "openai":
            return ServeSubject(subject, options)
        return InferSubject(subject, options)

    def plan(self, suite: Suite, subject: Any, options: dict[str, Any]) -> Plan:
        from pingce.core.measure import system_inventory

        tasks = [
            PlannedTask(spec.id, [], _task_handler(spec, suite.source)) for spec in suite.spec.tasks
        ]
        for t in tasks:
            needs = getattr(t.handler, "subject_kind", "infer")
            have = "serve" if isinstance(subject, ServeSubject) else "infer"
            if needs != "any" and needs != have:
                raise SpecError(
                    f"{suite.source}: task {t.task_id!r} ({t.handler.type}) needs "
                    f"{'an openai:http://… endpoint' if needs == 'serve' else 'a model SUT'}"
                )
        return Plan(tasks=tasks, settings={"inventory": system_inventory()})

    def execute(self, ctx: RunContext) -> None:
        for task in ctx.plan.tasks:
            task.handler.run(ctx)

    def summarize(
        self, suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        from pingce.perf.summary import summarize_perf

        return summarize_perf(suite, config, records)


def register() -> None:
    """Entry point of the `pingce.plugins` group for the server-perf standard."""
    if STANDARD_ID in standards._items:
        return
    from pingce.perf.cli import app
    from pingce.perf.demo import run_perf_demo
    from pingce.perf.metrics import METRICS

    standards.register(STANDARD_ID, PerfStandard())
    all_metrics = list(METRICS)
    try:
        from pingce.perf.extensions import extra_metrics

        all_metrics += extra_metrics()
    except ImportError:  # pragma: no cover
        pass
    for m in all_metrics:
        if m.name not in metrics._items:
            metrics.register(m.name, m)
    commands.register("perf", app)
    demos.register("20-perf", run_perf_demo)
