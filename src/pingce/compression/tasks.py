"""The compression standard's task types, registered in `pingce.core.registry.task_types`:

- `compression.size`: compression ratios (file, gzip, parameters, non-zero parameters) and FLOPs
  of one variant against the baseline (one record);
- `compression.accuracy`: baseline and variant on each evaluation sample (accuracy drop against
  the budget, top-1 agreement, SQNR, cosine);
- `compression.latency`: both models timed alternately at each batch size (one record each).

The names before namespacing (`compression-size`, ...) stay accepted as aliases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pingce.core.errors import SpecError
from pingce.core.execute import Outcome, WorkUnit
from pingce.core.fingerprint import content_hash
from pingce.core.spec import validate_params
from pingce.models.latency import compare_latency, shaped_inputs

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


@dataclass(frozen=True)
class CompressionTaskType:
    """One compression task type as registered in `pingce.core.registry.task_types`."""

    name: str  # compression.<kind>
    kind: Literal["size", "accuracy", "latency"]
    params: type[BaseModel]
    primary: str  # the task row's primary metric
    legacy: str  # the name suites used before task types were namespaced


TASK_TYPES = [
    CompressionTaskType(
        "compression.size", "size", SizeParams, "cmp_ratio_file_bytes", "compression-size"
    ),
    CompressionTaskType(
        "compression.accuracy",
        "accuracy",
        AccuracyParams,
        "cmp_rel_accuracy_drop",
        "compression-accuracy",
    ),
    CompressionTaskType(
        "compression.latency", "latency", LatencyParams, "cmp_speedup", "compression-latency"
    ),
]


def register_task_types() -> None:
    """Register the task types (and their old un-namespaced names as aliases)."""
    from pingce.core.registry import task_types

    for t in TASK_TYPES:
        if not task_types.has_loaded(t.name):
            task_types.register(t.name, t)
            task_types.alias(t.legacy, t.name)


def task_type(name: str, where: str = "") -> CompressionTaskType:
    """The compression task type `name` (or its old name); anything else is a SpecError."""
    from pingce.core.registry import task_types

    found = task_types.get(name) if name in task_types else None
    if not isinstance(found, CompressionTaskType):
        raise SpecError(
            f"{where}unknown type {name!r}",
            hint=f"one of: {', '.join(t.name for t in TASK_TYPES)}",
        )
    return found


def _unit(subject: Any, task_id: str, sid: str, pos: int, payload: Any) -> WorkUnit:
    key = content_hash(subject.fingerprint(), task_id, sid)
    return WorkUnit(key=key, sample_id=sid, position=pos, payload=payload)


class CompressionTask:
    def __init__(self, spec: Any, where: str) -> None:
        self.type = task_type(spec.type, f"{where}: task {spec.id}: ")
        self.spec = spec
        self.params: Any = validate_params(
            self.type.params, spec.params, f"{where}: task {spec.id}"
        )

    def units(self, s: Any) -> list[WorkUnit]:
        if self.params.variant not in s.variants:
            raise SpecError(
                f"task {self.spec.id}: no compressed model labelled {self.params.variant!r}"
            )
        tid = self.spec.id + content_hash(self.spec.params, length=8)
        if self.type.kind == "accuracy":
            # sample ids name the index in the evaluation data, so a fit split's gaps show
            chosen = s.scored[: self.params.limit or len(s.scored)]
            return [_unit(s, tid, f"s{i:06d}", pos, int(i)) for pos, i in enumerate(chosen)]
        if self.type.kind == "latency":
            return [_unit(s, tid, f"b{b}", i, b) for i, b in enumerate(self.params.batch_sizes)]
        return [_unit(s, tid, "model", 0, None)]

    def process(self, s: Any, units: list[WorkUnit]) -> list[Outcome]:
        model = s.variants[self.params.variant]
        if self.type.kind == "size":
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
        if self.type.kind == "latency":
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
