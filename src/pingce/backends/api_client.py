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

Why aiohttp: the client's own CPU time bounds the requests/s a run sustains against a fast
server. httpx/httpcore's pool scans every pooled connection (with a `getpeername` and a
readability poll each) on every request, so its CPU cost grows with the concurrency
(~2 ms/request at 256); aiohttp's pool and C HTTP parser cost ~0.1 ms/request at any
concurrency (benchmarks/api_overhead.py, docs/standards/llm-served.md).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from pingce.core.errors import ModelError

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

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


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

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, 2.0 * self.rate)
        self.level = self.capacity
        self.stamp = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    async def take(self, amount: float) -> None:
        async with self._lock:  # first come, first served
            need = min(amount, self.capacity)
            self._refill()
            while self.level < need:
                await asyncio.sleep((need - self.level) / self.rate)
                self._refill()
            self.level -= amount

    def adjust(self, delta: float) -> None:
        """Charge (or refund) the difference between an estimate and the real usage."""
        self.level = min(self.capacity, self.level - delta)


def retry_after_seconds(value: str | None, limit: float) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), capped at `limit`."""
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
        seconds = when.timestamp() - time.time()
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
        data = json.loads(body)
    except ValueError:
        return _short(body.decode("utf-8", "replace"))
    err = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(err, dict):
        return _short(str(err.get("message") or err))
    return _short(str(err))


class Reply:
    """One 2xx answer as a parser sees it: the whole body, or (streaming) its lines.

    A thin view over `aiohttp.ClientResponse`, so parsers do not depend on the HTTP library.
    """

    __slots__ = ("path", "status", "headers", "content", "_resp")

    def __init__(
        self,
        path: str,
        status: int,
        headers: CIMultiDictProxy[str],
        content: bytes,
        resp: aiohttp.ClientResponse | None = None,
    ) -> None:
        self.path = path  # the endpoint path, e.g. /v1/completions (for messages)
        self.status = status
        self.headers = headers
        self.content = content  # the body (b"" for a stream not yet read)
        self._resp = resp

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    async def lines(self) -> AsyncIterator[str]:
        """The streamed body line by line (without line ends), as it arrives.

        Split here rather than by aiohttp's line iterator, whose line-length limit (the
        stream's high-water mark, 128 KiB by default) differs between aiohttp versions: a
        server-sent event carrying top logprobs can be longer.
        """
        assert self._resp is not None, "lines() is for streamed answers"
        buf = bytearray()
        async for chunk in self._resp.content.iter_any():
            buf += chunk
            end = buf.rfind(b"\n")
            if end < 0:
                continue
            for line in bytes(buf[:end]).split(b"\n"):
                yield line.rstrip(b"\r").decode("utf-8", "replace")
            del buf[: end + 1]
        if buf:
            yield bytes(buf).rstrip(b"\r").decode("utf-8", "replace")


# What a parser gets: the answer after a 2xx status and when the attempt started.
Parser = Callable[[Reply, float], Awaitable[Any]]


class ApiClient:
    """Sends requests to one OpenAI-compatible server under `ClientSettings`.

    The session is made lazily inside the event loop that uses it, and must be closed there
    (`aclose`).
    """

    def __init__(
        self, base_url: str, settings: ClientSettings, headers: dict[str, str] | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.settings = settings
        self._headers = dict(headers or {})
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}  # parsed once per path: yarl parsing is not free
        self.limiter = AdaptiveLimiter(settings.concurrency, settings.adaptive)
        self.rpm = (
            RateBudget(settings.requests_per_minute) if settings.requests_per_minute else None
        )
        self.tpm = RateBudget(settings.tokens_per_minute) if settings.tokens_per_minute else None
        self.stats = ClientStats()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            s = self.settings
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=s.concurrency, limit_per_host=0),
                headers={"content-type": "application/json", **self._headers},
                # The total deadline is ours (asyncio.timeout in `request`); aiohttp bounds
                # only connecting, and its own 5-minute default total is switched off.
                timeout=aiohttp.ClientTimeout(total=None, connect=s.connect_timeout_s),
                raise_for_status=False,
            )
        return self._session

    def _url(self, path: str) -> URL:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = URL(self.base_url + path)
        return url

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get_json(self, path: str) -> Any:
        """One GET without retries (for discovery such as /models); None on any failure."""
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                async with self._http().get(self._url(path)) as resp:
                    body = await resp.read()
            return json.loads(body) if resp.status == 200 else None
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None

    async def request(
        self, path: str, body: dict[str, Any], parse: Parser, *, stream: bool, tokens: int = 0
    ) -> Any:
        """POST `body` to `path` and return `parse(reply, started)`, retrying as configured.

        `tokens` is the request's estimated token cost, charged to the tokens/min budget; when
        the parsed result is a dict with `tokens_in`/`tokens_out`, the estimate is corrected.
        """
        s = self.settings
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
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
            except TimeoutError as exc:  # our deadline, or aiohttp's connect timeout
                failure = Retryable(
                    f"connecting timed out after {s.connect_timeout_s:g} s"
                    if isinstance(exc, aiohttp.ClientError)
                    else f"timed out after {s.timeout_s:g} s"
                )
            except aiohttp.ClientError as exc:  # refused, reset, truncated body
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
        url = self._url(path)
        started = time.perf_counter()
        async with self._http().post(url, data=content) as resp:
            if not stream or resp.status >= 300:
                body = await resp.read()
                self._check_status(url.path, resp.status, resp.headers, body)
                return await parse(Reply(url.path, resp.status, resp.headers, body), started)
            return await parse(Reply(url.path, resp.status, resp.headers, b"", resp), started)

    def _check_status(
        self, path: str, code: int, headers: CIMultiDictProxy[str], body: bytes
    ) -> None:
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
        data = json.loads(reply.content)
    except ValueError:
        raise Retryable(f"malformed JSON from {reply.path}: {_short(reply.text, 80)!r}") from None
    if not isinstance(data, dict):
        raise Retryable(f"unexpected JSON from {reply.path}: not an object")
    if "error" in data and "choices" not in data:
        raise Retryable(f"error from {reply.path}: {_error_detail(reply.content)}")
    return data
