"""Robustness: one task asked clean and under perturbations, plus CircularEval.

    - id: arc-robust
      type: robustness
      dimension: robustness
      base:                       # any multiple_choice / generative / benchmark task
        type: multiple_choice
        dataset: {path: data/knowledge_mc.jsonl}
        prompt: "Question: {{ question }}\\nAnswer:"
      perturbations: [typos, case, whitespace, option_shuffle]
      fields: [question]          # text fields the text perturbations change
      circular: true              # every rotation of the options (choices + answer index)

Each sample is one record holding every version (clean, each perturbation, each rotation);
the inner task's primary per-sample score decides correctness. Scores: clean_acc,
perturbed_acc (mean over perturbations), acc_drop (clean − perturbed, per sample) and
circular_acc (correct under every rotation). Accuracy per perturbation is in the report's
robustness section.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pingce.backends.base import LanguageModel
from pingce.core.errors import DataError, SpecError
from pingce.core.execute import Outcome, WorkUnit
from pingce.core.fingerprint import content_hash
from pingce.core.registry import task_types
from pingce.core.spec import Suite, TaskSpec, validate_params
from pingce.llm.datasets import load_task_rows
from pingce.llm.perturbations import (
    OPTION_PERTURBATIONS,
    TEXT_PERTURBATIONS,
    perturb_row,
    rng_for,
    rotations,
)
from pingce.llm.prompts import select_fewshot
from pingce.llm.task_types import llm_task_type, short_type
from pingce.llm.variants import process_variants, summed_usage, variants_payload


class RobustnessParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base: dict[str, Any]
    perturbations: list[str] = Field(default_factory=lambda: ["typos", "case", "whitespace"])
    fields: list[str] = Field(default_factory=lambda: ["question"])
    circular: bool = False
    choices_field: str = "choices"
    answer_field: str = "answer"
    seed: int = 0
    metrics: list[str] = Field(default_factory=lambda: ["perturbed_acc", "clean_acc", "acc_drop"])
    primary_metric: str | None = None

    @field_validator("perturbations")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        known = (*TEXT_PERTURBATIONS, *OPTION_PERTURBATIONS)
        for n in names:
            if n not in known:
                raise ValueError(f"unknown perturbation {n!r}; known: {', '.join(known)}")
        return names


ROBUSTNESS_METRICS = ("perturbed_acc", "clean_acc", "acc_drop", "circular_acc")


@llm_task_type("robustness")
class RobustnessTask:
    type_name = "robustness"
    allowed_metrics = ROBUSTNESS_METRICS
    default_metrics = ("perturbed_acc", "clean_acc", "acc_drop")

    def __init__(self, spec: TaskSpec, suite: Suite) -> None:
        self.spec = spec
        self.suite = suite
        self.where = f"{suite.source}: tasks.{spec.id}"
        self.params = validate_params(RobustnessParams, spec.params, self.where)
        for name in self.params.metrics:
            if name not in ROBUSTNESS_METRICS:
                raise SpecError(f"{self.where}.metrics: {name!r} is not a robustness metric")
        if "circular_acc" in self.params.metrics and not self.params.circular:
            raise SpecError(f"{self.where}.metrics: circular_acc needs circular: true")
        base = dict(self.params.base)
        inner_type = base.pop("type", None)
        if not inner_type or short_type(str(inner_type)) == "robustness":
            raise SpecError(f"{self.where}.base.type: name the task type to perturb")
        inner_spec = TaskSpec.model_validate({"id": spec.id, "type": inner_type, **base})
        self.inner = task_types.get(inner_type)(inner_spec, suite)
        self.provenance: dict[str, Any] = {}

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def metric_names(self) -> list[str]:
        return list(self.params.metrics)

    def _rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        if hasattr(self.inner, "load_rows"):  # a built-in benchmark reads its own layout
            rows, pool, _ = self.inner.load_rows()
            return rows, pool
        return load_task_rows(self.inner.params.dataset, self.suite.base_dir)

    def prepare(self, settings: Any) -> list[tuple[str, int, dict[str, Any]]]:
        cached = getattr(self, "_prepared", None)
        if cached is not None and cached[0] == settings:
            return list(cached[1])
        p = self.params
        ip = self.inner.params
        rows, pool = self._rows()
        k = ip.num_fewshot if settings.num_fewshot is None else settings.num_fewshot
        same_split = bool(k) and not pool
        if same_split:
            pool = rows
        if settings.limit is not None:
            rows = rows[: settings.limit]
        self.provenance = {
            "dataset_sha256": content_hash(rows, length=64),
            "perturbations": p.perturbations,
            "perturbation_seed": p.seed,
            "circular": p.circular,
        }
        needs_options = p.circular or any(n in OPTION_PERTURBATIONS for n in p.perturbations)
        samples = []
        for position, row in enumerate(rows):
            sample_id = str(row.get(ip.id_field, position))
            where = f"{self.where}: row {position + 1} (id {sample_id})"
            if needs_options:
                self._check_options(row, where)
            candidates = pool[:position] + pool[position + 1 :] if same_split else pool
            shots = select_fewshot(candidates, k, settings.seed, sample_id, ip.id_field)
            named = [("clean", self.inner.build(row, shots, where, settings))]
            for name in p.perturbations:
                rng = rng_for(p.seed, name, sample_id)
                changed = perturb_row(row, name, rng, p.fields, p.choices_field, p.answer_field)
                named.append((name, self.inner.build(changed, shots, where, settings)))
            if p.circular:
                for r, rotated in enumerate(rotations(row, p.choices_field, p.answer_field)[1:], 1):
                    named.append(
                        (f"rotation{r}", self.inner.build(rotated, shots, where, settings))
                    )
            samples.append((sample_id, position, variants_payload(named)))
        self._prepared = (settings, samples)
        return samples

    def _check_options(self, row: dict[str, Any], where: str) -> None:
        p = self.params
        choices = row.get(p.choices_field)
        gold = row.get(p.answer_field)
        if not isinstance(choices, list) or len(choices) < 2:
            raise DataError(f"{where}: option perturbations need a list field {p.choices_field!r}")
        if isinstance(gold, bool) or not isinstance(gold, int) or not 0 <= gold < len(choices):
            raise DataError(
                f"{where}: option perturbations need {p.answer_field!r} as a gold index",
                hint="give the answer as a 0-based index into the choices",
            )

    def units(self, settings: Any, subject_fp: dict[str, Any]) -> list[WorkUnit]:
        return [
            WorkUnit(
                key=content_hash(subject_fp, self.id, self.type_name, sample_id, payload),
                sample_id=sample_id,
                position=position,
                payload=payload,
            )
            for sample_id, position, payload in self.prepare(settings)
        ]

    def process(self, lm: LanguageModel, units: list[WorkUnit]) -> list[Outcome]:
        primary = self.inner.primary_metric
        grouped = process_variants(lambda flat: self.inner.process(lm, flat), units)
        outcomes = []
        for named in grouped:
            correct = {name: float(out.scores[primary]) for name, out in named}
            perturbed = [correct[n] for n in self.params.perturbations]
            mean_pert = sum(perturbed) / len(perturbed) if perturbed else correct["clean"]
            rot = [correct["clean"]] + [v for n, v in correct.items() if n.startswith("rotation")]
            values = {
                "clean_acc": correct["clean"],
                "perturbed_acc": mean_pert,
                "acc_drop": correct["clean"] - mean_pert,
                "circular_acc": float(all(v >= 1.0 for v in rot)),
            }
            clean = named[0][1]
            data = dict(clean.data)
            data["variants"] = correct
            data["variant_outputs"] = {n: o.data.get("output") for n, o in named}
            data["usage"] = summed_usage([o for _, o in named])
            scores = {m: values[m] for m in self.metric_names}
            outcomes.append(Outcome(scores=scores, data=data))
        return outcomes

    def run(self, lm: LanguageModel, units: list[WorkUnit]) -> list[Outcome]:
        return self.process(lm, units)


def variant_accuracy(records: Sequence[dict[str, Any]]) -> dict[str, list[float]]:
    """Per version name, the per-sample correctness stored with each record."""
    out: dict[str, list[float]] = {}
    for rec in records:
        for name, value in rec["data"].get("variants", {}).items():
            out.setdefault(name, []).append(float(value))
    return out
