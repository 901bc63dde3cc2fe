"""What every large-model task type shares: dataset loading, prompts, few-shot, unit keys."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pingce.backends.base import LanguageModel, LoglikelihoodResult
from pingce.core.errors import DataError, SpecError
from pingce.core.execute import Outcome, WorkUnit
from pingce.core.fingerprint import content_hash
from pingce.core.options import DEFAULT_SEED
from pingce.core.spec import Suite, TaskSpec, validate_params
from pingce.llm.datasets import DatasetSpec, Row, load_task_rows
from pingce.llm.metrics import get_metric
from pingce.llm.prompts import compile_template, render, select_fewshot


class CommonParams(BaseModel):
    """Fields every large-model task accepts (besides id/type/title/dimension/weight)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: DatasetSpec
    prompt: str
    description: str = ""  # text placed once before the few-shot examples
    num_fewshot: int = Field(default=0, ge=0)
    fewshot_delimiter: str = "\n\n"
    target_delimiter: str = " "
    id_field: str = "id"
    metrics: list[str] = Field(min_length=1)
    primary_metric: str | None = None

    @model_validator(mode="after")
    def _primary_in_metrics(self) -> CommonParams:
        if self.primary_metric is not None and self.primary_metric not in self.metrics:
            raise ValueError(f"primary_metric {self.primary_metric!r} is not in metrics")
        return self


@dataclass(frozen=True)
class RunSettings:
    """Run-wide options that shape the requests (and so the record keys)."""

    seed: int = DEFAULT_SEED
    num_fewshot: int | None = None  # overrides every task's num_fewshot when set
    limit: int | None = None  # first N samples of each task
    fewshot_trials: int | None = None  # reruns with resampled few-shot sets (spread)


class LLMTask:
    """Base class: subclasses set `Params`, `allowed_metrics`, and implement the two hooks."""

    type_name: ClassVar[str]
    Params: ClassVar[type[CommonParams]]
    allowed_metrics: ClassVar[tuple[str, ...]]
    default_metrics: ClassVar[tuple[str, ...]]
    # Fields a suite's `defaults:` mapping may set for every task of this type (a task's own
    # value wins).
    suite_defaults: ClassVar[tuple[str, ...]] = ()

    def __init__(self, spec: TaskSpec, suite: Suite) -> None:
        self.spec = spec
        self.suite = suite
        params = dict(spec.params)
        params.setdefault("metrics", list(self.default_metrics))
        for name in self.suite_defaults:
            if name in suite.spec.defaults:
                params.setdefault(name, suite.spec.defaults[name])
        where = f"{suite.source}: tasks.{spec.id}"
        self.params = validate_params(self.Params, params, where)
        for name in self.params.metrics:
            if name not in self.allowed_metrics:
                raise SpecError(
                    f"{where}.metrics: {name!r} is not a metric of a {self.type_name} task",
                    hint=f"use one of {', '.join(self.allowed_metrics)}",
                )
            get_metric(name)
        self.where = where
        for field, source in self.templates():
            try:
                compile_template(source)
            except SpecError as exc:
                raise SpecError(f"{where}.{field}: {exc.message}", hint=exc.hint) from None

    def templates(self) -> list[tuple[str, str]]:
        """(field, Jinja source) pairs checked when the suite is validated."""
        found = [("prompt", self.params.prompt)]
        # Every other parameter a task type renders as a template (code tasks' `program`,
        # judged tasks' `question`, native benchmarks' `row_description`).
        for field in (
            "fewshot_target",
            "target",
            "choices",
            "program",
            "question",
            "row_description",
        ):
            value = getattr(self.params, field, None)
            if isinstance(value, str) and "{" in value:
                found.append((field, value))
            elif isinstance(value, list):
                found.extend(
                    (f"{field}[{i}]", v) for i, v in enumerate(value) if isinstance(v, str)
                )
        return found

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def metric_names(self) -> list[str]:
        return list(self.params.metrics)

    @property
    def primary_metric(self) -> str:
        return self.params.primary_metric or self.params.metrics[0]

    # ---- building units ---------------------------------------------------------------
    def prepare(self, settings: RunSettings) -> list[tuple[str, int, dict[str, Any]]]:
        """Load the data and render every sample's requests: (sample id, position, payload).

        Runs before the model is loaded, so every data error surfaces first; the result is
        kept for `units`, which only adds the subject-bound keys.
        """
        cached = getattr(self, "_prepared", None)
        if cached is not None and cached[0] == settings:
            return cached[1]
        rows, pool = load_task_rows(self.params.dataset, self.suite.base_dir)
        # Recorded with the run: which data and prompt produced these numbers.
        self.provenance = {
            "dataset_sha256": content_hash(rows, length=64),
            "fewshot_sha256": content_hash(pool, length=64) if pool else None,
            "prompt_sha256": content_hash(self.params.model_dump(mode="json"), length=64),
            "rows": len(rows),
        }
        k = self.params.num_fewshot if settings.num_fewshot is None else settings.num_fewshot
        same_split = bool(k) and not pool
        if same_split:
            # Few-shot from the whole evaluation split (whatever the limit, so a limited run
            # asks exactly what the full run asks), never the sample itself.
            pool = rows
        if settings.limit is not None:
            rows = rows[: settings.limit]
        samples = []
        for position, row in enumerate(rows):
            sample_id = str(row.get(self.params.id_field, position))
            where = f"{self.params.dataset.path}: row {position + 1} (id {sample_id})"
            # Excluded by position too: rows without an id field would otherwise be eligible
            # as their own example.
            candidates = pool[:position] + pool[position + 1 :] if same_split else pool
            # A separate few-shot split may reuse the evaluation split's ids (C-Eval's dev and
            # test both count from 0): exclude by id only when drawing from the same split.
            shots = select_fewshot(
                candidates,
                k,
                settings.seed,
                sample_id if same_split else None,
                self.params.id_field,
                sample_key=sample_id,
            )
            samples.append((sample_id, position, self.build(row, shots, where, settings)))
        self._prepared = (settings, samples)
        return samples

    def units(self, settings: RunSettings, subject_fp: dict[str, Any]) -> list[WorkUnit]:
        return [
            WorkUnit(
                key=content_hash(subject_fp, self.id, self.type_name, sample_id, payload),
                sample_id=sample_id,
                position=position,
                payload=payload,
            )
            for sample_id, position, payload in self.prepare(settings)
        ]

    def fewshot_prefix(self, shots: Sequence[Row], where: str) -> str:
        p = self.params
        parts = [
            render(p.prompt, shot, where) + p.target_delimiter + self.shot_answer(shot, where)
            for shot in shots
        ]
        prefix = p.description
        if parts:
            prefix += p.fewshot_delimiter.join(parts) + p.fewshot_delimiter
        return prefix

    def build(
        self, row: Row, shots: Sequence[Row], where: str, settings: RunSettings
    ) -> dict[str, Any]:
        raise NotImplementedError

    def shot_answer(self, shot: Row, where: str) -> str:
        raise NotImplementedError

    def process(self, lm: LanguageModel, units: list[WorkUnit]) -> list[Outcome]:
        raise NotImplementedError

    def run(self, lm: LanguageModel, units: list[WorkUnit]) -> list[Outcome]:
        """`process`, keeping the samples whose requests failed for good as failed outcomes.

        A served backend raises `RequestsFailed` after finishing every other request of the
        batch; each unit is then processed alone (its finished requests are answered from the
        backend's memory, failed ones fail at once) so only the affected samples fail.
        """
        from pingce.backends.failures import RequestsFailed
        from pingce.llm.failures import failed_outcome

        try:
            return self.process(lm, units)
        except RequestsFailed as exc:
            if len(units) == 1:
                return [failed_outcome(units[0], exc)]
            return [out for unit in units for out in self.run(lm, [unit])]


