"""Multiple choice by loglikelihood: acc, acc_norm (characters) and acc_norm_bytes.

Each choice is scored as `target_delimiter + choice` after the shared context, exactly as
lm-evaluation-harness does; the backend scores a question's choices with prefix sharing.
"""

from __future__ import annotations

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


class MultipleChoiceParams(CommonParams):
    # A field holding the list of choices, or a list of templates (one per choice).
    choices: str | list[str] = "choices"
    # A field or template giving the gold index, the gold choice text, or its letter (A, B, ...).
    target: str = "answer"
    # Render the context through the model's chat template (few-shot examples as earlier
    # user/assistant turns); each choice is then scored right after the assistant prefix.
    chat_template: bool = False
    system_prompt: str | None = None


def _argmax(values: Sequence[float]) -> int:
    best = 0
    for i, v in enumerate(values):
        if v > values[best]:
            best = i
    return best


@llm_task_type("multiple_choice")
class MultipleChoiceTask(LLMTask):
    type_name = "multiple_choice"
    Params = MultipleChoiceParams
    allowed_metrics = ("acc", "acc_norm", "acc_norm_bytes")
    default_metrics = ("acc", "acc_norm")
    params: MultipleChoiceParams

    def choices_of(self, row: Row, where: str) -> list[str]:
        spec = self.params.choices
        if isinstance(spec, list):
            choices = [render(t, row, where) for t in spec]
        else:
            value = require_field(row, spec, where)
            if not isinstance(value, list) or not value:
                raise DataError(f"{where}: field {spec!r} must be a non-empty list of choices")
            choices = [str(c) for c in value]
        return choices

    def gold_of(self, row: Row, choices: list[str], where: str) -> int:
        spec = self.params.target
        raw: Any = row[spec] if spec in row else render(spec, row, where) if "{" in spec else None
        if raw is None:
            raise DataError(f"{where}: missing field {spec!r}")
        if isinstance(raw, bool):
            raise DataError(f"{where}: gold {raw!r} is not an index")
        if isinstance(raw, int):
            gold = raw
        else:
            text = str(raw).strip()
            if text.lstrip("-").isdigit():
                gold = int(text)
            elif text in choices:
                gold = choices.index(text)
            elif len(text) == 1 and text.isalpha() and text.isupper():
                gold = ord(text) - ord("A")
            else:
                raise DataError(
                    f"{where}: gold {text!r} is neither an index, a letter nor a choice"
                )
        if not 0 <= gold < len(choices):
            raise DataError(
                f"{where}: gold index {gold} is out of range for {len(choices)} choices"
            )
        return gold

    def shot_answer(self, shot: Row, where: str) -> str:
        choices = self.choices_of(shot, where)
        return choices[self.gold_of(shot, choices, where)]

    def build(
        self, row: Row, shots: Sequence[Row], where: str, settings: RunSettings
    ) -> dict[str, Any]:
        choices = self.choices_of(row, where)
        gold = self.gold_of(row, choices, where)
        p = self.params
        if p.chat_template:
            # lm-eval with --apply_chat_template: no target delimiter after the assistant
            # prefix, the choice is the start of the assistant's reply.
            messages = [{"role": "system", "content": p.system_prompt}] if p.system_prompt else []
            for shot in shots:
                messages.append(
                    {"role": "user", "content": p.description + render(p.prompt, shot, where)}
                )
                messages.append({"role": "assistant", "content": self.shot_answer(shot, where)})
            messages.append(
                {"role": "user", "content": p.description + render(p.prompt, row, where)}
            )
            return {
                "messages": messages,
                "continuations": list(choices),
                "choices": choices,
                "gold": gold,
            }
        context = self.fewshot_prefix(shots, where) + render(self.params.prompt, row, where)
        return {
            "context": context,
            "continuations": [self.params.target_delimiter + c for c in choices],
            "choices": choices,
            "gold": gold,
        }

    def process(self, lm: LanguageModel, units: list[WorkUnit]) -> list[Outcome]:
        outcomes = []
        for unit, res, usage in score_continuations(lm, units):
            p = unit.payload
            lls = [r.logprob for r in res]
            chars = [ll / max(1, len(c)) for ll, c in zip(lls, p["choices"], strict=True)]
            nbytes = [
                ll / max(1, len(c.encode("utf-8"))) for ll, c in zip(lls, p["choices"], strict=True)
            ]
            picks = {
                "acc": _argmax(lls),
                "acc_norm": _argmax(chars),
                "acc_norm_bytes": _argmax(nbytes),
            }
            scores = {m: float(picks[m] == p["gold"]) for m in self.metric_names}
            pred = picks["acc"]
            outcomes.append(
                Outcome(
                    scores=scores,
                    data={
                        "prompt": p["context"],
                        "output": p["choices"][pred],
                        "extracted": str(pred),
                        "reference": p["choices"][p["gold"]],
                        "loglikelihoods": lls,
                        "is_greedy": [r.is_greedy for r in res],
                        "gold": p["gold"],
                        "usage": usage,
                    },
                )
            )
        return outcomes
