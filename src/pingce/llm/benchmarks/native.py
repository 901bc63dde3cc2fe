"""What every built-in benchmark task adds to its task type: native data, per-row descriptions,
few-shot examples from the same subject, and few-shot trials.

A benchmark task class is `NativeTaskMixin` + an existing task type (multiple_choice,
generative, ...) + a Params model that starts from `NativeFields`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from pingce.backends.base import LanguageModel
from pingce.core.errors import SpecError
from pingce.core.execute import Outcome, WorkUnit
from pingce.core.fingerprint import content_hash
from pingce.llm.benchmarks.source import BenchmarkDataset, load_benchmark_task_rows
from pingce.llm.datasets import Row
from pingce.llm.fewshot_trials import merge_trials, trial_seed
from pingce.llm.prompts import render, select_fewshot
from pingce.llm.variants import is_variant_unit, process_variants, variants_payload


class NativeFields(BaseModel):
    """Fields a benchmark task accepts on top of its task type's."""

    dataset: BenchmarkDataset
    # Rendered with each row and placed before its few-shot examples (MMLU's "The following
    # are multiple choice questions (with answers) about {subject}.").
    row_description: str = ""
    # Few-shot examples share this field's value with the sample (MMLU: the same subject).
    fewshot_group: str | None = None
    fewshot_trials: int = Field(default=1, ge=1)


class NativeTaskMixin:
    """Put before the task type in the bases: `class MMLUTask(NativeTaskMixin, MultipleChoiceTask)`."""

    benchmark: ClassVar[str]
    params: Any
    suite: Any
    id: str
    type_name: str
    where: str

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        if self.params.fewshot_trials > 1 and not self.params.num_fewshot:
            raise SpecError(f"{self.where}.fewshot_trials: needs num_fewshot > 0")

    # ---- data and requests -------------------------------------------------------------
    def load_rows(self) -> tuple[list[Row], list[Row], dict[str, Any]]:
        return load_benchmark_task_rows(self.benchmark, self.params.dataset, self.suite.base_dir)

    def prepare(self, settings: Any) -> list[tuple[str, int, dict[str, Any]]]:
        """(sample id, position, payload) per sample, as `LLMTask.prepare` gives them."""
        cached = getattr(self, "_prepared", None)
        if cached is not None and cached[0] == settings:
            return list(cached[1])
        p = self.params
        rows, pool, prov = self.load_rows()
        k = p.num_fewshot if settings.num_fewshot is None else settings.num_fewshot
        trials = int(getattr(settings, "fewshot_trials", None) or p.fewshot_trials)
        if trials > 1 and not k:
            raise SpecError(f"{self.where}: fewshot_trials needs a few-shot count above 0")
        self.provenance = {
            **prov,
            "prompt_sha256": content_hash(p.model_dump(mode="json"), length=64),
            "fewshot_trials": trials,
        }
        same_split = bool(k) and not pool
        if same_split:
            pool = rows
        else:
            # Another split's ids may repeat the evaluation ids (C-Eval's dev and test both
            # count from 0): tag them, so a sample never excludes a different question.
            pool = [{**r, p.id_field: f"fewshot:{r.get(p.id_field)}"} for r in pool]
        if settings.limit is not None:
            rows = rows[: settings.limit]
        samples = []
        source = p.dataset.path or p.dataset.hub
        for position, row in enumerate(rows):
            sample_id = str(row.get(p.id_field, position))
            where = f"{source}: row {position + 1} (id {sample_id})"
            candidates = pool[:position] + pool[position + 1 :] if same_split else pool
            if p.fewshot_group is not None:
                group = row.get(p.fewshot_group)
                candidates = [c for c in candidates if c.get(p.fewshot_group) == group]
            named = []
            for t in range(trials):
                seed = trial_seed(settings.seed, t)
                shots = select_fewshot(candidates, k, seed, sample_id, p.id_field)
                named.append((f"trial{t}", self.build(row, shots, where, settings)))
            payload = named[0][1] if trials == 1 else variants_payload(named)
            samples.append((sample_id, position, payload))
        self._prepared = (settings, samples)
        return samples

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

    def build(self, row: Row, shots: Sequence[Row], where: str, settings: Any) -> dict[str, Any]:
        payload: dict[str, Any] = super().build(row, shots, where, settings)  # type: ignore[misc]
        if self.params.row_description:
            prefix = render(self.params.row_description, row, where)
            if "context" in payload:
                payload["context"] = prefix + payload["context"]
            if "messages" in payload:
                first = next(m for m in payload["messages"] if m["role"] == "user")
                first["content"] = prefix + first["content"]
        return payload

    def process(self, lm: LanguageModel, units: list[WorkUnit]) -> list[Outcome]:
        plain = super().process  # type: ignore[misc]
        if not any(is_variant_unit(u) for u in units):
            return list(plain(lm, units))
        grouped = process_variants(lambda flat: plain(lm, flat), units)
        return [merge_trials(named) for named in grouped]
