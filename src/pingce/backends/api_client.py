"""Async HTTP engine for served models: bounded adaptive concurrency, retries, rate limits.

One `ApiClient` owns an `aiohttp.ClientSession` (a keep-alive connection pool sized to the
concurrency) and sends JSON requests with

- a concurrency limit that halves on overload (429/503) and grows by one after a window of
  successes, never above the configured maximum (`AdaptiveLimiter`);
- retries with exponential backoff and jitter on timeouts, connection errors, 429, 5xx,
  malformed JSON and truncated streams, waiting what a `Retry-After` header asks instead;
- a total per-request deadline and optional requests/min and tokens/min budgets.

A request that still fails after its retries raises `RequestFailed` with a one-line reason; a
server answer that shows a missing capability raises `ModelError` from the caller's parser and
stops the run. Secrets (the API key) live only in the client's default headers in memory and
never appear in a reason. See docs/standards/llm-served.md.

Transports: the client's own CPU time bounds the requests/s a run sustains against a fast
server. The default (`transport="auto"`) is `pingce.backends.http_fast` (keep-alive
connections on asyncio Protocols, httptools' llhttp parser; ~0.03 ms of client CPU per
request) on uvloop when installed; aiohttp (~0.09 ms/request) when httptools is missing, when
a proxy applies (HTTP(S)_PROXY, honoured with NO_PROXY), or when chosen with
`transport="aiohttp"` / `PINGCE_HTTP_TRANSPORT=aiohttp`. httpx/httpcore is not used: its pool
scans every pooled connection on every request (~2 ms/request at concurrency 256).
benchmarks/api_overhead.py and docs/standards/llm-served.md have the figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import urllib.request
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from pingce.core.errors import ModelError

try:  # the lean transport's parser (optional: aiohttp carries every request without it)
    from pingce.backends import http_fast
except ImportError:  # httptools not installed
    http_fast = None  # type: ignore[assignment]

try:  # ~3x faster JSON in and out (optional)
    import orjson
except ImportError:
    orjson = None  # type: ignore[assignment]

TRANSPORTS = ("auto", "httptools", "aiohttp")
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})
OVERLOAD_STATUSES = frozenset({429, 503, 529})


@dataclass(frozen=True)
class ClientSettings:
    """How requests are sent; none of these change a response, so none is in a cache key."""

    concurrency: int = 32  # most requests in flight at once
    adaptive: bool = True  # shrink on 429/503, grow back on sustained success
    timeout_s: float = 120.0  # total deadline of one attempt, streaming included
    connect_timeout_s: float = 10.0
    max_retries: int = 6  # attempts after the first
    backoff_base_s: float = 0.5  # first retry waits about this long (doubling after)
    backoff_max_s: float = 30.0
    retry_after_max_s: float = 300.0  # longest Retry-After we honour as given
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    transport: str = "auto"  # auto | httptools | aiohttp (see choose_transport)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def dumps(obj: Any) -> bytes:
    """A request body as UTF-8 JSON (orjson when installed)."""
    if orjson is not None:
        try:
            out: bytes = orjson.dumps(obj)
            return out
        except TypeError:  # e.g. an int beyond 64 bits: the standard library takes it
            pass
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def loads(data: bytes | str) -> Any:
    """JSON from a server (orjson when installed). The standard library decides what orjson
    refuses but Python accepts (NaN, Infinity, huge integers, lone surrogates).

    Bytes that are not valid UTF-8 are kept as lone surrogates (surrogateescape), which the
    backends replace and flag (`repair_text`) instead of failing the request.
    """
    if orjson is not None:
        try:
            return orjson.loads(data)
        except ValueError:
            pass
    if isinstance(data, bytes | bytearray):
        try:
            return json.loads(data)
        except UnicodeDecodeError:
            data = bytes(data).decode("utf-8", "surrogateescape")
    return json.loads(data)


def env_proxy(base_url: str) -> str | None:
    """The proxy URL the environment sets for `base_url` (HTTP(S)_PROXY minus NO_PROXY)."""
    url = urlsplit(base_url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(url.scheme)
    if not proxy or urllib.request.proxy_bypass_environment(url.netloc, proxies):
        return None
    return proxy


def choose_transport(base_url: str, requested: str) -> tuple[str, str]:
    """(transport name, why) for a base URL: "httptools" (pingce.backends.http_fast) unless
    aiohttp is asked for, httptools is not installed, or a proxy applies."""
    if requested not in TRANSPORTS:
        raise ValueError(f"transport {requested!r} is not one of {', '.join(TRANSPORTS)}")
    if requested == "aiohttp":
        return "aiohttp", "chosen"
    if env_proxy(base_url):
        return "aiohttp", "a proxy is set for this URL (HTTP(S)_PROXY)"
    if http_fast is None:
        return "aiohttp", "httptools is not installed"
    if urlsplit(base_url).scheme not in ("http", "https"):
        return "aiohttp", "not an http(s) URL"
    return "httptools", "chosen" if requested == "httptools" else "default"


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when installed (its callbacks and sockets cost about half of asyncio's),
    unless PINGCE_EVENT_LOOP=asyncio; None means asyncio's own."""
    if os.environ.get("PINGCE_EVENT_LOOP", "").lower() == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


