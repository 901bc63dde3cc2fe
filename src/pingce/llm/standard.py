"""The large-model evaluation standard (GB/T 45288.2-2025): tasks, backends, indicators."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pingce.core.errors import SpecError
from pingce.core.execute import run_units
from pingce.core.registry import backends, standards, task_types
from pingce.core.spec import Indicator, SubjectSpec, Suite, TaskSpec
from pingce.core.standard import Plan, PlannedTask, RunContext, task_row
from pingce.core.store import records_by_task
from pingce.llm.metrics import get_metric
from pingce.llm.taxonomy import rollup

SAMPLES_PER_TASK_IN_REPORT = 100
BOOTSTRAP_RESAMPLES = 1000

EFFICIENCY_INDICATORS = [
    Indicator(
        id="requests",
        name="Requests",
        name_zh="请求数",
        unit="",
        definition="Model calls made for the run (one per choice for multiple choice).",
    ),
    Indicator(
        id="tokens_in",
        name="Input tokens",
        name_zh="输入词元数",
        unit="tokens",
        definition="Prompt tokens processed, summed over requests.",
    ),
    Indicator(
        id="tokens_out",
        name="Output tokens",
        name_zh="输出词元数",
        unit="tokens",
        definition="Tokens generated, summed over requests: every token generated for the "
        "output, the end-of-sequence token it stopped on included (not batch padding); the "
        "local and served backends count alike.",
    ),
    Indicator(
        id="latency_per_sample_ms",
        name="Latency per sample",
        name_zh="单样本时延",
        unit="ms",
        direction="lower",
        definition="Mean wall time per sample; batched work is shared equally among its samples.",
    ),
    Indicator(
        id="tokens_per_second",
        name="Throughput",
        name_zh="吞吐量",
        unit="tokens/s",
        definition="(input + output tokens) / total model time.",
    ),
]
SCORE_INDICATORS = [
    Indicator(
        id="overall_score",
        name="Overall score",
        name_zh="综合得分",
        unit="0-1",
        definition="Weighted mean of the dimension scores (see the report for weights).",
    ),
    Indicator(
        id="dimension_score",
        name="Dimension score",
        name_zh="能力维度得分",
        unit="0-1",
        definition="Weighted mean of a capability dimension's task scores, each scaled to 0-1.",
    ),
]


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

    return RunSettings(
        seed=int(options.get("seed", 1234)),
        num_fewshot=options.get("num_fewshot"),
        limit=options.get("limit"),
        fewshot_trials=options.get("fewshot_trials"),
    )


class LLMStandard:
    id = "llm"
    title = "Large-model evaluation (GB/T 45288.2-2025)"
    title_zh = "大模型评测（GB/T 45288.2-2025 评测指标与方法）"

    def indicators(self) -> list[Indicator]:
        from pingce.llm.catalogue_metrics import CATALOGUE_METRICS
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
                        ctx.store, ctx.run_id, task.task_id, task.units,
                        task_factory(ctx, pool, task.handler),
                        chunk_size=chunk, progress=ctx.progress, description=task.task_id,
                    )  # fmt: skip
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
        from pingce.llm.failures import failure_note, partition_failed
        from pingce.llm.served_report import served_summary

        seed = int(config.get("options", {}).get("seed", 1234))
        records, failed = partition_failed(records)
        by_task = records_by_task(records)
        task_rows: list[dict[str, Any]] = []
        indicators: list[dict[str, Any]] = []
        samples: list[dict[str, Any]] = []
        samples_kept: dict[str, dict[str, int]] = {}
        for spec in suite["tasks"]:
            recs = by_task.get(spec["id"], [])
            if not recs:
                continue
            cls = task_types.get(spec["type"])
            names = spec.get("metrics") or list(cls.default_metrics)
            primary = spec.get("primary_metric") or names[0]
            metric_rows = {}
            for name in names:
                mdef = get_metric(name)
                items = [r["scores"][name] for r in recs]
                row = mdef.row(items, seed=seed, n_resamples=BOOTSTRAP_RESAMPLES)
                metric_rows[name] = row
                indicators.append(_indicator_row(mdef, row, scope=spec["id"]))
            prim = get_metric(primary)
            value = metric_rows[primary]["value"]
            scaled = value / prim.scale if prim.scale > 0 and prim.direction == "higher" else None
            task_rows.append(
                task_row(
                    spec,
                    len(recs),
                    primary,
                    metric_rows,
                    weight=float(spec.get("weight", 1.0)),
                    scaled=scaled,
                )
            )
            kept = sorted(recs, key=lambda r: r.get("position", 0))[:SAMPLES_PER_TASK_IN_REPORT]
            samples_kept[spec["id"]] = {"kept": len(kept), "total": len(recs)}
            for r in kept:
                d = r["data"]
                samples.append(
                    {
                        "task": spec["id"],
                        "sample_id": r["sample_id"],
                        "prompt": d.get("prompt", ""),
                        "output": d.get("output", ""),
                        "extracted": d.get("extracted"),
                        "reference": d.get("reference", ""),
                        "scores": {
                            k: v for k, v in r["scores"].items() if isinstance(v, int | float)
                        },
                        "data": {
                            k: v
                            for k, v in d.items()
                            if k not in {"prompt", "output", "extracted", "reference"}
                        },
                    }
                )
        dimensions, overall = rollup(task_rows)
        run_inds = [
            _plain_indicator(
                SCORE_INDICATORS[0], overall["score"], "run", sum(t["n_samples"] for t in task_rows)
            )
        ]
        for dim in dimensions:
            ind = SCORE_INDICATORS[1]
            row = _plain_indicator(ind, dim["score"], dim["id"], None)
            row["id"] = f"dimension_score.{dim['id']}"
            row["name"] = f"{dim['name']} score"
            row["name_zh"] = f"{dim['name_zh']}得分"
            run_inds.append(row)
        efficiency = _efficiency(records)
        for ind in EFFICIENCY_INDICATORS:
            run_inds.append(_plain_indicator(ind, efficiency[ind.id], "run", len(records)))
        for t in task_rows:
            t.pop("scaled")
            t.pop("weight")
        notes = []
        unscaled = [t["id"] for t in task_rows if get_metric(t["primary_metric"]).scale == 0]
        if unscaled:
            notes.append(
                f"Not rolled up into dimension scores (no fixed scale): {', '.join(unscaled)}."
            )
        cut = {t: k for t, k in samples_kept.items() if k["kept"] < k["total"]}
        if cut:
            notes.append(
                f"The report's sample table keeps the first {SAMPLES_PER_TASK_IN_REPORT} "
                "samples of each task (by position): "
                + ", ".join(f"{t} {k['kept']} of {k['total']}" for t, k in cut.items())
                + "; scores use every sample, and `pingce export RUN_ID --records` writes "
                "every record."
            )
        notes.extend(failure_note(failed))
        from pingce.llm.tasks.code_generation import sandbox_notes

        notes.extend(sandbox_notes(records))
        served = served_summary(records, failed, config)
        notes.extend(served["notes"])
        # Calibration, robustness, few-shot spread, contamination and conformance verdicts.
        from pingce.llm.report_extras import report_extras

        more = report_extras(suite, config, records)
        return {
            "tasks": task_rows,
            "dimensions": dimensions,
            "overall": overall,
            "indicators": run_inds + indicators + more["indicators"],
            "samples": samples,
            "notes": notes + more["notes"],
            "sections": served["sections"] + more["sections"],
            "extra": {
                "efficiency": efficiency,
                **served["extra"],
                "catalogue": more["extra"],
                "samples_kept": samples_kept,
            },
        }


def _indicator_row(mdef: Any, row: dict[str, Any], scope: str) -> dict[str, Any]:
    unit = row["unit"] or ("0-100" if mdef.scale == 100 else "0-1" if mdef.scale == 1 else "")
    return mdef.indicator_row(row, scope, unit=unit)


def _plain_indicator(
    ind: Indicator, value: float | None, scope: str, n: int | None
) -> dict[str, Any]:
    verdict = None
    if ind.threshold is not None and value is not None:
        ok = value >= ind.threshold if ind.direction == "higher" else value <= ind.threshold
        verdict = "pass" if ok else "fail"
    return {
        "id": ind.id,
        "name": ind.name,
        "name_zh": ind.name_zh,
        "unit": ind.unit,
        "direction": ind.direction,
        "definition": ind.definition,
        "value": value,
        "stderr": None,
        "ci_low": None,
        "ci_high": None,
        "n": n,
        "scope": scope,
        "threshold": ind.threshold,
        "verdict": verdict,
    }


def _efficiency(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    usage = [r["data"].get("usage", {}) for r in records]
    tokens_in = float(sum(u.get("tokens_in", 0) for u in usage))
    tokens_out = float(sum(u.get("tokens_out", 0) for u in usage))
    seconds = float(sum(u.get("seconds", 0.0) for u in usage))
    return {
        "requests": float(sum(u.get("requests", 0) for u in usage)),
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "latency_per_sample_ms": 1000.0 * seconds / len(usage) if usage else 0.0,
        "tokens_per_second": (tokens_in + tokens_out) / seconds if seconds > 0 else 0.0,
        "model_seconds": seconds,
    }


def open_hf(subject: SubjectSpec, options: dict[str, Any]) -> Any:
    from pingce.backends.hf import HFCausalLM

    return HFCausalLM(
        subject.target,
        device=str(options.get("device", subject.params.get("device", "auto"))),
        dtype=str(options.get("dtype", subject.params.get("dtype", "auto"))),
        batch_size=options.get("batch_size", 16),
        threads=options.get("threads"),
        max_length=options.get("max_length"),
        trust_remote_code=bool(options.get("trust_remote_code", False)),
        revision=subject.params.get("revision"),
        weight_only=subject.params.get("weight_only", "auto"),
    )


def open_openai(subject: SubjectSpec, options: dict[str, Any]) -> Any:
    # Imported on use: the HTTP stack (aiohttp) costs ~0.1 s at every CLI start otherwise.
    from pingce.backends.openai import open_openai as open_served

    return open_served(subject, options)


def register() -> None:
    """Entry point of the `pingce.plugins` group for the llm standard."""
    # Importing the task modules registers their task types, metrics and filters.
    from pingce.core.registry import demos
    from pingce.llm import filters, metrics  # noqa: F401
    from pingce.llm.demo import run_llm_demo, run_served_demo
    from pingce.llm.tasks import generative, judged, multiple_choice, perplexity  # noqa: F401

    if "llm" not in standards._items:
        standards.register("llm", LLMStandard())
        backends.register("hf", open_hf)
        demos.register("10-llm", run_llm_demo)
        demos.register("12-llm-served", run_served_demo)
    if "openai" not in backends._items:  # `openai://HOST:PORT/v1?model=NAME` subjects
        backends.register("openai", open_openai)
    from pingce.llm import catalogue  # built-in benchmarks, safety, robustness, contamination

    catalogue.register()
