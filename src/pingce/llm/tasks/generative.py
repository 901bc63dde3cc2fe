"""Generative tasks: the model continues a prompt; filters extract an answer; text metrics score it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pingce.backends.base import (
    GenerationParams,
    GenerationRequest,
    LanguageModel,
    repair_flag,
)
from pingce.backends.served import chat_request, timing_data
from pingce.core.errors import DataError, ModelError
from pingce.core.execute import Outcome, WorkUnit
from pingce.llm import text_metrics
from pingce.llm.datasets import Row
from pingce.llm.filters import build_pipeline
from pingce.llm.prompts import render
from pingce.llm.reasoning import ReasoningSettings, answer_part
from pingce.llm.task_types import llm_task_type
from pingce.llm.tasks.base import CommonParams, LLMTask, RunSettings, Timer


def _count_tokens(lm: LanguageModel, text: str) -> int | None:
    """`text`'s length in the model's tokens, or None when the model cannot count them."""
    if not text:
        return 0
    try:
        return lm.count_tokens(text)
    except ModelError:
        return None


class GenerationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_new_tokens: int = Field(default=64, ge=1)
    until: list[str] = Field(default_factory=lambda: ["\n\n"])
    temperature: float = Field(default=0.0, ge=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)


class ExactMatchOptions(BaseModel):
    """lm-eval's `exact_match` options (`metric_list: - metric: exact_match, ignore_case: ...`),
    applied to the prediction and every reference alike; see `text_metrics.exact_match`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    regexes_to_ignore: list[str] = Field(default_factory=list)
    ignore_case: bool = False
    ignore_punctuation: bool = False
    ignore_numbers: bool = False

    @field_validator("regexes_to_ignore")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"regexes_to_ignore: invalid pattern {pattern!r}: {exc}") from None
        return patterns


class GenerativeParams(CommonParams):
    # A field holding the reference(s) (a string or a list), or a template.
    target: str = "answer"
    # Template for a few-shot example's answer (defaults to the first reference).
    fewshot_target: str | None = None
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    filters: list[str | dict[str, Any]] = Field(default_factory=lambda: ["strip"])
    chat_template: bool = False
    system_prompt: str | None = None
    exact_match: ExactMatchOptions = Field(default_factory=ExactMatchOptions)
    # Reasoning blocks removed before the filters (also settable in the suite's `defaults`).
    reasoning: ReasoningSettings | None = None


