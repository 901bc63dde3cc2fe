"""The conversion standard's task types (registered in `pingce.core.registry.task_types`;
the old `conversion-*` names stay aliases); each turns into work units and stored records.

- `conversion.checks`: onnx.checker, shape inference, operator coverage (one record).
- `conversion.numerics`: source vs converted outputs per sample over the dataset.
- `conversion.shapes`: both models on several batch sizes and sequence lengths.
- `conversion.divergence`: intermediate outputs layer by layer (one record).
- `conversion.performance`: latency of both models at each batch size (one record each).
- `conversion.zoo`: convert and verify every zoo model (one record per model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pingce.conversion import numerics as nm
from pingce.core.errors import SpecError
from pingce.core.execute import Outcome, WorkUnit
from pingce.core.fingerprint import content_hash
from pingce.core.spec import TaskSpec, validate_params
from pingce.models.latency import shaped_inputs
from pingce.models.loaded import LoadedModel, OnnxModel


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NumericsParams(_Params):
    rtol: float = Field(default=nm.DEFAULT_RTOL, ge=0)
    atol: float = Field(default=nm.DEFAULT_ATOL, ge=0)
    topk: int = Field(default=5, ge=1)
    batch_size: int = Field(default=32, ge=1)
    limit: int | None = Field(default=None, ge=1)


class ShapesParams(_Params):
    rtol: float = Field(default=nm.DEFAULT_RTOL, ge=0)
    atol: float = Field(default=nm.DEFAULT_ATOL, ge=0)
    batch_sizes: list[int] = Field(default=[1, 2, 7, 16], min_length=1)
    seq_lens: list[int] = Field(default=[4, 8, 33], min_length=1)


class DivergenceParams(_Params):
    rtol: float = Field(default=nm.DEFAULT_RTOL, ge=0)
    atol: float = Field(default=nm.DEFAULT_ATOL, ge=0)
    samples: int = Field(default=4, ge=1)


class PerformanceParams(_Params):
    batch_sizes: list[int] = Field(default=[1, 32], min_length=1)
    warmup: int = Field(default=3, ge=0)
    repeats: int = Field(default=20, ge=5)
    threads: int = Field(default=1, ge=1)


class ZooParams(_Params):
    exporter: str = Field(default="dynamo", pattern="^(dynamo|torchscript)$")
    opset: int = Field(default=18, ge=7)
    models: list[str] | None = None
    rtol: float = Field(default=nm.DEFAULT_RTOL, ge=0)
    atol: float = Field(default=nm.DEFAULT_ATOL, ge=0)
    samples: int = Field(default=16, ge=1)


class ChecksParams(_Params):
    pass


def _unit(fp: Any, task: TaskSpec, sample_id: str, position: int, payload: Any) -> WorkUnit:
    key = content_hash(fp, task.id, canonical_type(task.type), task.params, sample_id)
    return WorkUnit(key=key, sample_id=sample_id, position=position, payload=payload)


def _error_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return f"{type(exc).__name__}: {(lines[0] if lines else '')[:300]}"


class ConversionTask:
    """Base: validated params plus the spec; subclasses build units and process them."""

    params_model: type[_Params] = ChecksParams
    type_name = ""  # conversion.<kind>, as registered in pingce.core.registry.task_types
    legacy = ""  # the name suites used before task types were namespaced

    def __init__(self, spec: TaskSpec, where: str) -> None:
        self.spec = spec
        self.params: Any = validate_params(
            self.params_model, spec.params, f"{where}: task {spec.id}"
        )

    def units(self, subject: Any) -> list[WorkUnit]:
        return [_unit(subject.fingerprint(), self.spec, "model", 0, None)]

    def process(self, subject: Any, units: list[WorkUnit]) -> list[Outcome]:
        raise NotImplementedError


class ChecksTask(ConversionTask):
    type_name = "conversion.checks"
    legacy = "conversion-checks"

    def process(self, subject: Any, units: list[WorkUnit]) -> list[Outcome]:
        from pingce.conversion.checks import checker, operator_coverage, shape_inference

        target = subject.target
        if not isinstance(target, OnnxModel):
            data = {"skipped": f"the target is a {target.kind} model; checks apply to ONNX"}
            return [Outcome(scores={}, data=data) for _ in units]
        chk = checker(target.path)
        shp = shape_inference(target.path)
        cov = operator_coverage(target.path)
        scores = {
            "conv_checker_pass": int(chk["ok"]),
            "conv_shape_inference_pass": int(shp["ok"]),
            "conv_op_coverage": cov["coverage"],
        }
        return [Outcome(scores, {"checker": chk, "shape_inference": shp, "coverage": cov})]


class NumericsTask(ConversionTask):
    type_name = "conversion.numerics"
    legacy = "conversion-numerics"
    params_model = NumericsParams

    def units(self, subject: Any) -> list[WorkUnit]:
        n = len(subject.data)
        if self.params.limit:
            n = min(n, self.params.limit)
        fp = subject.fingerprint()
        return [_unit(fp, self.spec, f"s{i:06d}", i, i) for i in range(n)]

    def process(self, subject: Any, units: list[WorkUnit]) -> list[Outcome]:
        p = self.params
        idx = np.array([u.payload for u in units])
        feeds = {k: v[idx] for k, v in subject.data.inputs.items()}
        names = subject.output_names
        try:
            src = subject.source.run(feeds)
            tgt = subject.target.run(feeds)
        except Exception as exc:  # a converted model that cannot run is a finding, not a crash
            err = _error_line(exc)
            return [Outcome({"conv_allclose_rate": 0}, {"error": err}) for _ in units]
        per_sample = nm.compare_batch(src, tgt, names, rtol=p.rtol, atol=p.atol, topk=p.topk)
        labels = subject.data.labels
        outcomes = []
        for j, per_output in enumerate(per_sample):
            total = nm.combine_outputs(per_output)
            if "shape_mismatch" in total:
                outcomes.append(Outcome({"conv_allclose_rate": 0}, {"outputs": per_output}))
                continue
            scores: dict[str, Any] = {
                "conv_max_abs_err": total["max_abs"],
                "conv_max_rel_err": total["max_rel"],
                "conv_mean_abs_err": [total["sum_abs"], total["n"]],
                "conv_mean_rel_err": [total["sum_rel"], total["n"]],
                "conv_rmse": [total["sse"], total["n"]],
                "conv_rel_l2": [total["sse"], total["ref_sq"]],
                "conv_cosine": total["cosine"],
                "conv_allclose_rate": total["allclose"],
            }
            if "kl" in total:
                scores["conv_kl"] = total["kl"]
                scores["conv_top1_agreement"] = total["top1"]
                scores["conv_topk_agreement"] = total["topk"]
                if labels is not None:
                    y = int(labels[idx[j]])
                    c_src = int(total["pred_source"] == y)
                    c_tgt = int(total["pred_target"] == y)
                    scores["conv_accuracy_source"] = c_src
                    scores["conv_accuracy_target"] = c_tgt
                    scores["conv_accuracy_delta"] = [c_src, c_tgt]
            outcomes.append(Outcome(scores, {"outputs": per_output}))
        return outcomes


def has_sequence_input(data: Any) -> bool:
    return any(v.ndim == 2 and np.issubdtype(v.dtype, np.integer) for v in data.inputs.values())


class ShapesTask(ConversionTask):
    type_name = "conversion.shapes"
    legacy = "conversion-shapes"
    params_model = ShapesParams

    def units(self, subject: Any) -> list[WorkUnit]:
        fp = subject.fingerprint()
        seqs: list[int | None] = (
            list(self.params.seq_lens) if has_sequence_input(subject.data) else [None]
        )
        combos = [(b, s) for b in self.params.batch_sizes for s in seqs]
        return [
            _unit(fp, self.spec, f"b{b}" + (f"-l{s}" if s else ""), i, (b, s))
            for i, (b, s) in enumerate(combos)
        ]

    def process(self, subject: Any, units: list[WorkUnit]) -> list[Outcome]:
        out = []
        for unit in units:
            batch, seq = unit.payload
            feeds = shaped_inputs(subject.data.inputs, batch, seq)
            data: dict[str, Any] = {"batch": batch, "seq": seq}
            try:
                src = subject.source.run(feeds)
            except Exception as exc:
                data["error"] = f"source: {_error_line(exc)}"
                out.append(Outcome({}, data))  # the source itself cannot take this shape
                continue
            try:
                tgt = subject.target.run(feeds)
            except Exception as exc:
                data["error"] = f"target: {_error_line(exc)}"
                out.append(Outcome({"conv_shape_pass_rate": 0}, data))
                continue
            samples = nm.compare_batch(
                src, tgt, subject.output_names, rtol=self.params.rtol, atol=self.params.atol
            )
            totals = [nm.combine_outputs(s) for s in samples]
            ok = all(t["allclose"] for t in totals)
            data["max_abs"] = max((t.get("max_abs", float("inf")) for t in totals), default=0.0)
            data["max_rel"] = max((t.get("max_rel", float("inf")) for t in totals), default=0.0)
            data["output_shapes"] = [list(np.shape(t)) for t in tgt]
            out.append(Outcome({"conv_shape_pass_rate": int(ok)}, data))
        return out


class DivergenceTask(ConversionTask):
    type_name = "conversion.divergence"
    legacy = "conversion-divergence"
    params_model = DivergenceParams

    def process(self, subject: Any, units: list[WorkUnit]) -> list[Outcome]:
        from pingce.conversion.divergence import LayersUnavailable, first_divergence, layer_table

        feeds = subject.data.take(self.params.samples).inputs
        try:
            rows = layer_table(
                subject.source, subject.target, feeds, rtol=self.params.rtol, atol=self.params.atol
            )
        except LayersUnavailable as exc:
            return [Outcome({}, {"unavailable": str(exc), "layers": []})]
        except Exception as exc:
            return [Outcome({}, {"error": _error_line(exc), "layers": []})]
        first = first_divergence(rows)
        scores = {"conv_layer_agreement": sum(r["pass"] for r in rows) / len(rows)} if rows else {}
        return [Outcome(scores, {"layers": rows, "first_divergence": first})]


class PerformanceTask(ConversionTask):
    type_name = "conversion.performance"
    legacy = "conversion-performance"
    params_model = PerformanceParams

    def units(self, subject: Any) -> list[WorkUnit]:
        fp = subject.fingerprint()
        return [_unit(fp, self.spec, f"b{b}", i, b) for i, b in enumerate(self.params.batch_sizes)]

    def process(self, subject: Any, units: list[WorkUnit]) -> list[Outcome]:
        from pingce.models.latency import compare_latency

        out = []
        for unit in units:
            feeds = shaped_inputs(subject.data.inputs, unit.payload, None)
            try:
                result = compare_latency(
                    subject.source,
                    subject.target,
                    feeds,
                    batch=unit.payload,
                    warmup=self.params.warmup,
                    repeats=self.params.repeats,
                    threads=self.params.threads,
                )
            except Exception as exc:
                out.append(Outcome({}, {"batch": unit.payload, "error": _error_line(exc)}))
                continue
            ratio = result["target"]["p50_ms"] / result["source"]["p50_ms"]
            out.append(Outcome({"conv_latency_ratio": ratio}, result))
        return out


class ZooTask(ConversionTask):
    type_name = "conversion.zoo"
    legacy = "conversion-zoo"
    params_model = ZooParams

    def units(self, subject: Any) -> list[WorkUnit]:
        from pingce.models.zoo import ZOO, zoo_entry

        names = self.params.models or list(ZOO)
        for n in names:
            zoo_entry(n)  # unknown names fail here, before the run
        fp = subject.fingerprint()
        return [_unit(fp, self.spec, n, i, n) for i, n in enumerate(names)]

    def process(self, subject: Any, units: list[WorkUnit]) -> list[Outcome]:
        from pingce.conversion.zoo_run import verify_zoo_model

        return [
            verify_zoo_model(
                unit.payload,
                Path(subject.workdir),
                exporter=self.params.exporter,
                opset=self.params.opset,
                rtol=self.params.rtol,
                atol=self.params.atol,
                samples=self.params.samples,
            )
            for unit in units
        ]


TASK_TYPES: dict[str, type[ConversionTask]] = {
    t.type_name: t
    for t in (ChecksTask, NumericsTask, ShapesTask, DivergenceTask, PerformanceTask, ZooTask)
}
LEGACY = {t.legacy: name for name, t in TASK_TYPES.items()}


def canonical_type(name: str) -> str:
    """`conversion.<kind>` for a task type name, old (`conversion-<kind>`) or new."""
    return LEGACY.get(name, name)


def register_task_types() -> None:
    """Register the task types (and their old un-namespaced names as aliases)."""
    from pingce.core.registry import task_types

    for name, cls in TASK_TYPES.items():
        if not task_types.has_loaded(name):
            task_types.register(name, cls)
            task_types.alias(cls.legacy, name)


def task_class(name: str, where: str) -> type[ConversionTask]:
    """The conversion task class registered as `name` (or its old name), else a SpecError."""
    from pingce.core.registry import task_types

    found = task_types.get(name) if name in task_types else None
    if not (isinstance(found, type) and issubclass(found, ConversionTask)):
        raise SpecError(f"{where}unknown type {name!r}", hint=f"one of: {', '.join(TASK_TYPES)}")
    return found


def source_target_names(source: LoadedModel, target: LoadedModel) -> list[str]:
    """Output names for tables: the converted model's when it has them, else the source's."""
    if target.output_names:
        return list(target.output_names)
    return list(source.output_names)
