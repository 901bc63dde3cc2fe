"""Perplexity of whole texts by rolling loglikelihood: token, word and byte level, bits per byte."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from pingce.backends.base import LanguageModel
from pingce.core.execute import Outcome, WorkUnit
from pingce.llm.datasets import Row
from pingce.llm.prompts import render
from pingce.llm.task_types import llm_task_type
from pingce.llm.tasks.base import CommonParams, LLMTask, RunSettings, Timer


class PerplexityParams(CommonParams):
    prompt: str = "{{ text }}"
    num_fewshot: int = Field(default=0, ge=0, le=0)


@llm_task_type("perplexity")
class PerplexityTask(LLMTask):
    type_name = "perplexity"
    Params = PerplexityParams
    allowed_metrics = ("token_perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte")
    default_metrics = ("word_perplexity", "byte_perplexity", "bits_per_byte", "token_perplexity")

    def shot_answer(self, shot: Row, where: str) -> str:  # pragma: no cover - never few-shot
        return ""

    def build(
        self, row: Row, shots: Sequence[Row], where: str, settings: RunSettings
    ) -> dict[str, Any]:
        return {"text": render(self.params.prompt, row, where)}

    def process(self, lm: LanguageModel, units: list[WorkUnit]) -> list[Outcome]:
        texts = [u.payload["text"] for u in units]
        with Timer() as timer:
            results = lm.loglikelihood_rolling(texts)
        per_request = timer.seconds / max(1, len(units))
        outcomes = []
        for text, res in zip(texts, results, strict=True):
            # lm-eval's word count: pieces of a whitespace split.
            words = len(re.split(r"\s+", text))
            item = [res.logprob, res.n_tokens, words, len(text.encode("utf-8"))]
            outcomes.append(
                Outcome(
                    scores={m: item for m in self.metric_names},
                    data={
                        "prompt": text,
                        "output": "",
                        "extracted": None,
                        "reference": "",
                        "logprob": res.logprob,
                        "usage": {
                            "tokens_in": res.n_tokens,
                            "tokens_out": 0,
                            "requests": 1,
                            "seconds": per_request,
                        },
                    },
                )
            )
        return outcomes