# Transport-level failures of the lean transport (connect, reset, cut or malformed answer).
_HTTP_ERRORS: tuple[type[Exception], ...] = (http_fast.HttpError,) if http_fast else ()


def event_loop_name(loop: asyncio.AbstractEventLoop) -> str:
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


class RequestFailed(Exception):
    """One request failed after all its retries (or with a non-retryable status)."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


class Retryable(Exception):
    """One attempt failed in a way worth retrying (raised by parsers for truncated streams)."""

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class AdaptiveLimiter:
    """A semaphore whose size moves between 1 and `maximum` (AIMD, as TCP does).

    Overload halves the limit, but only once per "epoch": requests started before the last
    shrink and failing afterwards do not shrink it again, so one burst of 429s costs one
    halving. Each `limit` consecutive successes add one slot.
    """

    def __init__(self, maximum: int, adaptive: bool = True) -> None:
        self.maximum = max(1, maximum)
        self.limit = self.maximum
        self.adaptive = adaptive
        self.in_flight = 0
        self.epoch = 0
        self.peak = 0
        self.shrinks = 0
        self._successes = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> int:
        """Wait for a slot; returns the epoch the request started in."""
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
        else:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                await fut  # the releaser counted us in
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    self.release()
                raise
        self.peak = max(self.peak, self.in_flight)
        return self.epoch

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            fut = self._waiters.popleft()
            if not fut.done():
                self.in_flight += 1
                fut.set_result(None)

    def on_success(self) -> None:
        if not self.adaptive or self.limit >= self.maximum:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            self.limit += 1
            self._wake()

    def on_overload(self, started_epoch: int) -> None:
        if not self.adaptive or started_epoch != self.epoch:
            return
        self.epoch += 1
        self.shrinks += 1
        self._successes = 0
        self.limit = max(1, self.limit // 2)


class RateBudget:
    """A token bucket refilled at `per_minute / 60` per second, holding at most 2 s of budget.

    A request larger than the bucket waits until it is full and then takes it into debt, so
    one long prompt is never blocked forever.
    """

    def __init__(
        self,
        per_minute: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, 2.0 * self.rate)
        self.level = self.capacity
        # clock and sleep are parameters so a test can script time instead of waiting on it
        self._clock, self._sleep = clock, sleep
        self.stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    async def take(self, amount: float) -> None:
        async with self._lock:  # first come, first served
            need = min(amount, self.capacity)
            self._refill()
            # A shortfall below float resolution is none: (t2 - t1) * rate can land 2e-16 under
            # the amount, and sleeping 2e-17 s does not move a clock at t ~ 1 (a scripted clock
            # then loops forever; the real one busy-waits).
            while need - self.level > 1e-9 * need:
                await self._sleep((need - self.level) / self.rate)
                self._refill()
            self.level -= amount

    def adjust(self, delta: float) -> None:
        """Charge (or refund) the difference between an estimate and the real usage."""
        self.level = min(self.capacity, self.level - delta)


def retry_after_seconds(value: str | None, limit: float, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), capped at `limit`;
    an HTTP date counts from `now` (Unix seconds, default the current time)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(0.0, seconds), limit)


@dataclass
class ClientStats:
    requests: int = 0  # attempts sent
    retries: int = 0
    failures: int = 0  # requests given up on
    overloads: int = 0  # 429/503 answers


def _short(text: str, n: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _error_detail(body: bytes) -> str:
    """The server's own error message, if its body says one."""
    try:
        data = loads(body)
    except ValueError:
        return _short(body.decode("utf-8", "replace"))
    err = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(err, dict):
        return _short(str(err.get("message") or err))
    return _short(str(err))


