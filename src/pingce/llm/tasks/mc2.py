"""Multiple true answers by loglikelihood: TruthfulQA's MC2 score.

Each answer is scored as `target_delimiter + answer` after the context; the score is the
probability mass of the true answers normalised over all answers, exactly as
lm-evaluation-harness's `process_results_mc2` computes it (true answers come first).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pingce.backends.base import LanguageModel
from pingce.core.errors import DataError
from pingce.core.execute import Outcome, WorkUnit
from pingce.llm.datasets import Row
from pingce.llm.prompts import render
from pingce.llm.task_types import llm_task_type
from pingce.llm.tasks.base import (
    CommonParams,
    LLMTask,
    RunSettings,
    require_field,
    score_continuations,
)


class MC2Params(CommonParams):
    choices: str = "mc2_choices"  # field with every answer, true ones first
    labels: str = "mc2_labels"  # field with 1 (true) / 0 (false) per answer


def mc2_score(loglikelihoods: Sequence[float], labels: Sequence[int]) -> float:
    """Normalised probability mass on the true answers (max-shifted for numerical safety)."""
    top = max(loglikelihoods)
    probs = [math.exp(ll - top) for ll in loglikelihoods]
    total = sum(probs)
    return sum(p for p, lab in zip(probs, labels, strict=True) if lab == 1) / total


@llm_task_type("mc2")
class MC2Task(LLMTask):
    type_name = "mc2"
    Params = MC2Params
    allowed_metrics = ("mc2",)
    default_metrics = ("mc2",)
    params: MC2Params

    def answers(self, row: Row, where: str) -> tuple[list[str], list[int]]:
        choices = require_field(row, self.params.choices, where)
        labels = require_field(row, self.params.labels, where)
        if not isinstance(choices, list) or not isinstance(labels, list):
            raise DataError(
                f"{where}: {self.params.choices!r} and {self.params.labels!r} must be lists"
            )
        if len(choices) != len(labels) or 1 not in labels:
            raise DataError(f"{where}: need one label per answer and at least one true answer")
        return [str(c) for c in choices], [int(x) for x in labels]

    def shot_answer(self, shot: Row, where: str) -> str:
        choices, labels = self.answers(shot, where)
        return choices[labels.index(1)]

    def build(
        self, row: Row, shots: Sequence[Row], where: str, settings: RunSettings
    ) -> dict[str, Any]:
        choices, labels = self.answers(row, where)
        context = self.fewshot_prefix(shots, where) + render(self.params.prompt, row, where)
        return {
            "context": context,
            "continuations": [self.params.target_delimiter + c for c in choices],
            "choices": choices,
            "labels": labels,
        }

    def process(self, lm: LanguageModel, units: list[WorkUnit]) -> list[Outcome]:
        outcomes = []
        for unit, res, usage in score_continuations(lm, units):
            p = unit.payload
            lls = [r.logprob for r in res]
            score = mc2_score(lls, p["labels"])
            best = lls.index(max(lls))
            outcomes.append(
                Outcome(
                    scores={"mc2": score},
                    data={
                        "prompt": p["context"],
                        "output": p["choices"][best],
                        "extracted": str(best),
                        "reference": " | ".join(
                            c for c, lab in zip(p["choices"], p["labels"], strict=True) if lab
                        ),
                        "loglikelihoods": lls,
                        "labels": p["labels"],
                        "usage": usage,
                    },
                )
            )
        return outcomes
