"""Model-as-judge: versioned prompt templates, parsing of judgements, position-swap pairing,
and the judge metrics.

Three modes (after MT-Bench, Zheng et al. 2023):

- `single`: the judge rates one answer on a rubric and a scale;
- `reference`: the same, with a reference answer shown to the judge;
- `pairwise`: the judge picks the better of two answers (subject vs. a baseline), asked twice
  with the positions swapped; the subject wins only when both orders say so, loses only when
  both say the other, and anything else is a tie (this cancels position bias).

Unparseable judge output is counted (`judge_unparsed`) and left out of the score, never
scored 0. A template is identified by name and version; its SHA-256 goes into every record
key and into the run's recorded settings, so editing a template changes the run's identity.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from pingce.core.metric import MetricDef
from pingce.core.registry import metrics

Mode = Literal["single", "reference", "pairwise"]


@dataclass(frozen=True)
class JudgeTemplate:
    name: str
    version: int
    mode: Mode
    text: str  # Jinja2: question, answer, reference, answer_a, answer_b, rubric, lo, hi

    @property
    def sha256(self) -> str:
        data = f"{self.name}\0{self.version}\0{self.mode}\0{self.text}".encode()
        return hashlib.sha256(data).hexdigest()

    @property
    def id(self) -> str:
        return f"{self.name}@v{self.version}"


TEMPLATES: dict[str, JudgeTemplate] = {
    t.id: t
    for t in [
        JudgeTemplate(
            "single",
            1,
            "single",
            "[[judge]] Please act as an impartial judge and evaluate the quality of the answer "
            "to the question below.\n{{ rubric }}\nBegin with a short explanation, then rate "
            'the answer from {{ lo }} to {{ hi }} in exactly this format: "Rating: [[N]]".\n\n'
            "[Question]\n{{ question }}\n\n[Answer]\n<answer>{{ answer }}</answer>",
        ),
        JudgeTemplate(
            "reference",
            1,
            "reference",
            "[[judge]] Please act as an impartial judge and evaluate the quality of the answer "
            "to the question below, comparing it with the reference answer.\n{{ rubric }}\n"
            "Begin with a short explanation, then rate the answer from {{ lo }} to {{ hi }} in "
            'exactly this format: "Rating: [[N]]".\n\n[Question]\n{{ question }}\n\n'
            "[Reference answer]\n{{ reference }}\n\n[Answer]\n<answer>{{ answer }}</answer>",
        ),
        JudgeTemplate(
            "pairwise",
            1,
            "pairwise",
            "[[judge]] Please act as an impartial judge and compare the two answers to the "
            "question below.\n{{ rubric }}\nDo not let the order of the answers, their length or "
            "the assistants' names influence you. Begin with a short explanation, then give "
            'your verdict in exactly this format: "[[A]]" if answer A is better, "[[B]]" '
            'if answer B is better, "[[C]]" for a tie.\n\n[Question]\n{{ question }}\n\n'
            "[Answer A]\n<A>{{ answer_a }}</A>\n\n[Answer B]\n<B>{{ answer_b }}</B>",
        ),
    ]
}
DEFAULT_TEMPLATE: dict[str, str] = {
    "single": "single@v1",
    "reference": "reference@v1",
    "pairwise": "pairwise@v1",
}

_env = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)
_RATING = re.compile(r"\[\[\s*(-?\d+(?:\.\d+)?)\s*\]\]")
_RATING_LOOSE = re.compile(r"(?i)rating\s*[:：]\s*(-?\d+(?:\.\d+)?)")
_VERDICT = re.compile(r"\[\[\s*([ABC])\s*\]\]")


def render_judge_prompt(template: JudgeTemplate, **fields: Any) -> str:
    return _env.from_string(template.text).render(**fields)


def parse_rating(text: str, lo: float, hi: float) -> float | None:
    """The last "[[N]]" (else "Rating: N") in the judge's output, if within [lo, hi]."""
    found = _RATING.findall(text) or _RATING_LOOSE.findall(text)
    if not found:
        return None
    value = float(found[-1])
    return value if lo <= value <= hi else None


def parse_verdict(text: str) -> str | None:
    """The last "[[A]]", "[[B]]" or "[[C]]" in the judge's output."""
    found = _VERDICT.findall(text)
    return found[-1] if found else None


def pairwise_outcome(first: str | None, swapped: str | None) -> float | None:
    """The subject's result from two verdicts: first with the subject as A, then as B.

    1 = win (both orders prefer the subject), 0 = loss (both prefer the baseline), 0.5 = tie
    (ties, or the orders disagree: position bias); None if either verdict is unparseable.
    """
    if first is None or swapped is None:
        return None
    a = {"A": 1.0, "B": 0.0, "C": 0.5}[first]
    b = {"B": 1.0, "A": 0.0, "C": 0.5}[swapped]
    return a if a == b else 0.5  # orders disagreeing is position bias: a tie


# ---- metrics ----------------------------------------------------------------------------
def _mean_parsed(items: Sequence[Any]) -> float:
    vals = [float(v) for v in items if v is not None]
    return sum(vals) / len(vals) if vals else math.nan


def _pairs(items: Sequence[Any], i: int, j: int) -> tuple[list[float], list[float]]:
    a, b = [], []
    for ratings in items:
        if ratings[i] is not None and ratings[j] is not None:
            a.append(ratings[i])
            b.append(ratings[j])
    return a, b


def judges_kappa(items: Sequence[Sequence[float | None]]) -> float:
    """Cohen's kappa of the first two judges, over samples both judged parseably."""
    a, b = _pairs(items, 0, 1)
    from pingce.llm.agreement import cohen_kappa  # numpy, on use

    return cohen_kappa(a, b)


def judges_alpha(items: Sequence[Sequence[float | None]]) -> float:
    """Krippendorff's alpha (interval) of all judges; unparseable ratings are missing."""
    if not items:
        return math.nan
    from pingce.llm.agreement import krippendorff_alpha

    return krippendorff_alpha([list(col) for col in zip(*items, strict=True)], "interval")


JUDGE_METRICS = [
    MetricDef(
        "judge_score",
        "评判得分",
        "Mean judge rating rescaled to 0-1 ((rating - lo) / (hi - lo)), averaged over judges; "
        "samples no judge rated parseably are left out.",
        statistic=_mean_parsed,
    ),
    MetricDef(
        "judge_win_rate",
        "评判胜率",
        "Share of pairwise comparisons the subject wins against the baseline (ties count "
        "half), each judged in both answer orders.",
        statistic=_mean_parsed,
    ),
    MetricDef(
        "judge_unparsed",
        "评判不可解析率",
        "Share of judge outputs with no parseable rating or verdict.",
        direction="lower",
    ),
    MetricDef(
        "judge_kappa",
        "评判一致性 κ",
        "Cohen's kappa between the first two judges' ratings (unweighted).",
        scale=0.0,
        statistic=judges_kappa,
    ),
    MetricDef(
        "judge_alpha",
        "评判一致性 α",
        "Krippendorff's alpha (interval level) across all judges' ratings.",
        scale=0.0,
        statistic=judges_alpha,
    ),
]


def register_metrics() -> None:
    for m in JUDGE_METRICS:
        if not metrics.has_loaded(m.name):
            metrics.register(m.name, m)
