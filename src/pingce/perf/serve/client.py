"""A small streaming client for OpenAI-compatible `/completions` and `/chat/completions`.

It records, per request, the send time, the arrival time of every streamed chunk that carries
text, the text, and the server's token usage when it reports one (stream_options.include_usage).
Each text-bearing chunk is one token event: servers such as vLLM and `transformers serve`
stream one token per chunk. When the server's usage says more tokens than chunks arrived, the
usage count is used for TPOT and token throughput, and the ITL gaps stay per chunk.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx


@dataclass
class RequestTiming:
    """One request's timings in seconds on the perf_counter clock (start-relative later)."""

    start: float
    chunk_times: list[float] = field(default_factory=list)
    end: float = 0.0
    text: str = ""
    prompt_tokens: int | None = None
    usage_output_tokens: int | None = None
    error: str = ""

    @property
    def output_tokens(self) -> int:
        """Tokens generated: the server's usage when given, else the text chunks counted."""
        return self.usage_output_tokens if self.usage_output_tokens else len(self.chunk_times)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _delta_text(obj: dict[str, Any]) -> str:
    choices = obj.get("choices") or []
    if not choices:
        return ""
    ch = choices[0]
    if "text" in ch:  # /completions
        return ch.get("text") or ""
    delta = ch.get("delta") or {}  # /chat/completions
    return delta.get("content") or delta.get("reasoning_content") or ""


async def stream_request(
    client: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> RequestTiming:
    """POST `body` with stream=true and time every text chunk until `data: [DONE]`."""
    body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    clock = time.perf_counter
    rt = RequestTiming(start=clock())
    parts: list[str] = []
    try:
        async with client.stream("POST", url, json=body, headers=headers) as resp:
            if resp.status_code != 200:
                await resp.aread()
                rt.error = f"HTTP {resp.status_code}: {resp.text[:200]}"
                rt.end = clock()
                return rt
            async for line in resp.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                now = clock()
                try:
                    obj = json.loads(data)
                except json.JSONDecodeError:
                    rt.error = f"malformed stream chunk: {data[:80]!r}"
                    break
                text = _delta_text(obj)
                if text:
                    rt.chunk_times.append(now)
                    parts.append(text)
                usage = obj.get("usage")
                if usage:
                    rt.prompt_tokens = usage.get("prompt_tokens")
                    rt.usage_output_tokens = usage.get("completion_tokens")
    except httpx.HTTPError as exc:
        rt.error = f"{type(exc).__name__}: {exc}"
    rt.end = clock()
    rt.text = "".join(parts)
    if not rt.error and not rt.chunk_times:
        rt.error = "the stream carried no text"
    return rt