@llm_task_type("generative")
class GenerativeTask(LLMTask):
    type_name = "generative"
    Params = GenerativeParams
    allowed_metrics = (
        "exact_match",
        "normalized_match",
        "precision",
        "recall",
        "f1",
        "bleu4",
        "rouge_l",
    )
    default_metrics = ("exact_match",)
    suite_defaults = ("reasoning",)
    params: GenerativeParams

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.extract = build_pipeline(self.params.filters)

    def references(self, row: Row, where: str) -> list[str]:
        spec = self.params.target
        if spec in row:
            value = row[spec]
            refs = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        elif "{" in spec:
            refs = [render(spec, row, where)]
        else:
            raise DataError(f"{where}: missing field {spec!r}")
        if not refs:
            raise DataError(f"{where}: field {spec!r} has no reference answers")
        return refs

    def shot_answer(self, shot: Row, where: str) -> str:
        if self.params.fewshot_target:
            return render(self.params.fewshot_target, shot, where)
        return self.references(shot, where)[0]

    def build(
        self, row: Row, shots: Sequence[Row], where: str, settings: RunSettings
    ) -> dict[str, Any]:
        p = self.params
        gen = p.generation
        thinking = p.reasoning
        strip = thinking is not None and thinking.strip
        # The reasoning budget comes on top of the answer's; stop strings cut the answer only
        # (a blank line inside the thinking must not end the generation), so they are applied
        # after the blocks are removed instead of during generation.
        budget = (thinking.budget_tokens or 0) if thinking is not None else 0
        params = GenerationParams(
            max_new_tokens=gen.max_new_tokens + budget,
            until=() if strip else tuple(gen.until),
            temperature=gen.temperature,
            top_p=gen.top_p,
            seed=settings.seed,
        )
        payload: dict[str, Any] = {
            "references": self.references(row, where),
            "params": params.to_dict(),
            "language": str(row.get("language", self.spec.language)),
        }
        if strip and thinking is not None:
            payload["reasoning"] = {
                "tags": [list(t) for t in thinking.tags],
                "until": list(gen.until),
            }
        if p.chat_template:
            messages = [{"role": "system", "content": p.system_prompt}] if p.system_prompt else []
            for shot in shots:
                messages.append(
                    {"role": "user", "content": p.description + render(p.prompt, shot, where)}
                )
                messages.append({"role": "assistant", "content": self.shot_answer(shot, where)})
            messages.append(
                {"role": "user", "content": p.description + render(p.prompt, row, where)}
            )
            payload["messages"] = messages
        else:
            payload["context"] = self.fewshot_prefix(shots, where) + render(p.prompt, row, where)
        return payload

    def process(self, lm: LanguageModel, units: list[WorkUnit]) -> list[Outcome]:
        requests = []
        native_chat = getattr(lm, "supports_chat", False)
        for u in units:
            p = u.payload
            params = dict(p["params"])
            params["until"] = tuple(params["until"])
            gen_params = GenerationParams(**params)
            if "messages" in p and native_chat:  # served models take the chat as messages
                requests.append(chat_request(p["messages"], gen_params))
                continue
            context = lm.chat_prompt(p["messages"]) if "messages" in p else p["context"]
            requests.append(GenerationRequest(context, gen_params))
        with Timer():
            generations = lm.generate(requests)
        outcomes = []
        for unit, req, gen in zip(units, requests, generations, strict=True):
            refs = unit.payload["references"]
            lang = unit.payload["language"]
            thinking = unit.payload.get("reasoning")
            extra: dict[str, Any] = {}
            usage_extra: dict[str, int] = {}
            finish_reason = gen.finish_reason
            answer_text, split = answer_part(gen.text, thinking)
            if split is not None:
                if answer_text != split.answer:
                    finish_reason = "stop"
                counted = _count_tokens(lm, split.reasoning)
                if counted is not None:  # a served model without a local tokenizer: no split
                    reasoning_tokens = min(gen.tokens_out, counted)
                    usage_extra = {
                        "reasoning_tokens": reasoning_tokens,
                        "answer_tokens": gen.tokens_out - reasoning_tokens,
                    }
                extra = {"reasoning": split.reasoning, "reasoning_truncated": split.truncated}
            answer = self.extract(answer_text)
            scores: dict[str, Any] = {}
            for name in self.metric_names:
                if name == "exact_match":
                    scores[name] = text_metrics.exact_match(
                        answer, refs, **self.params.exact_match.model_dump()
                    )
                elif name == "normalized_match":
                    scores[name] = text_metrics.normalized_match(answer, refs)
                elif name in {"precision", "recall", "f1"}:
                    best = max(
                        (text_metrics.token_prf(answer, r, lang) for r in refs), key=lambda t: t[2]
                    )
                    scores[name] = best[("precision", "recall", "f1").index(name)]
                elif name == "bleu4":
                    scores[name] = text_metrics.bleu_stats(answer, refs, lang)
                elif name == "rouge_l":
                    scores[name] = text_metrics.rouge_l(answer, refs, lang)
            outcomes.append(
                Outcome(
                    scores=scores,
                    data={
                        "prompt": req.context,
                        "output": gen.text,
                        "extracted": answer,
                        "reference": " | ".join(refs),
                        "finish_reason": finish_reason,
                        **extra,
                        **repair_flag(gen),
                        **timing_data(gen),
                        "usage": {
                            "tokens_in": gen.tokens_in,
                            "tokens_out": gen.tokens_out,
                            **usage_extra,
                            "requests": 1,
                            "seconds": gen.seconds,
                        },
                    },
                )
            )
        return outcomes
