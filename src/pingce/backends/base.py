"""The language-model backend contract: three methods, as lm-evaluation-harness has it.

Every backend (local transformers, OpenAI-compatible HTTP, vLLM, ...) implements
`LanguageModel`. Requests and results are small frozen records so they can be hashed into
record keys and cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class LoglikelihoodResult:
    logprob: float  # natural-log probability of the continuation given the context
    is_greedy: bool  # every continuation token was the argmax
    n_tokens: int  # continuation length in tokens
    n_context_tokens: int = 0  # context length in tokens (for usage accounting)


@dataclass(frozen=True)
class RollingResult:
    logprob: float  # natural-log probability of the whole text
    n_tokens: int


@dataclass(frozen=True)
class GenerationParams:
    """Every generation knob, passed explicitly so no saved model default can override it."""

    max_new_tokens: int = 64
    until: tuple[str, ...] = ()
    temperature: float = 0.0  # 0 means greedy
    top_p: float = 1.0
    seed: int = 0

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["until"] = list(self.until)
        return d


@dataclass(frozen=True)
class GenerationRequest:
    context: str
    params: GenerationParams = field(default_factory=GenerationParams)


@dataclass(frozen=True)
class Generation:
    text: str
    tokens_in: int
    tokens_out: int
    seconds: float  # wall time of the batch this request ran in, shared equally among its rows
    finish_reason: str = "length"  # "stop" (stop sequence or EOS) or "length"


@runtime_checkable
class LanguageModel(Protocol):
    """What a large-model task needs from a subject."""

    def loglikelihood(self, requests: Sequence[tuple[str, str]]) -> list[LoglikelihoodResult]:
        """log P(continuation | context) for each (context, continuation) pair."""
        ...

    def loglikelihood_rolling(self, texts: Sequence[str]) -> list[RollingResult]:
        """log P(text) with no context, over windows of the model's maximum length."""
        ...

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        """Continue each context until a stop sequence, EOS or max_new_tokens."""
        ...

    def fingerprint(self) -> dict[str, Any]:
        """Identifies the model's content and settings; part of every record key."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def chat_prompt(self, messages: Sequence[dict[str, str]]) -> str:
        """The prompt text for a chat, through the model's own chat template."""
        ...
