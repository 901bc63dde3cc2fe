"""Perplexity filter: score each document with a language model through any llm backend.

The model is a subject spec exactly as `pingce run --model` takes it (`hf:PATH_OR_ID`, or
`openai://HOST:PORT/v1?model=NAME&tokenizer=PATH` for a served model with echo logprobs) and is
opened by the llm standard's own `open_subject`, so the backend, its tokenisation and its
rolling windows are those of the llm `perplexity` task. A document's token-level perplexity is

    PPL = exp(-Σ log p(token) / tokens)

over its first `max_chars` characters, from `loglikelihood_rolling` (disjoint windows of the
model's context length, the first token predicted from the prefix token). Very low perplexity
usually means repeated or templated text, very high perplexity garbled text or text far from
the model's training distribution (CCNet, Wenzek et al. 2020, buckets web text the same way).

The backend is opened on the first batch and kept per process (pipelines build their
operators in spawned worker processes; an operator is never pickled with a loaded model).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from pingce.backends.hf import DEVICES, DTYPES
from pingce.core.errors import ModelError, PingceError
from pingce.data.document import Document
from pingce.data.operators.base import OPERATORS, Operator, OpParams, Removed

SCHEMES = ("hf", "openai")


class PerplexityParams(OpParams):
    model: str = Field(
        description="hf:PATH_OR_ID or openai://HOST:PORT/v1?model=NAME&tokenizer=PATH"
    )
    max_perplexity: float | None = Field(
        None, gt=0, description="remove documents above (None: off)"
    )
    min_perplexity: float | None = Field(
        None, gt=0, description="remove documents below (None: off)"
    )
    max_chars: int | None = Field(
        2000, ge=1, description="score the first N characters (None: all)"
    )
    batch_size: int = Field(8, ge=1, description="windows per forward pass (hf)")
    device: str = Field("auto", description="hf: auto, cpu, cuda or mps")
    dtype: str = Field("auto", description="hf: auto, float32, bfloat16 or float16")
    api_key_env: str | None = Field(None, description="openai: variable holding the API key")

    @field_validator("model")
    @classmethod
    def _model(cls, v: str) -> str:
        from pingce.core.spec import parse_subject

        try:
            subject = parse_subject(v)
        except PingceError as exc:
            raise ValueError(exc.one_line()) from None
        if subject.scheme not in SCHEMES:
            raise ValueError(
                f"{v!r}: expected hf:PATH_OR_ID or openai://HOST:PORT/v1?model=NAME, "
                f"not a {subject.scheme!r} subject"
            )
        if subject.scheme == "hf":
            # A local folder is checked now, before any worker starts; hub ids load on use.
            path = Path(subject.target).expanduser()
            local = path.exists() or subject.target.startswith((".", "/", "~"))
            if local and not (path / "config.json").is_file():
                raise ValueError(
                    f"{v!r}: {subject.target} is not a Hugging Face model folder (no config.json)"
                )
        return v

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if v not in DEVICES:
            raise ValueError(f"{v!r} is not one of {', '.join(DEVICES)}")
        return v

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, v: str) -> str:
        if v not in DTYPES:
            raise ValueError(f"{v!r} is not one of {', '.join(DTYPES)}")
        return v

    @model_validator(mode="after")
    def _range(self) -> PerplexityParams:
        lo, hi = self.min_perplexity, self.max_perplexity
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"min_perplexity {lo} is above max_perplexity {hi}")
        return self


# One open backend per (spec, settings) per process: the parent and each worker open their own.
_BACKENDS: dict[tuple[Any, ...], Any] = {}


def open_backend(p: PerplexityParams) -> Any:
    """The language-model backend for `p.model` (`pingce.backends`, shared with the llm
    standard; cached in this process)."""
    key = (p.model, p.device, p.dtype, p.batch_size, p.api_key_env)
    if key not in _BACKENDS:
        from pingce.backends import register as register_backends
        from pingce.core.registry import backends
        from pingce.core.spec import parse_subject

        register_backends()  # a spawned worker has not loaded the plugins (idempotent)
        subject = parse_subject(p.model)  # its scheme is one of SCHEMES (checked in Params)
        options: dict[str, Any] = {"device": p.device, "dtype": p.dtype, "batch_size": p.batch_size}
        if p.api_key_env:
            options["api_key_env"] = p.api_key_env
        _BACKENDS[key] = backends.get(subject.scheme)(subject, options)
    return _BACKENDS[key]


def perplexities(lm: Any, texts: list[str]) -> list[float | None]:
    """Token-level perplexity per text (None for a text with no tokens)."""
    out: list[float | None] = []
    for res in lm.loglikelihood_rolling(texts):
        out.append(math.exp(-res.logprob / res.n_tokens) if res.n_tokens else None)
    return out


@OPERATORS.register("perplexity_filter")
class PerplexityFilter(Operator):
    """Annotates `perplexity`; removes documents outside [min_perplexity, max_perplexity]."""

    name: ClassVar[str] = "perplexity_filter"
    Params = PerplexityParams

    def run_batch(self, batch: list[Document]) -> tuple[list[Document], Removed, int]:
        p: PerplexityParams = self.params  # type: ignore[assignment]
        texts = [d.text[: p.max_chars] if p.max_chars else d.text for d in batch]
        todo = [i for i, t in enumerate(texts) if t.strip()]
        scores: list[float | None] = [None] * len(batch)
        if todo:
            try:
                lm = open_backend(p)
                for i, ppl in zip(todo, perplexities(lm, [texts[i] for i in todo]), strict=True):
                    scores[i] = ppl
            except PingceError as exc:
                raise ModelError(
                    f"operators.{self.label}: model: {exc.message}", hint=exc.hint
                ) from None
        kept: list[Document] = []
        removed: Removed = []
        for doc, ppl in zip(batch, scores, strict=True):
            # Empty documents have no perplexity: kept, for the emptiness filters to judge.
            doc.meta["perplexity"] = round(ppl, 4) if ppl is not None else None
            if ppl is not None and p.max_perplexity is not None and ppl > p.max_perplexity:
                removed.append((doc, "perplexity_above_max"))
            elif ppl is not None and p.min_perplexity is not None and ppl < p.min_perplexity:
                removed.append((doc, "perplexity_below_min"))
            else:
                kept.append(doc)
        return kept, removed, 0
