"""The compression-performance standard (testing methods for neural network model compression).

Subject: a baseline model; run option `variants` maps labels to compressed model references
(`pingce compress test` gives one, `pingce compress run` builds one per recipe) and `data` is
the labelled evaluation set. Per variant three tasks: size (compression ratios, FLOPs),
accuracy (per-sample records: accuracy drop with a CI against the budget, top-1 agreement,
SQNR, cosine) and latency (batch 1 and N: percentiles, throughput, speed-up with significance,
peak memory, energy where measurable).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pingce.compression.data import fit_split, load_eval_data
from pingce.compression.metrics import BY_NAME, register_metrics
from pingce.conversion.data import Dataset
from pingce.conversion.models import LoadedModel, TorchModel
from pingce.conversion.sections import _r
from pingce.conversion.standard import indicator_row, metric_rows
from pingce.conversion.tasks import shaped_inputs
from pingce.conversion.timing import compare_latency, speedup_statement
from pingce.core.errors import SpecError
from pingce.core.execute import Outcome, WorkUnit, run_units
from pingce.core.fingerprint import content_hash
from pingce.core.registry import commands, demos, standards
from pingce.core.spec import Indicator, SubjectSpec, Suite, validate_params
from pingce.core.standard import Plan, PlannedTask, RunContext, task_row
from pingce.core.store import records_by_task

DEFAULT_BUDGET = 0.01  # relative accuracy drop


class SizeParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    variant: str


class AccuracyParams(SizeParams):
    budget: float = Field(default=DEFAULT_BUDGET, ge=0, le=1)
    batch_size: int = Field(default=64, ge=1)
    limit: int | None = Field(default=None, ge=1)


class LatencyParams(SizeParams):
    batch_sizes: list[int] = Field(default=[1, 32], min_length=1)
    warmup: int = Field(default=3, ge=0)
    repeats: int = Field(default=20, ge=5)
    threads: int = Field(default=1, ge=1)


PARAMS = {
    "compression-size": SizeParams,
    "compression-accuracy": AccuracyParams,
    "compression-latency": LatencyParams,
}


class CompressionSubject:
    def __init__(
        self,
        baseline: LoadedModel,
        variants: dict[str, LoadedModel],
        data: Dataset,
        scored: np.ndarray | None = None,
    ) -> None:
        self.baseline = baseline
        self.variants = variants
        self.data = data
        # indices of `data` the accuracy tasks score: all, or those a fit split left over
        self.scored = np.arange(len(data)) if scored is None else scored

    def fingerprint(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline.fingerprint(),
            "data": self.data.sha256,
            "variants": {k: v.fingerprint() for k, v in sorted(self.variants.items())},
        }

    def settings(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline.ref.raw,
            "data": self.data.source,
            "n_samples": len(self.data),
            "variants": {k: v.ref.raw for k, v in self.variants.items()},
        }


def _unit(subject: CompressionSubject, task_id: str, sid: str, pos: int, payload: Any) -> WorkUnit:
    key = content_hash(subject.fingerprint(), task_id, sid)
    return WorkUnit(key=key, sample_id=sid, position=pos, payload=payload)


class CompressionTask:
    def __init__(self, spec: Any, where: str) -> None:
        if spec.type not in PARAMS:
            raise SpecError(
                f"{where}: task {spec.id}: unknown type {spec.type!r}",
                hint=f"one of: {', '.join(PARAMS)}",
            )
        self.spec = spec
        self.params: Any = validate_params(
            PARAMS[spec.type], spec.params, f"{where}: task {spec.id}"
        )

    def units(self, s: CompressionSubject) -> list[WorkUnit]:
        if self.params.variant not in s.variants:
            raise SpecError(
                f"task {self.spec.id}: no compressed model labelled {self.params.variant!r}"
            )
        tid = self.spec.id + content_hash(self.spec.params, length=8)
        if self.spec.type == "compression-accuracy":
            # sample ids name the index in the evaluation data, so a fit split's gaps show
            chosen = s.scored[: self.params.limit or len(s.scored)]
            return [_unit(s, tid, f"s{i:06d}", pos, int(i)) for pos, i in enumerate(chosen)]
        if self.spec.type == "compression-latency":
            return [_unit(s, tid, f"b{b}", i, b) for i, b in enumerate(self.params.batch_sizes)]
        return [_unit(s, tid, "model", 0, None)]

    def process(self, s: CompressionSubject, units: list[WorkUnit]) -> list[Outcome]:
        model = s.variants[self.params.variant]
        if self.spec.type == "compression-size":
            from pingce.compression.size import flops_report, size_report

            base, comp = size_report(s.baseline), size_report(model)
            flops = flops_report(s.baseline, comp, s.data.take(1).inputs, model)
            scores = {
                "cmp_ratio_file_bytes": base["file_bytes"] / comp["file_bytes"],
                "cmp_ratio_gzip_bytes": base["gzip_bytes"] / comp["gzip_bytes"],
                "cmp_ratio_params": base["parameters"] / max(comp["parameters"], 1),
                "cmp_ratio_nonzero_params": base["nonzero_parameters"]
                / max(comp["nonzero_parameters"], 1),
            }
            if flops.get("available"):
                scores["cmp_flops_reduction"] = flops["reduction"]
            for sizes in (base, comp):
                sizes.pop("densities")
                sizes.pop("weight_elements")
            return [Outcome(scores, {"baseline": base, "compressed": comp, "flops": flops})]
        if self.spec.type == "compression-latency":
            out = []
            for unit in units:
                feeds = shaped_inputs(s.data.inputs, unit.payload, None)
                r = compare_latency(
                    s.baseline,
                    model,
                    feeds,
                    batch=unit.payload,
                    warmup=self.params.warmup,
                    repeats=self.params.repeats,
                    threads=self.params.threads,
                )
                out.append(Outcome({"cmp_speedup": r["speedup"]["value"]}, r))
            return out
        idx = np.array([u.payload for u in units])
        feeds = {k: v[idx] for k, v in s.data.inputs.items()}
        b_out = s.baseline.run(feeds)[0].astype(np.float64)
        c_out = model.run(feeds)[0].astype(np.float64)
        outs = []
        for j, i in enumerate(idx):
            b, c = b_out[j].ravel(), c_out[j].ravel()
            denom = float(np.linalg.norm(b) * np.linalg.norm(c))
            scores: dict[str, Any] = {
                "cmp_top1_agreement": int(np.argmax(b) == np.argmax(c)),
                "cmp_sqnr_db": [float(b @ b), float((b - c) @ (b - c))],
                "cmp_cosine": float(b @ c) / denom if denom else 1.0,
            }
            if s.data.labels is not None:
                y = int(s.data.labels[i])
                cb, cc = int(np.argmax(b) == y), int(np.argmax(c) == y)
                scores.update(
                    cmp_accuracy_baseline=cb,
                    cmp_accuracy_compressed=cc,
                    cmp_accuracy_drop=[cb, cc],
                    cmp_rel_accuracy_drop=[cb, cc],
                )
            outs.append(
                Outcome(
                    scores,
                    {"pred_baseline": int(np.argmax(b)), "pred_compressed": int(np.argmax(c))},
                )
            )
        return outs


class CompressionStandard:
    id = "compression"
    title = "Neural network model compression performance"
    title_zh = "神经网络模型压缩性能测试"

    def indicators(self) -> list[Indicator]:
        return [
            m.indicator(DEFAULT_BUDGET if m.name == "cmp_rel_accuracy_drop" else None)
            for m in BY_NAME.values()
        ]

    def validate_suite(self, suite: Suite) -> None:
        for spec in suite.spec.tasks:
            CompressionTask(spec, suite.source)

    def open_subject(self, subject: SubjectSpec, options: dict[str, Any]) -> CompressionSubject:
        from pingce.compression.text import load_model_ref

        threads = options.get("threads")
        baseline = load_model_ref(subject.raw, threads=threads)
        variants = options.get("variants") or {}
        if not variants:
            raise SpecError(
                "no compressed model to test", hint="pass --compressed MODEL or --recipe"
            )
        loaded = {label: load_model_ref(ref, threads=threads) for label, ref in variants.items()}
        for model in loaded.values():
            # a traced wrapper (fp16/bf16 casts) names its input `x`; torch calls are
            # positional, so the baseline's names feed it the same arrays
            if (
                isinstance(model, TorchModel)
                and list(model.input_names) != list(baseline.input_names)
                and len(model.input_names) == len(baseline.input_names)
            ):
                model.input_names = list(baseline.input_names)
        data = load_eval_data(options.get("data"), baseline, options.get("image_size"))
        split = options.get("fit_split")
        scored = None
        if split:
            _, scored = fit_split(len(data), int(split["seed"]), float(split["fraction"]))
        return CompressionSubject(baseline, loaded, data, scored)

    def plan(self, suite: Suite, subject: Any, options: dict[str, Any]) -> Plan:
        tasks = []
        for spec in suite.spec.tasks:
            handler = CompressionTask(spec, suite.source)
            tasks.append(PlannedTask(spec.id, handler.units(subject), handler))
        return Plan(tasks=tasks)

    def execute(self, ctx: RunContext) -> None:
        for task in ctx.plan.tasks:
            run_units(
                ctx.store,
                ctx.run_id,
                task.task_id,
                task.units,
                lambda units, h=task.handler: h.process(ctx.subject, units),
                chunk_size=getattr(task.handler.params, "batch_size", 1),
                progress=ctx.progress,
                description=task.task_id,
            )

    def summarize(
        self, suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        by_task = records_by_task(records)
        tasks, indicators = [], []
        per_variant: dict[str, dict[str, Any]] = defaultdict(dict)
        for spec in suite["tasks"]:
            recs = by_task.get(spec["id"], [])
            if not recs:
                continue
            rows = metric_rows(recs, BY_NAME)
            if not rows:
                continue
            budget = spec.get("budget", DEFAULT_BUDGET)
            for name, row in rows.items():
                ind = indicator_row(BY_NAME[name], row, spec["id"], None)
                if name == "cmp_rel_accuracy_drop":  # the CI's upper end must fit the budget
                    ind["threshold"] = budget
                    ind["verdict"] = (
                        "pass"
                        if (row["ci_high"] if row["ci_high"] is not None else row["value"])
                        <= budget
                        else "fail"
                    )
                indicators.append(ind)
            primary = {
                "compression-size": "cmp_ratio_file_bytes",
                "compression-accuracy": "cmp_rel_accuracy_drop",
                "compression-latency": "cmp_speedup",
            }[spec["type"]]
            if primary not in rows:
                primary = next(iter(rows))
            # One dimension per variant, so the report groups a variant's tasks together.
            dimension = spec.get("variant", "compression")
            tasks.append(
                task_row(spec, len(recs), primary, rows, dimension=dimension, language="en")
            )
            v = per_variant[spec["variant"]]
            v.setdefault("rows", {}).update(rows)
            v["budget"] = budget
            if spec["type"] == "compression-size":
                v["size"] = recs[0]["data"]
            if spec["type"] == "compression-latency":
                v["latency"] = [r["data"] for r in recs]
        sections, notes, verdicts = _sections(per_variant)
        fitting = _fitting_note(config.get("options", {}))
        if fitting:
            notes.insert(0, fitting)
        passed = sum(verdicts.values())
        return {
            "tasks": tasks,
            "dimensions": [],
            "overall": {
                "score": passed / len(verdicts) if verdicts else None,
                "method": "fraction of variants whose relative accuracy drop (upper 95% CI) fits the budget",
            },
            "indicators": indicators,
            "samples": [],
            "notes": notes,
            "sections": sections,
            "extra": {"budget_verdicts": verdicts},
        }


def _fitting_note(options: dict[str, Any]) -> str | None:
    """Which data calibration / fine-tuning used, and that it was not scored (None when the
    run did not build its variants: `compress test` cannot know how they were made)."""
    split = options.get("fit_split")
    given = [
        f"{what} data {options[key]}"
        for what, key in (("calibration", "calib_data"), ("fine-tuning", "train_data"))
        if options.get(key)
    ]
    parts = []
    if split:
        uses = " and ".join(
            {"calib": "calibration", "train": "fine-tuning"}[u] for u in split["used_for"]
        )
        parts.append(
            f"{uses} used {split['n_fit']} samples split off the evaluation data (seeded "
            f"{split['fraction']:.0%}, seed {split['seed']}); accuracy is scored on the other "
            f"{split['n_scored']} only"
        )
    if given:
        parts.append(f"{', '.join(given)} (given separately)")
    if not parts:
        if "calib_data" not in options:
            return None
        return "No compressor fitted on data (no calibration or fine-tuning)."
    return "Fitting data: " + "; ".join(parts) + "."


def _sections(
    per_variant: dict[str, dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[str], dict[str, bool]]:
    table, latency_rows, notes = [], [], []
    verdicts: dict[str, bool] = {}
    points = []
    for label, v in per_variant.items():
        rows = v.get("rows", {})

        def val(name: str, rows: dict[str, Any] = rows) -> Any:
            return _r(rows[name]["value"]) if name in rows else None

        rel = rows.get("cmp_rel_accuracy_drop")
        verdict = None
        if rel is not None:
            upper = rel["ci_high"] if rel["ci_high"] is not None else rel["value"]
            verdict = upper <= v["budget"]
            verdicts[label] = verdict
        table.append(
            [
                label,
                val("cmp_ratio_file_bytes"),
                val("cmp_ratio_gzip_bytes"),
                val("cmp_ratio_params"),
                val("cmp_ratio_nonzero_params"),
                val("cmp_flops_reduction"),
                val("cmp_accuracy_baseline"),
                val("cmp_accuracy_compressed"),
                val("cmp_accuracy_drop"),
                f"{rel['value']:.4f} [{rel['ci_low']:.4f}, {rel['ci_high']:.4f}]"
                if rel and rel["ci_low"] is not None
                else None,
                None if verdict is None else ("pass" if verdict else "FAIL"),
                val("cmp_top1_agreement"),
                val("cmp_sqnr_db"),
                val("cmp_cosine"),
            ]
        )
        for lat in v.get("latency", []):
            b, c, sp = lat["source"], lat["target"], lat["speedup"]
            energy = lat["energy"].get("target", {}).get("j_per_inference")
            latency_rows.append(
                [
                    label,
                    lat["batch"],
                    lat["threads"],
                    _r(b["p50_ms"]),
                    _r(c["p50_ms"]),
                    _r(c["p90_ms"]),
                    _r(c["p99_ms"]),
                    _r(b["throughput"]),
                    _r(c["throughput"]),
                    f"{sp['value']:.2f} [{sp['ci_low']:.2f}, {sp['ci_high']:.2f}]",
                    "significant" if sp["significant"] else "not significant",
                    _r(lat["memory_mb"].get("target")),
                    _r(energy),
                ]
            )
            notes.append(speedup_statement(sp, f"{label}, batch {lat['batch']}"))
        flops = v.get("size", {}).get("flops", {})
        if flops.get("available"):
            how = (
                "counted on the compressed graph"
                if flops.get("counted_on") == "compressed graph"
                else "the baseline's op count (quantised or ONNX graph: precision changes keep "
                "the multiply-adds)"
            )
            if flops.get("sparsity_adjusted"):
                how += "; sparsity-adjusted: layers with zeroed weights count FLOPs × density"
            elif flops.get("not_sparsity_adjusted"):
                how += f"; zeroed weights not counted ({flops['not_sparsity_adjusted']})"
            notes.append(f"{label}: FLOPs reduction {flops['reduction']:.4f}, {how}.")
        if "cmp_ratio_file_bytes" in rows and "cmp_accuracy_compressed" in rows:
            points.append(
                (
                    label,
                    rows["cmp_ratio_file_bytes"]["value"],
                    rows["cmp_accuracy_compressed"]["value"],
                )
            )
    energy_reasons = {
        lat["energy"].get("target", {}).get("reason")
        for v in per_variant.values()
        for lat in v.get("latency", [])
    } - {None, ""}
    if energy_reasons:
        notes.append(f"Energy per inference not measured: {sorted(energy_reasons)[0]}.")
    sections: list[dict[str, Any]] = [
        {
            "id": "variants",
            "title": "Compressed variants",
            "title_zh": "压缩变体",
            "text": "Ratios are baseline / compressed. The budget check holds the upper end of the 95% "
            "bootstrap CI of the relative accuracy drop against the budget.",
            "table": {
                "columns": [
                    "variant",
                    "ratio (file bytes)",
                    "ratio (gzip bytes)",
                    "ratio (params)",
                    "ratio (non-zero params)",
                    "FLOPs reduction",
                    "baseline acc",
                    "compressed acc",
                    "abs drop",
                    "rel drop [95% CI]",
                    "budget",
                    "top-1 agreement",
                    "SQNR dB",
                    "cosine",
                ],
                "rows": table,
            },
        }
    ]
    if latency_rows:
        sections.append(
            {
                "id": "latency",
                "title": "Latency, throughput, memory, energy",
                "title_zh": "时延、吞吐、内存、能耗",
                "text": "Milliseconds from alternating calls after warm-up with fixed threads; speed-up = "
                "baseline / compressed with a 95% paired-bootstrap CI. Memory: peak RSS increase "
                "during the compressed model's warm-up calls (MiB). Energy: J per inference (RAPL/NVML).",
                "table": {
                    "columns": [
                        "variant",
                        "batch",
                        "threads",
                        "baseline p50",
                        "compressed p50",
                        "compressed p90",
                        "compressed p99",
                        "baseline items/s",
                        "compressed items/s",
                        "speed-up [95% CI]",
                        "significance",
                        "peak mem MiB",
                        "J/inference",
                    ],
                    "rows": latency_rows,
                },
            }
        )
    if points:
        sections[0]["charts"] = [
            {
                "kind": "lines",
                "title": "Size / accuracy trade-off",
                "x_label": "compression ratio (file bytes)",
                "y_label": "accuracy",
                "x_log": False,
                "y_log": False,
                "series": [{"name": label, "x": [x], "y": [y]} for label, x, y in points],
            }
        ]
    return sections, notes, verdicts


def register() -> None:
    if "compression" in standards._items:
        return
    register_metrics()
    standards.register("compression", CompressionStandard())
    from pingce.compression.cli import app
    from pingce.compression.demo import run_compression_demo

    commands.register("compress", app)
    demos.register("30-compression", run_compression_demo)
