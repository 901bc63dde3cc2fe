"""The language-model backend contract: three methods, as lm-evaluation-harness has it.

Every backend (local transformers, OpenAI-compatible HTTP, vLLM, ...) implements
`LanguageModel`. Requests and results are small frozen records so they can be hashed into
record keys and cached.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
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
    # Lone surrogates, NULs or invalid UTF-8 in the model's text were replaced by U+FFFD.
    text_repaired: bool = False


# Characters a model (or a server) can emit that no store, JSON encoder or report writer
# accepts everywhere: NUL (PostgreSQL text and JSON refuse it) and UTF-16 surrogate code points
# (a Python str holds one only unpaired, e.g. from JSON "\ud800" or undecodable bytes
# read with surrogateescape; encoding it as UTF-8 fails).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def repair_text(text: str) -> tuple[str, bool]:
    """`text` with NULs and lone surrogates replaced by U+FFFD, and whether any were found."""
    if _UNSTORABLE.search(text) is None:
        return text, False
    return _UNSTORABLE.sub(REPLACEMENT, text), True


def repaired_generation(gen: Generation) -> Generation:
    """The generation with its text made storable (flagged in `text_repaired` when changed)."""
    text, changed = repair_text(gen.text)
    return replace(gen, text=text, text_repaired=True) if changed else gen


def repair_flag(gen: Generation) -> dict[str, bool]:
    """The record field that says a generation's text was repaired (empty when it was not)."""
    return {"text_repaired": True} if gen.text_repaired else {}


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