class Reply:
    """One 2xx answer as a parser sees it: the whole body, or (streaming) its lines.

    The same for every transport, so parsers do not depend on the HTTP library.
    """

    __slots__ = ("path", "status", "headers", "content", "_chunks")

    def __init__(
        self,
        path: str,
        status: int,
        headers: Mapping[str, str],
        content: bytes,
        chunks: Callable[[], AsyncIterator[bytes]] | None = None,
    ) -> None:
        self.path = path  # the endpoint path, e.g. /v1/completions (for messages)
        self.status = status
        self.headers = headers  # case-insensitive
        self.content = content  # the body (b"" for a stream not yet read)
        self._chunks = chunks

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    async def lines(self) -> AsyncIterator[str]:
        """The streamed body line by line (without line ends), as it arrives.

        Split here rather than by a library's line reader, whose line-length limit (aiohttp's
        is its stream's high-water mark, 128 KiB by default, and differs between versions)
        a server-sent event carrying top logprobs can pass.
        """
        assert self._chunks is not None, "lines() is for streamed answers"
        buf = bytearray()
        async for chunk in self._chunks():
            buf += chunk
            end = buf.rfind(b"\n")
            if end < 0:
                continue
            for line in bytes(buf[:end]).split(b"\n"):
                yield line.rstrip(b"\r").decode("utf-8", "surrogateescape")
            del buf[: end + 1]
        if buf:
            # Invalid UTF-8 survives as lone surrogates, replaced and flagged with the text.
            yield bytes(buf).rstrip(b"\r").decode("utf-8", "surrogateescape")


# What a transport hands back: (status, headers, whole body, or b"" and the body's chunks).
Handler = Callable[
    [int, Mapping[str, str], bytes, Callable[[], AsyncIterator[bytes]] | None], Awaitable[Any]
]


class AiohttpTransport:
    """The aiohttp transport: one `ClientSession` whose keep-alive pool is sized to the
    concurrency; proxies from the environment when one applies (`trust_env`)."""

    name = "aiohttp"

    def __init__(self, base_url: str, settings: ClientSettings, headers: Mapping[str, str]) -> None:
        self.base_url = base_url
        self._urls: dict[str, URL] = {}  # parsed once per path: yarl parsing is not free
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=settings.concurrency, limit_per_host=0),
            headers={"content-type": "application/json", **headers},
            # The total deadline is ApiClient's (asyncio.timeout in `request`); aiohttp bounds
            # only connecting, and its own 5-minute default total is switched off.
            timeout=aiohttp.ClientTimeout(total=None, connect=settings.connect_timeout_s),
            raise_for_status=False,
            trust_env=env_proxy(base_url) is not None,
        )

    def _url(self, path: str) -> URL:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = URL(self.base_url + path)
        return url

    async def exchange(
        self, method: str, path: str, content: bytes, stream: bool, handle: Handler
    ) -> Any:
        async with self.session.request(method, self._url(path), data=content or None) as resp:
            if not stream or resp.status >= 300:
                body = await resp.read()
                return await handle(resp.status, resp.headers, body, None)
            return await handle(resp.status, resp.headers, b"", resp.content.iter_any)

    async def aclose(self) -> None:
        await self.session.close()


# What a parser gets: the answer after a 2xx status and when the attempt started.
Parser = Callable[[Reply, float], Awaitable[Any]]