def score_continuations(
    lm: LanguageModel, units: Sequence[WorkUnit]
) -> list[tuple[WorkUnit, list[LoglikelihoodResult], dict[str, Any]]]:
    """Every unit's (context, continuation) pairs scored in one backend call.

    Returns each unit with its results (in continuation order) and its usage record; the
    batch's wall time is shared equally among its units.
    """
    # A chat unit's context is rendered here, by the model's chat template; the units returned
    # carry it, so records show the prompt that was scored.
    units = [with_chat_context(lm, u) for u in units]
    pairs = [(u.payload["context"], c) for u in units for c in u.payload["continuations"]]
    with Timer() as timer:
        results = lm.loglikelihood(pairs)
    per_unit = timer.seconds / max(1, len(units))
    scored = []
    at = 0
    for unit in units:
        n = len(unit.payload["continuations"])
        res = list(results[at : at + n])
        at += n
        usage = {
            "tokens_in": sum(r.n_context_tokens + r.n_tokens for r in res),
            "tokens_out": 0,
            "requests": len(res),
            "seconds": per_unit,
        }
        scored.append((unit, res, usage))
    return scored


def with_chat_context(lm: LanguageModel, unit: WorkUnit) -> WorkUnit:
    """The unit with its chat `messages` rendered into a `context` by the model's chat
    template (generation prompt added); a unit without messages is returned as it is. The
    unit's key is unchanged: the messages it was made from are in it."""
    if "messages" not in unit.payload or "context" in unit.payload:
        return unit
    context = lm.chat_prompt(unit.payload["messages"])
    return dataclasses.replace(unit, payload={**unit.payload, "context": context})


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def require_field(row: Row, name: str, where: str) -> Any:
    if name not in row:
        raise DataError(f"{where}: missing field {name!r}")
    return row[name]
