"""Request and result records that only served (HTTP) backends use.

A served model takes a chat as messages and reports timing per token; the plain
`GenerationRequest`/`Generation` records of `pingce.backends.base` carry neither. These
subclasses add them without changing the protocol: a backend without chat support (or a task
that does not look) sees ordinary requests and generations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pingce.backends.base import Generation, GenerationRequest


@dataclass(frozen=True)
class ChatGenerationRequest(GenerationRequest):
    """A chat sent as messages (role, content); `context` is its readable rendering."""

    messages: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ServedGeneration(Generation):
    """A generation with what a served model's stream tells: first-token and per-token times."""

    ttft_s: float | None = None  # request sent -> first content token, seconds (streams only)
    token_times_s: tuple[float, ...] = ()  # arrival of each content chunk after sending, s
    usage_source: str = "server"  # "server" (the answer's usage), "tokenizer" or "missing"
    cached: bool = False  # answered from the request cache, not by the server this time


def chat_request(
    context_messages: Sequence[dict[str, str]], params: object
) -> ChatGenerationRequest:
    """A chat request from role/content dicts, with a readable `context` for reports."""
    messages = tuple((str(m["role"]), str(m["content"])) for m in context_messages)
    text = "\n".join(f"[{role}] {content}" for role, content in messages)
    return ChatGenerationRequest(context=text, params=params, messages=messages)  # type: ignore[arg-type]


def timing_data(gen: Generation) -> dict[str, object]:
    """Timing fields worth keeping in a record (empty for non-served generations)."""
    if not isinstance(gen, ServedGeneration):
        return {}
    out: dict[str, object] = {"usage_source": gen.usage_source, "cached": gen.cached}
    if gen.ttft_s is not None:
        out["ttft_ms"] = 1000.0 * gen.ttft_s
    times = gen.token_times_s
    if len(times) >= 2:
        out["tpot_ms"] = 1000.0 * (times[-1] - times[0]) / (len(times) - 1)
    if times:
        out["token_times_ms"] = [round(1000.0 * t, 3) for t in times]
    return out
