"""The AI server system performance standard (GB/T 45087-2024), id "server-perf".

Subjects: a built-in workload (`builtin:digits`, `builtin:resnet50`, `builtin:bert-base`), a
TorchScript / torch.export file (`torch:F`), an ONNX model (`onnx:F.onnx`), a Python callable
(`python:module:function`), an HTTP endpoint (`http://host:port/path`), or an OpenAI-compatible
LLM server for `serve` tasks (`openai:http://host:port/v1?model=NAME`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field

from pingce.core.errors import SpecError
from pingce.core.options import CommonOptions
from pingce.core.registry import task_types
from pingce.perf.names import STANDARD_ID, TASK_PREFIX, task_type_name

if TYPE_CHECKING:
    from pingce.core.spec import Indicator, SubjectSpec, Suite
    from pingce.core.standard import Plan, RunContext


class PerfOptions(CommonOptions):
    """The options a server-perf run stores and hashes (besides seed, limit, demo)."""

    # SUT batch size (Offline, accuracy); None: the subject's ?batch_size= or 32.
    batch_size: int | None = Field(default=None, ge=1)
    # SUT compute threads; None: the subject's ?threads= or the library default.
    threads: int | None = Field(default=None, ge=1)
    # Torch SUTs: cpu, cuda[:N] or auto; None: the subject's ?device= or cpu.
    device: str | None = None
    # `serve` subjects without ?model=NAME: the model name the server expects.
    served_model: str | None = None
    # `serve` subjects: the environment variable holding the endpoint's API key (the key
    # itself is never stored with a run).
    api_key_env: str | None = None


class InferSubject:
    """A SUT with the samples it is driven with; opened once per run."""

    def __init__(self, subject: SubjectSpec, options: PerfOptions) -> None:
        from pingce.perf.sut import open_sut, sut_fingerprint

        self.spec = subject
        sut_options = {
            "batch_size": options.batch_size,
            "threads": options.threads,
            "device": options.device,
        }
        self.sut, self.data = open_sut(subject, sut_options)
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

    def __init__(self, subject: SubjectSpec, options: PerfOptions) -> None:
        target = subject.target
        if not target.startswith(("http://", "https://")):
            raise SpecError(
                f"subject {subject.raw!r}: expected openai:http://host:port/v1?model=NAME"
            )
        self.base_url = target.rstrip("/")
        self.model = subject.params.get("model") or options.served_model or ""
        if not self.model:
            raise SpecError(f"subject {subject.raw!r} names no model", hint="add ?model=NAME")
        self.api_key: str | None = None
        if options.api_key_env:
            self.api_key = os.environ.get(options.api_key_env)
            if not self.api_key:
                raise SpecError(
                    f"api_key_env: environment variable {options.api_key_env!r} is not set"
                )

    def fingerprint(self) -> dict[str, Any]:
        return {"endpoint": self.base_url, "model": self.model}

    def settings(self) -> dict[str, Any]:
        return {"endpoint": self.base_url, "model": self.model}


def _task_handler(spec: Any, source: str) -> Any:
    name = task_type_name(spec.type)
    if name not in task_types:
        known = [n for n in task_types.names() if n.startswith(TASK_PREFIX)]
        raise SpecError(
            f"{source}: tasks.{spec.id}.type: unknown server-perf task type {spec.type!r}",
            hint=f"one of {', '.join(known)}",
        )
    return task_types.get(name)(spec, source)


class PerfStandard:
    id = STANDARD_ID
    options_model = PerfOptions
    # The dashboard ranks this standard's suites (no overall score) by the first of these a
    # suite reports: throughput before latency, never the accuracy gate.
    leaderboard_metrics = (
        "perf_samples_per_s",
        "perf_max_valid_qps",
        "serve_output_token_throughput",
        "serve_request_throughput",
        "train_samples_per_s",
        "perf_qps",
        "perf_latency_p90_ms",
        "perf_latency_p99_ms",
    )
    title = "AI server system performance testing (GB/T 45087-2024)"
    title_zh = "人工智能 服务器系统性能测试方法（GB/T 45087-2024）"

    def indicators(self) -> list[Indicator]:
        from pingce.perf.metrics import ALL_METRICS

        return [m.indicator() for m in ALL_METRICS]

    def validate_suite(self, suite: Suite) -> None:
        for spec in suite.spec.tasks:
            _task_handler(spec, suite.source)

    def open_subject(self, subject: SubjectSpec, options: dict[str, Any]) -> Any:
        opts = PerfOptions.of(options)
        if subject.scheme == "openai":
            return ServeSubject(subject, opts)
        return InferSubject(subject, opts)

    def plan(self, suite: Suite, subject: Any, options: dict[str, Any]) -> Plan:
        from pingce.core.measure import system_inventory
        from pingce.core.standard import Plan, PlannedTask

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
    """Kept for callers of the old entry point; registration lives in pingce.perf.plugin."""
    from pingce.perf.plugin import register as register_plugin

    register_plugin()
