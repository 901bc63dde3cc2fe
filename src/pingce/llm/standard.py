"""The large-model evaluation standard (GB/T 45288.2-2025): suite checks, subjects, planning,
execution. Registration is in `pingce.llm.plugin`, the report summary in `pingce.llm.summary`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pingce.backends.openers import open_hf, open_openai  # noqa: F401  (old import path)
from pingce.core.errors import SpecError
from pingce.core.registry import backends, task_types
from pingce.llm.options import LLMOptions

if TYPE_CHECKING:  # the standard object is built at every CLI start: keep its module light
    from pingce.core.spec import Indicator, SubjectSpec, Suite, TaskSpec
    from pingce.core.standard import Plan, RunContext

# Moved to pingce.llm.summary / pingce.llm.indicators; still importable from here.
_MOVED = {
    "SAMPLES_PER_TASK_IN_REPORT": "pingce.llm.summary",
    "BOOTSTRAP_RESAMPLES": "pingce.llm.summary",
    "EFFICIENCY_INDICATORS": "pingce.llm.indicators",
    "SCORE_INDICATORS": "pingce.llm.indicators",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _task_class(spec: TaskSpec, suite: Suite) -> Any:
    try:
        return task_types.get(spec.type)
    except SpecError as exc:
        raise SpecError(
            f"{suite.source}: tasks.{spec.id}.type: {exc.message}", hint=exc.hint
        ) from None


def _configure_sandbox(handler: Any, options: dict[str, Any]) -> None:
    configure = getattr(handler, "configure_sandbox", None)
    if configure is not None:
        configure(options)


def _settings(options: dict[str, Any]) -> Any:
    from pingce.llm.tasks.base import RunSettings

    opts = LLMOptions.of(options)
    return RunSettings(
        seed=opts.seed,
        num_fewshot=opts.num_fewshot,
        limit=opts.limit,
        fewshot_trials=opts.fewshot_trials,
    )


class LLMStandard:
    id = "llm"
    title = "Large-model evaluation (GB/T 45288.2-2025)"
    title_zh = "大模型评测（GB/T 45288.2-2025 评测指标与方法）"
    options_model = LLMOptions
    # Leads the notes of demo runs (options demo: true).
    demo_note = (
        "Demo run: the subject is pingce's tiny demo model (a small Qwen2-architecture network, "
        "randomly initialised and trained for a few dozen steps on local text). Near-chance scores "
        "are expected; the run demonstrates the pipeline, not a language model."
    )

    def indicators(self) -> list[Indicator]:
        from pingce.llm.catalogue_metrics import CATALOGUE_METRICS
        from pingce.llm.indicators import EFFICIENCY_INDICATORS, SCORE_INDICATORS
        from pingce.llm.metrics import _CATALOGUE

        metric_inds = [
            m.indicator(
                unit=m.unit or ("0-100" if m.scale == 100 else "0-1" if m.scale == 1 else "")
            )
            for m in [*_CATALOGUE, *CATALOGUE_METRICS]
        ]
        return SCORE_INDICATORS + metric_inds + EFFICIENCY_INDICATORS

    def validate_suite(self, suite: Suite) -> None:
        for spec in suite.spec.tasks:
            try:
                _task_class(spec, suite)(spec, suite)
            except SpecError as exc:
                if exc.message.startswith(suite.source):
                    raise
                # e.g. an unknown filter or metric: say which file and task named it.
                raise SpecError(
                    f"{suite.source}: tasks.{spec.id}: {exc.message}", hint=exc.hint
                ) from None

    def check_data(self, suite: Suite, options: dict[str, Any]) -> None:
        """Load every dataset and render every prompt before the model loads."""
        settings = _settings(options)
        self._checked = (
            suite.sha256,
            settings,
            [_task_class(spec, suite)(spec, suite) for spec in suite.spec.tasks],
        )
        for handler in self._checked[2]:
            _configure_sandbox(handler, options)  # refuse unisolated code before the model loads
            handler.prepare(settings)

    def open_subject(self, subject: SubjectSpec, options: dict[str, Any]) -> Any:
        if subject.scheme not in backends:
            raise SpecError(
                f"model {subject.raw!r}: the llm standard has no {subject.scheme!r} backend",
                hint=f"use one of: {', '.join(f'{b}:' for b in backends.names())}",
            )
        return backends.get(subject.scheme)(subject, options)

    def plan(self, suite: Suite, subject: Any, options: dict[str, Any]) -> Plan:
        from pingce.core.standard import Plan, PlannedTask

        settings = _settings(options)
        checked = getattr(self, "_checked", None)
        if checked is not None and checked[:2] == (suite.sha256, settings):
            handlers = checked[2]  # already loaded and rendered by check_data
        else:
            handlers = [_task_class(spec, suite)(spec, suite) for spec in suite.spec.tasks]
        self._checked = None
        for h in handlers:
            _configure_sandbox(h, options)
        fingerprint = subject.fingerprint()
        tasks = [PlannedTask(h.id, h.units(settings, fingerprint), h) for h in handlers]
        return Plan(
            tasks=tasks,
            settings={
                "seed": settings.seed,
                "num_fewshot": settings.num_fewshot,
                "limit": settings.limit,
                "tasks": {t.task_id: t.handler.provenance for t in tasks},
            },
        )

    def execute(self, ctx: RunContext) -> None:
        from pingce.core.execute import run_units
        from pingce.llm.failures import forget_failed, raise_if_failed

        lm = ctx.subject
        if hasattr(lm, "use_store"):  # served backends keep finished requests in the store
            lm.use_store(ctx.store)
        chunk = max(1, int(getattr(lm, "batch_size", 16))) * 8
        from pingce.llm.ray_executor import open_pool, task_factory

        pool = open_pool(ctx)  # None unless options["executor"] is ray or ray://HOST:PORT
        try:
            for task in ctx.plan.tasks:
                forget_failed(ctx.store, ctx.run_id, task.task_id)  # resume retries these
                if pool is not None:  # same chunks on Ray actors; this process writes
                    pool.run_units(
                        ctx.store,
                        ctx.run_id,
                        task.task_id,
                        task.units,
                        task_factory(ctx, pool, task.handler),
                        chunk_size=chunk,
                        progress=ctx.progress,
                        description=task.task_id,
                    )
                    continue
                run_units(
                    ctx.store,
                    ctx.run_id,
                    task.task_id,
                    task.units,
                    lambda units, h=task.handler: h.run(lm, units),
                    chunk_size=chunk,
                    progress=ctx.progress,
                    description=task.task_id,
                )
        finally:
            if pool is not None:
                pool.close()
        raise_if_failed(ctx.store, ctx.run_id)

    def summarize(
        self, suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        from pingce.llm.summary import summarize

        return summarize(suite, config, records)


def register() -> None:
    """The old entry point; registration lives in `pingce.llm.plugin`."""
    from pingce.llm.plugin import register as register_plugin

    register_plugin()
