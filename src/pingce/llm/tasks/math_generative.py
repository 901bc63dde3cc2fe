"""Generative maths with answer equivalence: the last \\boxed{} against the reference, compared
by `pingce.llm.math_equiv` (MATH's normalisation, then sympy)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from pingce.backends.base import LanguageModel
from pingce.core.execute import Outcome, WorkUnit
from pingce.llm.math_equiv import is_equiv
from pingce.llm.task_types import llm_task_type
from pingce.llm.tasks.generative import GenerativeParams, GenerativeTask


class MathParams(GenerativeParams):
    filters: list[str | dict[str, Any]] = Field(default_factory=lambda: ["boxed"])


@llm_task_type("math_generative")
class MathGenerativeTask(GenerativeTask):
    type_name = "math_generative"
    Params = MathParams
    allowed_metrics = ("math_equiv", *GenerativeTask.allowed_metrics)
    default_metrics = ("math_equiv",)
    params: MathParams

    def process(self, lm: LanguageModel, units: list[WorkUnit]) -> list[Outcome]:
        outcomes = super().process(lm, units)  # scores the text metrics, skips math_equiv
        if "math_equiv" not in self.metric_names:
            return outcomes
        done = []
        for unit, out in zip(units, outcomes, strict=True):
            answer = out.data["extracted"]
            ok = any(is_equiv(answer, ref) for ref in unit.payload["references"])
            done.append(Outcome(scores={**out.scores, "math_equiv": float(ok)}, data=out.data))
        return done
