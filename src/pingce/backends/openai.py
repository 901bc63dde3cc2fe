"""Models behind an OpenAI-compatible HTTP API (vLLM, SGLang, TGI, Ollama, llama.cpp server,
`transformers serve`, and vendor APIs), as a `LanguageModel`.

Subject spec: `openai://HOST:PORT/v1?model=NAME` (http; `https=1` or port 443 for TLS), or
`openai:NAME` with the base URL in the `base_url` option. Other query parameters:
`tokenizer=PATH` (a local Hugging Face tokenizer: exact lm-eval-style token splits and rolling
windows), `endpoint=auto|chat|completions`, `revision=TAG` (recorded in the fingerprint).

- loglikelihood: `/v1/completions` with `echo: true, logprobs: 1, max_tokens: 1`, the
  continuation's tokens summed from the echoed prompt logprobs (as vLLM answers). With a
  tokenizer the prompt is sent as token ids and split exactly as the hf backend splits it;
  without one it is sent as text and split at the context's end by `text_offset`.
- loglikelihood_rolling: token windows as the hf backend makes them (needs a tokenizer).
- generate: `/v1/completions` for prompts, `/v1/chat/completions` for chats
  (`ChatGenerationRequest`), streamed by default to record time to first token and per-token
  arrival times; stop sequences are also applied here, since not every server trims them.

The API key is read from the environment variable named by `api_key_env` and kept only in
the HTTP client's headers: it is in no fingerprint, setting, record, cache entry or message.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from pingce.backends.api_client import (
    TRANSPORTS,
    ApiClient,
    ClientSettings,
    Reply,
    RequestFailed,
    Retryable,
    event_loop_factory,
    loads,
    parse_json_body,
)
from pingce.backends.base import (
    Generation,
    GenerationParams,
    GenerationRequest,
    LoglikelihoodResult,
    RollingResult,
    repair_text,
)
from pingce.backends.failures import RequestsFailed
from pingce.backends.pricing import load_price
from pingce.backends.served import ChatGenerationRequest, ServedGeneration
from pingce.core.errors import ModelError, SpecError
from pingce.core.fingerprint import canonical_json
from pingce.core.spec import SubjectSpec

try:  # faster request keys (optional)
    import orjson
except ImportError:
    orjson = None  # type: ignore[assignment]

ENDPOINTS = ("auto", "chat", "completions")
MAX_STOP_SEQUENCES = 4  # OpenAI's own API rejects more; the rest are applied client-side
MEMO_SIZE = 100_000  # finished answers kept in memory for the per-sample retry of a batch
DEFAULT_MAX_LENGTH = 2048

LIMITATION_HINT = (
    "score multiple choice generatively instead (a generative task with filters: "
    "[option_letter]; see docs/standards/llm-served.md), or serve the model with vLLM or SGLang"
)


@dataclass(frozen=True)
class _Call:
    kind: str  # loglikelihood | generation
    path: str
    body: dict[str, Any]
    stream: bool
    parse: Callable[..., Any]
    tokens: int  # estimated token cost for the tokens/min budget
    key: str


class _TokenView:
    """A local tokenizer with the hf backend's own pair splitting and rolling windows, reused
    as is so served and local scores split tokens identically."""

    def __init__(self, path: str, max_length: int) -> None:
        from transformers import AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
        except (OSError, ValueError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelError(f"cannot load tokenizer {path!r}: {first}") from None
        tok = self.tokenizer
        eot = tok.eos_token_id if tok.eos_token_id is not None else 0
        self.prefix_token_id: int = tok.bos_token_id if tok.bos_token_id is not None else eot
        self.max_length = max_length

    def tok_encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text))

    from pingce.backends.hf import HFCausalLM as _HF

    encode_pair = _HF.encode_pair
    rolling_windows = _HF.rolling_windows
    del _HF


def _tokenizer_digest(path: str) -> str:
    local = Path(path).expanduser()
    if local.is_dir():
        from pingce.backends.hf import model_files_digest

        files = [p for p in local.iterdir() if p.is_file() and "token" in p.name.lower()]
        if files:
            h = hashlib.sha256()
            for f in sorted(files):
                h.update(f.name.encode() + b"\0" + f.read_bytes())
            return h.hexdigest()
        return model_files_digest(local)
    return f"hub:{path}"


def _apply_stops(text: str, until: Sequence[str]) -> tuple[str, bool]:
    if not until:
        return text, False
    cut = min((text.index(s) for s in until if s and s in text), default=None)
    return (text, False) if cut is None else (text[:cut], True)


def _orjson_agrees(obj: Any) -> bool:
    """Whether orjson writes `obj` byte for byte as `canonical_json` does: only str keys,
    plain str/int/bool/None/list/tuple/dict values, and no float that orjson writes in
    positional notation where Python uses an exponent (0 < |x| < 1e-4) or as null (NaN, inf)."""
    t = type(obj)
    if t is str or t is int or t is bool or obj is None:
        return True
    if t is float:
        return obj == 0.0 or 1e-4 <= abs(obj) < math.inf
    if t is dict:
        return all(type(k) is str and _orjson_agrees(v) for k, v in obj.items())
    if t is list or t is tuple:
        return all(_orjson_agrees(v) for v in obj)
    return False  # anything else goes through canonical_json's `default=str`


def _canonical(obj: Any) -> str:
    """`canonical_json(obj)` (the request cache's key text), by orjson when that gives the
    same text: the key is made for every request, and the standard library's sorted dump is
    most of its cost."""
    if orjson is not None and _orjson_agrees(obj):
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode("utf-8")
        except TypeError:  # integers beyond 64 bits, lone surrogates, deep nesting
            pass
    return canonical_json(obj)


class OpenAICompatibleLM:
    """A model served over an OpenAI-compatible API, behind the `LanguageModel` protocol."""

    supports_chat = True  # generative tasks send chats as messages, not rendered prompts

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = None,
        client: ClientSettings | None = None,
        endpoint: str = "auto",
        stream: bool = True,
        tokenizer: str | None = None,
        max_length: int | None = None,
        prices: Any = None,
        request_cache: bool = True,
        revision: str | None = None,
        reasoning_effort: str | None = None,
    ) -> None:
        if endpoint not in ENDPOINTS:
            raise SpecError(f"endpoint {endpoint!r} is not one of {', '.join(ENDPOINTS)}")
        # What a pickled copy (a Ray actor's replica, a judge inside a task) reopens from.
        self._init_args = (base_url, model)
        self._init_kwargs = {
            "api_key_env": api_key_env,
            "client": client,
            "endpoint": endpoint,
            "stream": stream,
            "tokenizer": tokenizer,
            "max_length": max_length,
            "prices": prices,
            "request_cache": request_cache,
            "revision": revision,
            "reasoning_effort": reasoning_effort,
        }
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.endpoint = endpoint
        self.stream = stream
        self.api_key_env = api_key_env
        self.revision = revision
        # OpenAI-compatible reasoning models' thinking effort ("low", "medium", "high", ...),
        # passed through as given: the server says which values it accepts.
        self.reasoning_effort = reasoning_effort
        self.client_settings = client or ClientSettings()
        self.price = load_price(prices, model)
        self.use_request_cache = request_cache
        self.tokenizer_path = tokenizer
        self._max_length = max_length
        self._tokens: _TokenView | None = None
        self._tokenizer_digest = _tokenizer_digest(tokenizer) if tokenizer else None
        headers: dict[str, str] = {}
        if api_key_env:
            secret = os.environ.get(api_key_env, "")
            if not secret:
                raise ModelError(
                    f"the environment variable {api_key_env!r} named by --api-key-env is not set",
                    hint=f"export {api_key_env}=... before running",
                )
            headers["authorization"] = f"Bearer {secret}"
            del secret
        self.client = ApiClient(self.base_url, self.client_settings, headers)
        self._runner = asyncio.Runner(loop_factory=event_loop_factory())
        weakref.finalize(self, _shutdown, self._runner, self.client)
        self._key_prefix: str | None = None
        self._cache: Any = None
        self._memo: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._failed: dict[str, str] = {}
        self.cache_hits = 0

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles as its constructor arguments: the copy opens its own connections and
        reads the API key from the same environment variable (the key never travels), and
        has no request cache until `use_store` is called on it."""
        return (_reopen, (self._init_args, self._init_kwargs))

    # ---- identity ---------------------------------------------------------------------
    @property
    def batch_size(self) -> int:
        """Requests the task layer hands over at once (a standard's chunk is 8x this)."""
        return self.client_settings.concurrency

    def fingerprint(self) -> dict[str, Any]:
        fp: dict[str, Any] = {
            "backend": "openai",
            "base_url": self.base_url,
            "model": self.model,
            "revision": self.revision,
            "tokenizer": self._tokenizer_digest,
        }
        # It changes the answers, so it keys the records; absent when unset, so runs made
        # before the option existed keep their keys.
        if self.reasoning_effort is not None:
            fp["reasoning_effort"] = self.reasoning_effort
        return fp

    def settings(self) -> dict[str, Any]:
        """Recorded with the run; the key's variable NAME only, never its value."""
        return {
            **self.fingerprint(),
            "endpoint": self.endpoint,
            "stream": self.stream,
            "api_key_env": self.api_key_env,
            "client": self.client_settings.as_dict(),
            "request_cache": self.use_request_cache,
            "price": None
            if self.price is None
            else {
                "input_per_mtok": self.price.input_per_mtok,
                "output_per_mtok": self.price.output_per_mtok,
                "currency": self.price.currency,
            },
        }

    def use_store(self, store: Any) -> None:
        """Keep finished requests in the store's request cache (called by the standard)."""
        if self.use_request_cache:
            from pingce.core.request_cache import RequestCache

            self._cache = RequestCache(store, self.fingerprint())

    def close(self) -> None:
        _shutdown(self._runner, self.client)

    # ---- tokenizer-dependent helpers --------------------------------------------------
    def _token_view(self) -> _TokenView | None:
        if self.tokenizer_path and self._tokens is None:
            self._tokens = _TokenView(self.tokenizer_path, self._max_length or DEFAULT_MAX_LENGTH)
        return self._tokens

    def max_length(self) -> int:
        """The window for rolling loglikelihood: the option, else the server's max_model_len."""
        if self._max_length is None:
            data = self._runner.run(self.client.get_json("/models"))
            found = None
            for entry in (data or {}).get("data", []) if isinstance(data, dict) else []:
                if isinstance(entry, dict) and entry.get("id") == self.model:
                    found = entry.get("max_model_len")
            self._max_length = int(found) if isinstance(found, int) else DEFAULT_MAX_LENGTH
            if self._tokens is not None:
                self._tokens.max_length = self._max_length
        return self._max_length

    def count_tokens(self, text: str) -> int:
        view = self._token_view()
        if view is None:
            raise ModelError(
                f"counting tokens of {self.model!r} needs a local tokenizer",
                hint="add tokenizer=PATH to the subject spec",
            )
        return len(view.tok_encode(text))

    def chat_prompt(self, messages: Sequence[dict[str, str]]) -> str:
        view = self._token_view()
        if view is None or not getattr(view.tokenizer, "chat_template", None):
            raise ModelError(
                "a chat rendered to a prompt needs a local tokenizer with a chat template",
                hint="use endpoint=auto or chat so chats go to /chat/completions as messages",
            )
        text: str = view.tokenizer.apply_chat_template(
            list(messages), tokenize=False, add_generation_prompt=True
        )
        return text

    # ---- request execution ------------------------------------------------------------
    def _key(self, path: str, body: dict[str, Any], repeat: int) -> str:
        """`request_cache.request_key(fingerprint, path, body, repeat)`, with the
        fingerprint's canonical JSON made once rather than per request (it is the same
        sha256 of `[fingerprint, path, body, repeat]`; tests check they agree)."""
        if self._key_prefix is None:
            self._key_prefix = "[" + canonical_json(self.fingerprint()) + ","
        keyed = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
        text = f"{self._key_prefix}{canonical_json(path)},{_canonical(keyed)},{int(repeat)}]"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _call(
        self,
        kind: str,
        path: str,
        body: dict[str, Any],
        parse: Callable[..., Any],
        *,
        stream: bool,
        tokens: int,
        repeat: int = 0,
    ) -> _Call:
        return _Call(kind, path, body, stream, parse, tokens, self._key(path, body, repeat))

    def _execute(self, calls: Sequence[_Call]) -> tuple[list[dict[str, Any]], set[int]]:
        """Answers for `calls` from memory, the request cache or the server (in that order).

        Returns the answers and the indices answered from the request cache; raises
        `RequestsFailed` (after keeping every finished answer) when some failed for good.
        """
        answers: dict[str, dict[str, Any]] = {}
        for c in calls:
            if c.key in self._memo:
                answers[c.key] = self._memo[c.key]
        hits: set[str] = set()
        if self._cache is not None:
            missing = [c.key for c in calls if c.key not in answers]
            found = self._cache.get_many(missing) if missing else {}
            answers.update(found)
            hits = set(found)
        todo: dict[str, _Call] = {}
        for c in calls:
            if c.key not in answers and c.key not in self._failed:
                todo.setdefault(c.key, c)
        fresh: dict[str, dict[str, Any]] = {}
        if todo:
            fresh, failed = self._runner.run(self._send_all(list(todo.values())))
            self._failed.update(failed)
            answers.update(fresh)
            if self._cache is not None and fresh:
                self._cache.put_many({k: todo[k].kind for k in fresh}, fresh)
        for key, ans in answers.items():
            self._memo[key] = ans
            self._memo.move_to_end(key)
        while len(self._memo) > MEMO_SIZE:
            self._memo.popitem(last=False)
        self.cache_hits += len(hits)
        reasons = {i: self._failed[c.key] for i, c in enumerate(calls) if c.key not in answers}
        if reasons:
            raise RequestsFailed(reasons, len(calls))
        return [answers[c.key] for c in calls], {i for i, c in enumerate(calls) if c.key in hits}

    async def _send_all(
        self, calls: list[_Call]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        done: dict[str, dict[str, Any]] = {}
        failed: dict[str, str] = {}

        async def one(call: _Call) -> None:
            try:
                done[call.key] = await self.client.request(
                    call.path, call.body, call.parse, stream=call.stream, tokens=call.tokens
                )
            except RequestFailed as exc:
                failed[call.key] = exc.reason

        tasks = [asyncio.create_task(one(c)) for c in calls]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            # A whole-run error (a missing server capability, a refused key): stop the rest.
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return done, failed

    # ---- loglikelihood ----------------------------------------------------------------
    def _echo_body(self, prompt: str | list[int]) -> dict[str, Any]:
        return {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": 1,
            "temperature": 0.0,
            "echo": True,
            "logprobs": 1,
        }

    def loglikelihood(self, requests: Sequence[tuple[str, str]]) -> list[LoglikelihoodResult]:
        view = self._token_view()
        # Room for the prompt next to the one generated token the echo request asks for.
        window = self.max_length() - 1 if view is not None else 0
        calls = []
        for context, continuation in requests:
            if view is not None:
                ctx, cont = view.encode_pair(context, continuation)
                if not cont:
                    calls.append(None)
                    continue
                seq = (ctx + cont)[-window:]  # left truncation, as lm-eval's API models do
                parse = partial(self._parse_echo, span=(len(seq) - len(cont), len(seq)))
                body = self._echo_body(seq)
                tokens = len(seq) + 1
            else:
                if not context:
                    raise ModelError(
                        "an empty context cannot be scored through the API without a tokenizer "
                        "(the first token needs the model's prefix token)",
                        hint="add tokenizer=PATH to the subject spec",
                    )
                stripped = context.rstrip()
                text = context + continuation
                parse = partial(self._parse_echo, chars=(len(stripped), len(text)))
                body = self._echo_body(text)
                tokens = len(text) // 3 + 2
            calls.append(
                self._call(
                    "loglikelihood", "/completions", body, parse, stream=False, tokens=tokens
                )
            )
        real = [c for c in calls if c is not None]
        answers, _ = self._execute(real)
        it = iter(answers)
        out = []
        for c in calls:
            if c is None:
                out.append(LoglikelihoodResult(0.0, True, 0))
            else:
                a = next(it)
                out.append(
                    LoglikelihoodResult(a["logprob"], a["is_greedy"], a["n_tokens"], a["n_context"])
                )
        return out

    async def _parse_echo(
        self,
        resp: Reply,
        started: float,
        *,
        span: tuple[int, int] | None = None,
        chars: tuple[int, int] | None = None,
    ) -> dict[str, Any]:
        """Sum the echoed prompt logprobs of the continuation (token span or char range)."""
        data = parse_json_body(resp)
        try:
            choice = data["choices"][0]
        except (KeyError, IndexError, TypeError):
            raise Retryable("completion answer without choices") from None
        lp = choice.get("logprobs") if isinstance(choice, dict) else None
        tokens = lp.get("tokens") if isinstance(lp, dict) else None
        values = lp.get("token_logprobs") if isinstance(lp, dict) else None
        if not tokens or not values:
            raise ModelError(
                f"{self.base_url}/completions returned no prompt logprobs for model "
                f"{self.model!r}: the server ignores echo=true/logprobs, so it cannot score "
                "loglikelihoods",
                hint=LIMITATION_HINT,
            )
        top = lp.get("top_logprobs") or [None] * len(tokens)
        if span is not None:
            start, end = span
            if len(values) < end:
                raise ModelError(
                    f"{self.base_url}/completions echoed {len(values)} prompt tokens where "
                    f"{end} were sent: the server does not echo the prompt's logprobs",
                    hint=LIMITATION_HINT,
                )
            idx = list(range(start, end))
        else:
            assert chars is not None
            offsets = lp.get("text_offset")
            if not offsets:
                raise ModelError(
                    f"{self.base_url}/completions gives no text_offset with logprobs, so a "
                    "text prompt cannot be split into context and continuation",
                    hint="add tokenizer=PATH to the subject spec to send token ids",
                )
            split, length = chars
            idx = [i for i, off in enumerate(offsets) if split <= off < length]
            start = idx[0] if idx else len(offsets)
        total = 0.0
        greedy = True
        for i in idx:
            v = values[i]
            if v is None:
                raise ModelError(
                    f"{self.base_url}: the first continuation token has no logprob (nothing "
                    "precedes it in the prompt)",
                    hint="add tokenizer=PATH to the subject spec",
                )
            total += float(v)
            cands = top[i] if i < len(top) else None
            if isinstance(cands, dict) and cands:
                best = max(cands, key=lambda t: cands[t])
                greedy = greedy and (best == tokens[i] or cands[best] <= float(v))
        usage = data.get("usage") or {}
        return {
            "logprob": total,
            "is_greedy": greedy,
            "n_tokens": len(idx),
            "n_context": start,
            "tokens_in": int(usage.get("prompt_tokens") or (start + len(idx))),
            "tokens_out": 0,
            "seconds": time.perf_counter() - started,
        }

    def loglikelihood_rolling(self, texts: Sequence[str]) -> list[RollingResult]:
        view = self._token_view()
        if view is None:
            raise ModelError(
                "rolling loglikelihood (perplexity) through an API needs a local tokenizer to "
                "form windows and the prefix token",
                hint="add tokenizer=PATH to the subject spec",
            )
        view.max_length = self.max_length()
        calls: list[_Call] = []
        owners: list[int] = []
        counts: list[int] = []
        for t, text in enumerate(texts):
            tokens = view.tok_encode(text)
            counts.append(len(tokens))
            for history, target in view.rolling_windows(tokens):
                parse = partial(self._parse_echo, span=(len(history), len(history) + len(target)))
                body = self._echo_body(history + target)
                calls.append(
                    self._call(
                        "loglikelihood",
                        "/completions",
                        body,
                        parse,
                        stream=False,
                        tokens=len(history) + len(target) + 1,
                    )
                )
                owners.append(t)
        answers, _ = self._execute(calls)
        totals = [0.0] * len(texts)
        for owner, a in zip(owners, answers, strict=True):
            totals[owner] += a["logprob"]
        return [RollingResult(totals[t], counts[t]) for t in range(len(texts))]

    # ---- generation -------------------------------------------------------------------
    def _sampling(self, params: GenerationParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "max_tokens": params.max_new_tokens,
            "temperature": float(params.temperature),
            "seed": params.seed,
        }
        if not params.greedy and params.top_p < 1.0:
            body["top_p"] = params.top_p
        if self.reasoning_effort is not None:
            body["reasoning_effort"] = self.reasoning_effort
        stops = [s for s in params.until if s]
        if stops:
            body["stop"] = stops[:MAX_STOP_SEQUENCES]
        return body

    def _generation_call(self, req: GenerationRequest, repeat: int) -> _Call:
        messages = getattr(req, "messages", ()) if isinstance(req, ChatGenerationRequest) else ()
        chat = bool(messages) and self.endpoint != "completions"
        if not messages and self.endpoint == "chat":
            messages, chat = (("user", req.context),), True
        if messages and not chat:  # endpoint=completions: render with the local template
            body: dict[str, Any] = {
                "model": self.model,
                "prompt": self.chat_prompt([{"role": r, "content": c} for r, c in messages]),
            }
        elif chat:
            body = {
                "model": self.model,
                "messages": [{"role": r, "content": c} for r, c in messages],
            }
        else:
            body = {"model": self.model, "prompt": req.context}
        body.update(self._sampling(req.params))
        path = "/chat/completions" if chat else "/completions"
        if self.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        parse = partial(self._parse_stream if self.stream else self._parse_generation, chat=chat)
        tokens = len(req.context) // 3 + req.params.max_new_tokens
        return self._call(
            "generation", path, body, parse, stream=self.stream, tokens=tokens, repeat=repeat
        )

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        calls = []
        seen: dict[str, int] = {}
        for req in requests:
            repeat = 0
            if not req.params.greedy:
                # The n-th identical sampled request is repeat n: its own draw, its own cache entry.
                probe = self._generation_call(req, 0).key
                repeat = seen.get(probe, 0)
                seen[probe] = repeat + 1
            calls.append(self._generation_call(req, repeat))
        answers, hits = self._execute(calls)
        out: list[Generation] = []
        for i, (req, a) in enumerate(zip(requests, answers, strict=True)):
            # Answers cached before text was repaired at parse time are repaired here too.
            clean, repaired = repair_text(a["text"])
            text, stopped = _apply_stops(clean, req.params.until)
            reason = "stop" if stopped or a["finish_reason"] == "stop" else "length"
            out.append(
                ServedGeneration(
                    text=text,
                    tokens_in=int(a["tokens_in"]),
                    tokens_out=int(a["tokens_out"]),
                    seconds=float(a["seconds"]),
                    finish_reason=reason,
                    ttft_s=a.get("ttft_s"),
                    token_times_s=tuple(a.get("token_times_s") or ()),
                    usage_source=a["usage_source"],
                    cached=i in hits,
                    text_repaired=repaired or bool(a.get("text_repaired")),
                )
            )
        return out

    def _usage(self, usage: Any, prompt: str, text: str, chunks: int) -> tuple[int, int, str]:
        if isinstance(usage, dict) and usage.get("completion_tokens") is not None:
            return int(usage.get("prompt_tokens") or 0), int(usage["completion_tokens"]), "server"
        view = self._token_view()
        if view is not None:
            return len(view.tok_encode(prompt)), len(view.tok_encode(text)), "tokenizer"
        return 0, chunks, "missing"

    async def _parse_generation(self, resp: Reply, started: float, *, chat: bool) -> dict[str, Any]:
        data = parse_json_body(resp)
        try:
            choice = data["choices"][0]
            text = choice["message"].get("content") if chat else choice.get("text")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise Retryable("answer without choices[0] text") from None
        text, repaired = repair_text(text if isinstance(text, str) else "")
        t_in, t_out, source = self._usage(data.get("usage"), "", text, 0)
        return {
            "text": text,
            "text_repaired": repaired,
            "finish_reason": choice.get("finish_reason") or "length",
            "tokens_in": t_in,
            "tokens_out": t_out,
            "usage_source": source,
            "seconds": time.perf_counter() - started,
            "ttft_s": None,
            "token_times_s": [],
        }

    async def _parse_stream(self, resp: Reply, started: float, *, chat: bool) -> dict[str, Any]:
        parts: list[str] = []
        times: list[float] = []
        finish: str | None = None
        usage: Any = None
        done = False
        async for line in resp.lines():
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                done = True
                break
            try:
                event = loads(payload)
            except ValueError:
                raise Retryable(f"malformed JSON in the stream: {payload[:60]!r}") from None
            if not isinstance(event, dict):
                raise Retryable("malformed event in the stream")
            if event.get("error"):
                raise Retryable(f"error in the stream: {str(event['error'])[:200]}")
            if event.get("usage"):
                usage = event["usage"]
            for choice in event.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
                if piece and isinstance(piece, str):
                    parts.append(piece)
                    times.append(time.perf_counter() - started)
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
        if finish is None and not done:
            raise Retryable("the stream ended before its final chunk (truncated)")
        text, repaired = repair_text("".join(parts))
        t_in, t_out, source = self._usage(usage, "", text, len(times))
        return {
            "text": text,
            "text_repaired": repaired,
            "finish_reason": finish or "length",
            "tokens_in": t_in,
            "tokens_out": t_out,
            "usage_source": source,
            "seconds": time.perf_counter() - started,
            "ttft_s": times[0] if times else None,
            "token_times_s": times,
        }


def _reopen(args: tuple[str, str], kwargs: dict[str, Any]) -> OpenAICompatibleLM:
    return OpenAICompatibleLM(*args, **kwargs)


def _shutdown(runner: asyncio.Runner, client: ApiClient) -> None:
    """Close the HTTP client and the event loop (idempotent; also run at garbage collection)."""
    try:
        loop = runner.get_loop()
    except RuntimeError:  # already closed
        return
    if loop.is_running() or asyncio._get_running_loop() is not None:
        return  # collected inside another event loop: leave the sockets to the GC
    if client.is_open:
        runner.run(client.aclose())
    runner.close()


def base_url_of(subject: SubjectSpec, options: dict[str, Any]) -> tuple[str, str]:
    """(base URL, model name) from `openai://HOST:PORT/PATH?model=NAME` or `openai:NAME` +
    the `base_url` option."""
    params = subject.params
    explicit = options.get("base_url")
    if subject.raw.startswith(f"{subject.scheme}://"):
        model = params.get("model") or options.get("served_model")
        if not model:
            raise SpecError(
                f"subject {subject.raw!r} names no model",
                hint="write openai://HOST:PORT/v1?model=NAME",
            )
        host, _, path = subject.target.partition("/")
        tls = params.get("https", "").lower() in {"1", "true", "yes"} or host.endswith(":443")
        url = f"{'https' if tls else 'http'}://{host}/{path}".rstrip("/")
        return str(explicit or url), str(model)
    if not explicit:
        raise SpecError(
            f"subject {subject.raw!r} needs a base URL",
            hint="write openai://HOST:PORT/v1?model=NAME, or pass --base-url URL",
        )
    if not str(explicit).startswith(("http://", "https://")):
        raise SpecError(f"--base-url {explicit!r} must start with http:// or https://")
    return str(explicit), subject.target


def _positive(options: dict[str, Any], name: str, default: Any, cast: type = float) -> Any:
    value = options.get(name, default)
    if value is None:
        return None
    try:
        number = cast(value)
    except (TypeError, ValueError):
        raise SpecError(f"option {name} must be a number, got {value!r}") from None
    if number <= 0 and name not in {"max_retries"}:
        raise SpecError(f"option {name} must be positive, got {value!r}")
    if number < 0:
        raise SpecError(f"option {name} must not be negative, got {value!r}")
    return number


def _flag(options: dict[str, Any], name: str, default: bool) -> bool:
    """A yes/no option: a bool, or the text true/false/yes/no/1/0 (a YAML or CLI value)."""
    value = options.get(name, default)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "1", "on"}:
        return True
    if text in {"false", "no", "0", "off"}:
        return False
    raise SpecError(f"option {name} must be true or false, got {value!r}")


# What `pingce run --model-arg KEY=VALUE` may set for a served model, and how each value is
# read; the same names as the options table of docs/standards/llm-served.md.
MODEL_ARGS: dict[str, type] = {
    "base_url": str,
    "api_key_env": str,
    "concurrency": int,
    "adaptive": bool,
    "timeout_s": float,
    "connect_timeout_s": float,
    "max_retries": int,
    "backoff_base_s": float,
    "backoff_max_s": float,
    "requests_per_minute": float,
    "tokens_per_minute": float,
    "stream": bool,
    "endpoint": str,
    "tokenizer": str,
    "max_length": int,
    "prices": str,
    "request_cache": bool,
    "http_transport": str,
    "reasoning_effort": str,
}


# Those that only change how requests are sent, never what is asked or answered (so a resumed
# run may change them).
CLIENT_ONLY_ARGS = frozenset(
    {
        "concurrency",
        "adaptive",
        "timeout_s",
        "connect_timeout_s",
        "max_retries",
        "backoff_base_s",
        "backoff_max_s",
        "requests_per_minute",
        "tokens_per_minute",
        "request_cache",
        "http_transport",
    }
)


def parse_model_args(pairs: Sequence[str]) -> dict[str, Any]:
    """`KEY=VALUE` strings -> typed served-model options; unknown keys and values that do not
    parse are user errors naming the key."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SpecError(
                f"--model-arg {pair!r} is not KEY=VALUE", hint="e.g. --model-arg max_retries=2"
            )
        kind = MODEL_ARGS.get(key)
        if kind is None:
            raise SpecError(
                f"--model-arg: unknown served-model option {key!r}",
                hint=f"one of: {', '.join(MODEL_ARGS)}",
            )
        raw = raw.strip()
        if kind is bool:
            value: Any = _flag({key: raw}, key, False)
        elif kind is str:
            value = raw
        else:
            try:
                value = kind(raw)
            except ValueError:
                raise SpecError(
                    f"--model-arg {key}: expected {'an integer' if kind is int else 'a number'}, "
                    f"got {raw!r}"
                ) from None
            _positive({key: value}, key, None, kind)
        out[key] = value
    return out


def open_openai(subject: SubjectSpec, options: dict[str, Any]) -> OpenAICompatibleLM:
    """The `openai` backend: a subject spec and run options -> an `OpenAICompatibleLM`.

    Options read (all optional): base_url, api_key_env, concurrency (32), adaptive (true),
    timeout_s (120), max_retries (6), backoff_base_s (0.5), backoff_max_s (30),
    requests_per_minute, tokens_per_minute, stream (true), endpoint, tokenizer, max_length,
    prices (mapping or file), request_cache (true), http_transport (auto; else the
    PINGCE_HTTP_TRANSPORT environment variable: auto, httptools or aiohttp). Subject query
    parameters tokenizer, endpoint and revision work too.
    """
    base_url, model = base_url_of(subject, options)
    p = subject.params
    transport = str(
        options.get("http_transport") or os.environ.get("PINGCE_HTTP_TRANSPORT") or "auto"
    ).lower()
    if transport not in TRANSPORTS:
        raise SpecError(
            f"http_transport {transport!r} is not one of {', '.join(TRANSPORTS)}",
            hint="set the option or PINGCE_HTTP_TRANSPORT to auto, httptools or aiohttp",
        )
    client = ClientSettings(
        concurrency=_positive(options, "concurrency", 32, int),
        adaptive=_flag(options, "adaptive", True),
        timeout_s=_positive(options, "timeout_s", 120.0),
        connect_timeout_s=_positive(options, "connect_timeout_s", 10.0),
        max_retries=_positive(options, "max_retries", 6, int),
        backoff_base_s=_positive(options, "backoff_base_s", 0.5),
        backoff_max_s=_positive(options, "backoff_max_s", 30.0),
        requests_per_minute=_positive(options, "requests_per_minute", None),
        tokens_per_minute=_positive(options, "tokens_per_minute", None),
        transport=transport,
    )
    max_length = options.get("max_length") or p.get("max_length")
    return OpenAICompatibleLM(
        base_url,
        model,
        api_key_env=options.get("api_key_env") or None,
        client=client,
        endpoint=str(options.get("endpoint") or p.get("endpoint") or "auto"),
        stream=_flag(options, "stream", True),
        tokenizer=options.get("tokenizer") or p.get("tokenizer"),
        max_length=int(max_length) if max_length else None,
        prices=options.get("prices"),
        request_cache=_flag(options, "request_cache", True),
        revision=p.get("revision"),
        reasoning_effort=_effort(options.get("reasoning_effort")),
    )


def _effort(value: Any) -> str | None:
    """The `reasoning_effort` option: a non-empty word, or None when unset."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or not text.replace("_", "").isalnum():
        raise SpecError(
            f"option reasoning_effort must be a word such as low, medium or high, got {value!r}"
        )
    return text