class ApiClient:
    """Sends requests to one OpenAI-compatible server under `ClientSettings`.

    The transport is chosen at construction (`transport`, `transport_reason`) and made lazily
    inside the event loop that uses it; close it there (`aclose`).
    """

    def __init__(
        self, base_url: str, settings: ClientSettings, headers: dict[str, str] | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._base_path = urlsplit(self.base_url).path.rstrip("/")
        self.settings = settings
        self._headers = dict(headers or {})
        for k, v in self._headers.items():
            if any(c in k + v for c in "\r\n"):  # never echo the value: it may be the key
                raise ModelError(f"the HTTP header {k!r} contains a line break")
        self.transport, self.transport_reason = choose_transport(self.base_url, settings.transport)
        self._http: Any = None  # AiohttpTransport | http_fast.FastTransport
        self.limiter = AdaptiveLimiter(settings.concurrency, settings.adaptive)
        self.rpm = (
            RateBudget(settings.requests_per_minute) if settings.requests_per_minute else None
        )
        self.tpm = RateBudget(settings.tokens_per_minute) if settings.tokens_per_minute else None
        self.stats = ClientStats()

    @property
    def is_open(self) -> bool:
        return self._http is not None

    def _open(self) -> Any:
        if self._http is None:
            if self.transport == "httptools":
                self._http = http_fast.FastTransport(
                    self.base_url, self._headers, connect_timeout_s=self.settings.connect_timeout_s
                )
            else:
                self._http = AiohttpTransport(self.base_url, self.settings, self._headers)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

    async def get_json(self, path: str) -> Any:
        """One GET without retries (for discovery such as /models); None on any failure."""

        async def handle(status: int, _h: Any, body: bytes, _c: Any) -> Any:
            return loads(body) if status == 200 else None

        try:
            async with asyncio.timeout(self.settings.timeout_s):
                return await self._open().exchange("GET", path, b"", False, handle)
        except (aiohttp.ClientError, *_HTTP_ERRORS, OSError, ValueError):  # timeouts included
            return None

    async def request(
        self, path: str, body: dict[str, Any], parse: Parser, *, stream: bool, tokens: int = 0
    ) -> Any:
        """POST `body` to `path` and return `parse(reply, started)`, retrying as configured.

        `tokens` is the request's estimated token cost, charged to the tokens/min budget; when
        the parsed result is a dict with `tokens_in`/`tokens_out`, the estimate is corrected.
        """
        s = self.settings
        content = dumps(body)
        attempt = 0
        while True:
            if self.rpm is not None:
                await self.rpm.take(1)
            if self.tpm is not None and tokens:
                await self.tpm.take(tokens)
            epoch = await self.limiter.acquire()
            self.stats.requests += 1
            try:
                async with asyncio.timeout(s.timeout_s):
                    result = await self._attempt(path, content, parse, stream)
            except Retryable as exc:
                failure = exc
            except TimeoutError as exc:  # our deadline, or the transport's connect timeout
                failure = Retryable(
                    f"connecting timed out after {s.connect_timeout_s:g} s"
                    if isinstance(exc, (aiohttp.ClientError, *_HTTP_ERRORS))
                    else f"timed out after {s.timeout_s:g} s"
                )
            except (aiohttp.ClientError, *_HTTP_ERRORS) as exc:  # refused, reset, cut body
                failure = Retryable(f"connection failed: {type(exc).__name__}: {_short(str(exc))}")
            else:
                self.limiter.on_success()
                if self.tpm is not None and tokens and isinstance(result, dict):
                    used = result.get("tokens_in", 0) + result.get("tokens_out", 0)
                    if used:
                        self.tpm.adjust(used - tokens)
                return result
            finally:
                self.limiter.release()
            if failure.status in OVERLOAD_STATUSES:
                self.stats.overloads += 1
                self.limiter.on_overload(epoch)
            if attempt >= s.max_retries:
                self.stats.failures += 1
                tries = attempt + 1
                raise RequestFailed(
                    f"{failure.reason} (gave up after {tries} attempt{'s' * (tries > 1)})", tries
                )
            attempt += 1
            self.stats.retries += 1
            await asyncio.sleep(self._delay(attempt, failure.retry_after))

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        s = self.settings
        cap = min(s.backoff_max_s, s.backoff_base_s * 2 ** (attempt - 1))
        return cap / 2 + random.uniform(0, cap / 2)  # "equal jitter": never zero, never lockstep

    async def _attempt(self, path: str, content: bytes, parse: Parser, stream: bool) -> Any:
        started = time.perf_counter()
        endpoint = self._path_of(path)

        async def handle(
            status: int,
            headers: Mapping[str, str],
            body: bytes,
            chunks: Callable[[], AsyncIterator[bytes]] | None,
        ) -> Any:
            if chunks is None:
                self._check_status(endpoint, status, headers, body)
            return await parse(Reply(endpoint, status, headers, body, chunks), started)

        return await self._open().exchange("POST", path, content, stream, handle)

    def _path_of(self, path: str) -> str:
        """The URL path of an endpoint, as messages name it (e.g. /v1/completions)."""
        return self._base_path + path

    def _check_status(self, path: str, code: int, headers: Mapping[str, str], body: bytes) -> None:
        if code < 300:
            return
        detail = _error_detail(body)
        reason = f"HTTP {code} from {path}: {detail}"
        if code in RETRY_STATUSES:
            retry_after = retry_after_seconds(
                headers.get("retry-after"), self.settings.retry_after_max_s
            )
            raise Retryable(reason, status=code, retry_after=retry_after)
        if code in (401, 403):
            raise ModelError(
                f"the server refused the API key: {reason}",
                hint="check --api-key-env names the variable that holds a valid key",
            )
        if code == 404:
            raise ModelError(
                f"{reason}",
                hint="check the base URL (it usually ends in /v1) and the model name",
            )
        raise RequestFailed(reason, 1)


def parse_json_body(reply: Reply) -> dict[str, Any]:
    """A 2xx body as a JSON object; malformed JSON is retryable (proxies truncate bodies)."""
    try:
        data = loads(reply.content)
    except ValueError:
        raise Retryable(f"malformed JSON from {reply.path}: {_short(reply.text, 80)!r}") from None
    if not isinstance(data, dict):
        raise Retryable(f"unexpected JSON from {reply.path}: not an object")
    if "error" in data and "choices" not in data:
        raise Retryable(f"error from {reply.path}: {_error_detail(reply.content)}")
    return data
