"""Prompts and load shapes for the LLM-serving test.

Load: Poisson arrivals at `rate` requests/s whose gaps are Gamma(shape=burstiness,
scale=1/(rate*burstiness)) — burstiness 1 is a Poisson process, below 1 burstier, above 1
smoother, the same convention as vLLM's benchmark_serving — or a fixed number of concurrent
clients each sending its next request when the previous answer completes. `warmup` requests
are sent one by one first and never measured.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pingce.core.errors import DataError, ModelError
from pingce.perf.serve.client import RequestTiming, stream_request


@dataclass(frozen=True)
class Prompt:
    text: str
    max_tokens: int
    input_tokens: int | None  # exact when built through the model's tokenizer


def synthetic_prompts(
    n: int, input_len: int, output_len: int, tokenizer: str | None, seed: int
) -> list[Prompt]:
    """`n` prompts of exactly `input_len` tokens (through `tokenizer`) asking for `output_len`.

    Without a tokenizer the prompt is `input_len` space-separated words, one token each for
    most BPE vocabularies; `input_tokens` is then None and the server's usage is recorded.
    """
    rng = np.random.default_rng(seed)
    if tokenizer is None:
        words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"]
        return [
            Prompt(" ".join(rng.choice(words, size=input_len).tolist()), output_len, None)
            for _ in range(n)
        ]
    try:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(tokenizer)
    except Exception as exc:  # OSError / ValueError for a missing or foreign folder
        raise ModelError(f"cannot load tokenizer {tokenizer!r}: {exc}") from None
    # Tokens that stand alone as " word": the pre-tokenizer splits at spaces, so a string of
    # them encodes back to exactly the same ids (random byte-level ids would merge or split).
    special = set(tok.all_special_ids)
    pool = []
    for i in range(min(len(tok), 30_000)):
        if i in special:
            continue
        piece = tok.decode([i])
        alone = len(piece) > 2 and piece[0] == " " and piece[1:].isalpha()
        if alone and tok.encode(piece, add_special_tokens=False) == [i]:
            pool.append(i)
    if not pool:
        raise DataError(f"tokenizer {tokenizer!r} has no ' word' tokens to build prompts from")
    prompts = []
    for _ in range(n):
        ids = rng.choice(pool, size=input_len).tolist()
        text = tok.decode(ids)
        if len(tok.encode(text, add_special_tokens=False)) != input_len:
            raise DataError(f"could not build a {input_len}-token prompt with {tokenizer}")
        prompts.append(Prompt(text, output_len, input_len))
    return prompts


def dataset_prompts(path: str | Path, n: int, output_len: int) -> list[Prompt]:
    """Prompts from a JSONL file with a `prompt` field (and optional `max_tokens`), cycled."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"prompt file {path} does not exist")
    rows = []
    for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            rows.append(Prompt(str(obj["prompt"]), int(obj.get("max_tokens", output_len)), None))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            raise DataError(f"{path}:{i}: expected a JSON object with a 'prompt' field") from None
    if not rows:
        raise DataError(f"{path}: no prompts")
    return [rows[i % len(rows)] for i in range(n)]


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    model: str
    api: str = "completions"  # or "chat"
    ignore_eos: bool = False
    api_key: str | None = None
    timeout_s: float = 120.0

    def url(self) -> str:
        return f"{self.base_url}/{'chat/completions' if self.api == 'chat' else 'completions'}"

    def body(self, prompt: Prompt) -> dict[str, Any]:
        b: dict[str, Any] = {
            "model": self.model,
            "max_tokens": prompt.max_tokens,
            "temperature": 0.0,
        }
        if self.api == "chat":
            b["messages"] = [{"role": "user", "content": prompt.text}]
        else:
            b["prompt"] = prompt.text
        if self.ignore_eos:
            b["ignore_eos"] = True  # vLLM / SGLang extension: generate exactly max_tokens
        return b

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


async def _run_level(
    ep: Endpoint,
    prompts: list[Prompt],
    mode: str,
    value: float,
    burstiness: float,
    warmup: int,
    seed: int,
    max_concurrency: int | None,
) -> list[RequestTiming]:
    limits = httpx_limits(max_concurrency or (int(value) if mode == "concurrency" else 256))
    import httpx

    async with httpx.AsyncClient(timeout=ep.timeout_s, limits=limits) as client:
        url, headers = ep.url(), ep.headers()
        for i in range(warmup):  # never measured
            await stream_request(client, url, ep.body(prompts[i % len(prompts)]), headers)
        results: list[RequestTiming | None] = [None] * len(prompts)
        if mode == "concurrency":
            next_i = 0

            async def client_loop() -> None:
                nonlocal next_i
                while next_i < len(prompts):
                    i = next_i
                    next_i += 1
                    results[i] = await stream_request(client, url, ep.body(prompts[i]), headers)

            await asyncio.gather(*(client_loop() for _ in range(int(value))))
        else:
            rng = np.random.default_rng(seed)
            gaps = rng.gamma(burstiness, 1.0 / (value * burstiness), size=len(prompts))
            offsets = np.concatenate([[0.0], np.cumsum(gaps[:-1])])
            sem = asyncio.Semaphore(max_concurrency) if max_concurrency else None
            loop = asyncio.get_running_loop()
            t0 = loop.time()

            async def one(i: int) -> None:
                await asyncio.sleep(max(0.0, t0 + offsets[i] - loop.time()))
                if sem is None:
                    results[i] = await stream_request(client, url, ep.body(prompts[i]), headers)
                else:
                    async with sem:
                        results[i] = await stream_request(client, url, ep.body(prompts[i]), headers)

            await asyncio.gather(*(one(i) for i in range(len(prompts))))
    return [r for r in results if r is not None]


def httpx_limits(n: int) -> Any:
    import httpx

    return httpx.Limits(max_connections=max(1, n), max_keepalive_connections=max(1, n))


def run_level(
    ep: Endpoint,
    prompts: list[Prompt],
    mode: str,
    value: float,
    *,
    burstiness: float = 1.0,
    warmup: int = 2,
    seed: int = 0,
    max_concurrency: int | None = None,
) -> list[dict[str, Any]]:
    """Send every prompt under one load level; the measured requests' timings (start-relative)."""
    timings = asyncio.run(
        _run_level(ep, prompts, mode, value, burstiness, warmup, seed, max_concurrency)
    )
    if timings and all(t.error.startswith(("ConnectError", "ConnectTimeout")) for t in timings):
        raise ModelError(f"cannot connect to {ep.base_url}: {timings[0].error}")
    t0 = min(t.start for t in timings) if timings else 0.0
    out = []
    for t in timings:
        d = t.to_dict()
        d["start"] -= t0
        d["end"] -= t0
        d["chunk_times"] = [c - t0 for c in d["chunk_times"]]
        out.append(d)
    return out
