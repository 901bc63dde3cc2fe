"""Judged tasks: the subject answers as in a generative task; one or more judge models grade
the answers (single rating, reference-guided rating, or pairwise against a baseline answer
with position swap). See pingce.llm.judge for templates, parsing and metrics.

    - id: helpfulness
      type: judged
      dataset: {path: data/questions.jsonl}
      prompt: "{{ question }}"
      mode: pairwise            # single | reference | pairwise
      baseline: baseline_answer # pairwise: field with the other answer
      target: reference         # reference mode: field with the reference answer
      rubric: "Judge helpfulness and correctness."
      scale: [1, 10]
      judges:
        - model: openai://127.0.0.1:8000/v1?model=judge
          options: {api_key_env: JUDGE_KEY, concurrency: 8}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pingce.backends.base import GenerationParams, GenerationRequest, LanguageModel
from pingce.backends.served import chat_request
from pingce.core.errors import DataError, SpecError
from pingce.core.execute import Outcome, WorkUnit
from pingce.core.spec import parse_subject
from pingce.llm.datasets import Row
from pingce.llm.judge import (
    DEFAULT_TEMPLATE,
    TEMPLATES,
    JudgeTemplate,
    pairwise_outcome,
    parse_rating,
    parse_verdict,
    register_metrics,
    render_judge_prompt,
)
from pingce.llm.prompts import render
from pingce.llm.task_types import llm_task_type
from pingce.llm.tasks.base import RunSettings
from pingce.llm.tasks.generative import GenerativeParams, GenerativeTask

register_metrics()


class JudgeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str  # any subject spec an llm backend opens: openai://..., hf:PATH
    options: dict[str, Any] = Field(default_factory=dict)


class JudgedParams(GenerativeParams):
    mode: str = "single"
    judges: list[JudgeSpec] = Field(min_length=1)
    rubric: str = "Consider helpfulness, relevance, accuracy and level of detail."
    scale: tuple[float, float] = (1.0, 10.0)
    template: str | None = None  # name@vN; defaults to the mode's current template
    baseline: str | None = None  # pairwise: field holding the baseline answer
    question: str | None = None  # template for the question shown to judges (default: prompt)
    judge_max_tokens: int = Field(default=256, ge=1)
    target: str = "answer"

    @model_validator(mode="after")
    def _mode_fields(self) -> JudgedParams:
        if self.mode not in DEFAULT_TEMPLATE:
            raise ValueError(f"mode {self.mode!r} is not one of single, reference, pairwise")
        if self.mode == "pairwise" and not self.baseline:
            raise ValueError("pairwise mode needs `baseline`: the field with the other answer")
        if self.scale[0] >= self.scale[1]:
            raise ValueError("scale must be [low, high] with low < high")
        name = self.template or DEFAULT_TEMPLATE[self.mode]
        if name not in TEMPLATES:
            raise ValueError(f"unknown judge template {name!r}; known: {', '.join(TEMPLATES)}")
        if TEMPLATES[name].mode != self.mode:
            raise ValueError(f"template {name!r} is for {TEMPLATES[name].mode} mode")
        return self


@llm_task_type("judged")
class JudgedTask(GenerativeTask):
    type_name = "judged"
    Params = JudgedParams
    allowed_metrics = (
        "judge_score",
        "judge_win_rate",
        "judge_unparsed",
        "judge_kappa",
        "judge_alpha",
    )
    default_metrics = ("judge_score", "judge_unparsed")
    params: JudgedParams

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p = self.params
        if p.mode == "pairwise" and "judge_score" in p.metrics:
            raise SpecError(
                f"{self.where}.metrics: pairwise mode scores judge_win_rate, not judge_score"
            )
        if p.mode != "pairwise" and "judge_win_rate" in p.metrics:
            raise SpecError(f"{self.where}.metrics: judge_win_rate needs mode: pairwise")
        if {"judge_kappa", "judge_alpha"} & set(p.metrics) and len(p.judges) < 2:
            raise SpecError(f"{self.where}.metrics: agreement metrics need two or more judges")
        self._judges: list[Any] | None = None

    @property
    def template(self) -> JudgeTemplate:
        return TEMPLATES[self.params.template or DEFAULT_TEMPLATE[self.params.mode]]

    def judges(self) -> list[Any]:
        """The judge models, opened once through the llm standard's backends."""
        if self._judges is None:
            from pingce.core.registry import standards

            llm = standards.get("llm")
            self._judges = [
                llm.open_subject(parse_subject(j.model), dict(j.options))
                for j in self.params.judges
            ]
        return self._judges

    def units(self, settings: RunSettings, subject_fp: dict[str, Any]) -> list[WorkUnit]:
        judge_fps = [j.fingerprint() for j in self.judges()]
        self._judge_identity = {
            "template": self.template.id,
            "template_sha256": self.template.sha256,
            "judges": judge_fps,
        }
        # The judges and their prompt template are part of every record key.
        units = super().units(settings, {**subject_fp, "judging": self._judge_identity})
        self.provenance["judge_template"] = self.template.id
        self.provenance["judge_template_sha256"] = self.template.sha256
        self.provenance["judges"] = judge_fps
        return units

    def build(
        self, row: Row, shots: Sequence[Row], where: str, settings: RunSettings
    ) -> dict[str, Any]:
        p = self.params
        if p.target in row or "{" in p.target or p.mode == "reference":
            payload = super().build(row, shots, where, settings)  # reference mode needs one
        else:  # no reference given: judges see none
            payload = super().build({**row, p.target: ""}, shots, where, settings)
        payload["question"] = render(p.question or p.prompt, row, where)
        if p.mode == "pairwise":
            if p.baseline not in row:
                raise DataError(f"{where}: missing baseline field {p.baseline!r}")
            payload["baseline"] = str(row[p.baseline])
        return payload

    def process(self, lm: LanguageModel, units: list[WorkUnit]) -> list[Outcome]:
        answers = super().process(lm, units)
        p = self.params
        lo, hi = p.scale
        prompts: list[tuple[int, str]] = []  # (unit index, judge prompt)
        for i, (unit, out) in enumerate(zip(units, answers, strict=True)):
            pl = unit.payload
            answer = out.data["extracted"]
            fields = {"question": pl["question"], "rubric": p.rubric, "lo": lo, "hi": hi}
            if p.mode == "pairwise":
                prompts.append(
                    (
                        i,
                        render_judge_prompt(
                            self.template, **fields, answer_a=answer, answer_b=pl["baseline"]
                        ),
                    )
                )
                prompts.append(
                    (
                        i,
                        render_judge_prompt(
                            self.template, **fields, answer_a=pl["baseline"], answer_b=answer
                        ),
                    )
                )
            else:
                ref = pl["references"][0] if pl.get("references") else ""
                prompts.append(
                    (i, render_judge_prompt(self.template, **fields, answer=answer, reference=ref))
                )
        params = GenerationParams(max_new_tokens=p.judge_max_tokens, until=(), temperature=0.0)
        per_judge: list[list[str]] = []
        for judge in self.judges():
            if getattr(judge, "supports_chat", False):
                reqs = [chat_request([{"role": "user", "content": t}], params) for _, t in prompts]
            else:
                reqs = [GenerationRequest(t, params) for _, t in prompts]
            per_judge.append([g.text for g in judge.generate(reqs)])
        outcomes = []
        step = 2 if p.mode == "pairwise" else 1
        for i, out in enumerate(answers):
            ratings: list[float | None] = []
            judgements = []
            for name, texts in zip(p.judges, per_judge, strict=True):
                raw = texts[i * step : i * step + step]
                if p.mode == "pairwise":
                    verdicts = [parse_verdict(t) for t in raw]
                    value = pairwise_outcome(verdicts[0], verdicts[1])
                    parsed = [v is not None for v in verdicts]
                else:
                    r = parse_rating(raw[0], lo, hi)
                    value = None if r is None else (r - lo) / (hi - lo)
                    parsed = [r is not None]
                ratings.append(value)
                judgements.append(
                    {"judge": name.model, "outputs": raw, "value": value, "parsed": parsed}
                )
            calls = [ok for j in judgements for ok in j["parsed"]]
            valid = [r for r in ratings if r is not None]
            mean = sum(valid) / len(valid) if valid else None
            scores: dict[str, Any] = {}
            for name in self.metric_names:
                if name in ("judge_score", "judge_win_rate"):
                    scores[name] = mean
                elif name == "judge_unparsed":
                    scores[name] = 1.0 - sum(calls) / len(calls)
                else:
                    scores[name] = ratings
            data = dict(out.data)
            data["judgements"] = judgements
            data["judge_template"] = self.template.id
            outcomes.append(Outcome(scores=scores, data=data))
        return outcomes
