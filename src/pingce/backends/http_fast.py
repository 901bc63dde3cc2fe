"""A lean HTTP/1.1 client transport: keep-alive connections on asyncio Protocols, responses
parsed by httptools (Node's llhttp, the parser uvicorn uses).

`ApiClient` sends one JSON POST (or GET) per attempt and reads either the whole body or a
stream of body chunks (server-sent events). For that, a general HTTP client spends most of
its time on generality: request and response objects, header multidicts, URL objects, stream
readers, per-request timers and several tasks and futures per request. Here one request costs
one `transport.write` of a prebuilt head plus the body, one llhttp parse of what arrives and
one future the caller awaits; on an instant server that is ~3x less client CPU than aiohttp
(benchmarks/api_overhead.py).

What it does: HTTP and HTTPS (asyncio's ssl, system CA store, hostname checked),
Content-Length, chunked and read-until-close bodies, gzip/deflate bodies, 1xx interim answers,
a LIFO pool of idle keep-alive connections (dropped when the server closes them), a connect
timeout, back-pressure on streamed bodies, and clean failure on resets and truncated or
unparseable answers (`HttpError`; the caller retries). What it does not: proxies, HTTP/2,
cookies, redirects, authentication schemes beyond fixed headers; `ApiClient` uses aiohttp
for those cases (see `choose_transport` in api_client.py).

The request head (with the API key) lives only in memory as bytes; no message here repeats a
header.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import httptools

STREAM_HIGH_WATER = 4 * 1024 * 1024  # unread streamed bytes above which reading pauses
# A caller may stop reading a stream at its last event ([DONE]) before the body's end (the
# last chunk) arrives: wait this long for it so the connection can be reused at once, then
# let it finish in the background for up to DRAIN_S before closing it.
END_WAIT_S = 0.25
DRAIN_S = 5.0


class HttpError(Exception):
    """One exchange failed below HTTP semantics: connecting, a reset, a cut or bad answer."""


class ConnectFailed(HttpError):
    """The TCP (or TLS) connection could not be opened."""


class ConnectTimeout(HttpError, TimeoutError):
    """Opening the connection took longer than the connect timeout."""


class ServerDisconnected(HttpError):
    """The server closed the connection before its answer was complete."""

    def __init__(self, message: str, *, before_answer: bool = False) -> None:
        super().__init__(message)
        self.before_answer = before_answer  # not one byte of the answer had arrived


class BadResponse(HttpError):
    """The bytes received are not a valid HTTP/1.x answer."""


class Headers(Mapping[str, str]):
    """Response headers, case-insensitive, decoded lazily (most answers need none of them)."""

    __slots__ = ("_raw", "_map")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._raw = raw
        self._map: dict[str, str] | None = None

    def _decoded(self) -> dict[str, str]:
        if self._map is None:
            m: dict[str, str] = {}
            for name, value in self._raw:
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                m[key] = f"{m[key]}, {text}" if key in m else text
            self._map = m
        return self._map

    def __getitem__(self, key: str) -> str:
        return self._decoded()[key.lower()]

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return self._decoded().get(key.lower(), default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())


# What a caller does with an answer: (status, headers, whole body, or None and the chunks).
Handler = Callable[
    [int, Mapping[str, str], bytes, Callable[[], AsyncIterator[bytes]] | None], Awaitable[Any]
]


class _Connection(asyncio.Protocol):
    """One keep-alive connection carrying one exchange at a time.

    httptools calls the `on_*` methods while `data_received` feeds it; the exchange waits on
    `waiter`, which is woken when what it waits for (the headers, more body, the end, an
    error) has arrived.
    """

    def __init__(self, pool: FastTransport) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.busy = False
        self.draining = False
        self.drain_timer: asyncio.TimerHandle | None = None
        self.paused = False
        self.waiter: asyncio.Future[None] | None = None
        self._begin(False)

    def _begin(self, stream: bool) -> None:
        self.stream = stream
        self.status = 0
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.buffered = 0
        self.received = False  # any byte of this answer arrived
        self.headers_done = False
        self.complete = False
        self.keep_alive = True
        self.until_eof = False
        self.has_length = False
        self.chunked = False
        self.encoding = b""
        self.error: HttpError | None = None

    # ---- asyncio.Protocol -------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.busy:  # bytes nobody asked for: the connection is out of step
            self._close()
            return
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(BadResponse("the server switched protocols (upgrade), unsupported"))
        except httptools.HttpParserError as exc:
            self._fail(BadResponse(f"malformed HTTP answer: {exc}"))
        if self.stream and self.headers_done:
            self._wake()

    def eof_received(self) -> bool | None:
        self.closed = True  # seen at once by the pool, before connection_lost is scheduled
        return None  # close our side too (connection_lost follows)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.busy and not self.complete and self.error is None:
            if self.until_eof and self.headers_done:
                self.complete = True  # a body delimited by the end of the connection
            elif not self.received:
                self.error = ServerDisconnected(
                    "the server closed the connection before answering", before_answer=True
                )
            else:
                self.error = ServerDisconnected(
                    "the server closed the connection before the answer was complete"
                )
            self._wake()
        elif self.draining:
            self.draining = False
            if self.drain_timer is not None:
                self.drain_timer.cancel()
                self.drain_timer = None
            self.pool._all.discard(self)

    def pause_writing(self) -> None:  # our bodies are small; the kernel buffer absorbs them
        pass

    def resume_writing(self) -> None:
        pass

    # ---- httptools callbacks ----------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.raw_headers.append((name, value))
        lname = name.lower()
        if lname == b"content-length":
            self.has_length = True
        elif lname == b"transfer-encoding":
            self.chunked = b"chunked" in value.lower()
        elif lname == b"content-encoding":
            self.encoding = value.strip().lower()

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        if 100 <= self.status < 200:
            return  # an interim answer; the real one follows
        self.headers_done = True
        self.keep_alive = self.parser.should_keep_alive()
        no_body = self.status in (204, 304)
        self.until_eof = not (self.has_length or self.chunked or no_body)
        if not self.stream or self.status >= 300:
            self.stream = False  # errors are read whole
        else:
            self._wake()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)
        if self.stream:
            self.buffered += len(body)
            if self.buffered > STREAM_HIGH_WATER and not self.paused and self.transport:
                self.paused = True
                self.transport.pause_reading()

    def on_message_complete(self) -> None:
        if not self.headers_done:  # end of a 1xx interim answer
            self.raw_headers = []
            self.has_length = self.chunked = False
            self.encoding = b""
            return
        self.complete = True
        if self.draining:
            self.draining = False
            if self.drain_timer is not None:
                self.drain_timer.cancel()
                self.drain_timer = None
            self.busy = False
            self.body = []
            self.pool._put_back(self)
        else:
            self._wake()

    # ---- exchange side ----------------------------------------------------------------
    def _wake(self) -> None:
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _fail(self, error: HttpError) -> None:
        if self.error is None:
            self.error = error
        self._close()
        self._wake()

    def _close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    async def wait(self) -> None:
        self.waiter = self.pool.loop.create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None

    def take_body(self) -> bytes:
        parts, self.body = self.body, []
        self.buffered = 0
        if self.paused and self.transport is not None and not self.closed:
            self.paused = False
            self.transport.resume_reading()
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def decoder(self) -> Any:
        """A zlib decompressor for a gzip/deflate body, None for identity."""
        if not self.encoding or self.encoding == b"identity":
            return None
        if self.encoding in (b"gzip", b"x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self.encoding == b"deflate":
            return zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib- or gzip-wrapped
        raise BadResponse(f"unsupported content-encoding {self.encoding.decode('latin-1')!r}")


def _decode(decoder: Any, data: bytes, final: bool) -> bytes:
    try:
        out: bytes = decoder.decompress(data)
        return out + decoder.flush() if final else out
    except zlib.error as exc:
        raise BadResponse(f"cannot decompress the answer: {exc}") from None


class FastTransport:
    """A keep-alive connection pool to one origin (scheme, host, port), for `ApiClient`.

    Make it inside the event loop that uses it; close it there (`aclose`).
    """

    name = "httptools"

    def __init__(
        self, base_url: str, headers: Mapping[str, str], *, connect_timeout_s: float
    ) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.loop = asyncio.get_running_loop()
        self.host = url.hostname
        self.tls = url.scheme == "https"
        self.port = url.port or (443 if self.tls else 80)
        self.base_path = url.path.rstrip("/")
        self.connect_timeout_s = connect_timeout_s
        self._ssl: ssl.SSLContext | None = ssl.create_default_context() if self.tls else None
        host = f"[{self.host}]" if ":" in self.host else self.host
        default_port = self.port == (443 if self.tls else 80)
        lines = [
            f"Host: {host if default_port else f'{host}:{self.port}'}",
            "Accept: */*",
            "Accept-Encoding: gzip, deflate",
            "User-Agent: pingce",
            "Content-Type: application/json",
        ]
        for k, v in headers.items():
            if "\r" in k or "\n" in k or "\r" in v or "\n" in v:
                raise ValueError(f"header {k!r} contains a line break")
            if k.lower() not in ("host", "content-length", "content-type", "transfer-encoding"):
                lines.append(f"{k}: {v}")
        self._common = ("\r\n".join(lines) + "\r\n").encode("latin-1")
        self._heads: dict[tuple[str, str], bytes] = {}
        self._idle: list[_Connection] = []
        self._all: set[_Connection] = set()
        self._closed = False

    def _head(self, method: str, path: str) -> bytes:
        head = self._heads.get((method, path))
        if head is None:
            head = self._heads[(method, path)] = (
                f"{method} {self.base_path}{path} HTTP/1.1\r\n".encode("latin-1")
                + self._common
                + b"Content-Length: "
            )
        return head

    async def _connect(self) -> _Connection:
        if self._closed:
            raise ConnectFailed("the client is closed")
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, conn = await self.loop.create_connection(
                    lambda: _Connection(self),
                    self.host,
                    self.port,
                    ssl=self._ssl,
                    server_hostname=self.host if self.tls else None,
                )
        except TimeoutError:
            raise ConnectTimeout(
                f"connecting to {self.host}:{self.port} timed out after "
                f"{self.connect_timeout_s:g} s"
            ) from None
        except OSError as exc:  # refused, unreachable, DNS, TLS handshake/certificate
            why = exc.strerror or str(exc) or type(exc).__name__
            raise ConnectFailed(f"cannot connect to {self.host}:{self.port}: {why}") from None
        self._all.add(conn)
        return conn

    def _put_back(self, conn: _Connection) -> None:
        if conn.closed or self._closed or not conn.keep_alive:
            conn._close()
            self._all.discard(conn)
        else:
            self._idle.append(conn)

    def _release(self, conn: _Connection, finished: bool) -> None:
        """After an exchange: back to the pool, left to finish a stream, or closed."""
        if conn.complete and conn.error is None and not conn.closed:
            conn.busy = False
            conn.body = []
            self._put_back(conn)
        elif finished and conn.stream and conn.error is None and not conn.closed:
            # The caller stopped at the last event ([DONE]); the body's end is on its way.
            conn.draining = True
            conn.body = []
            conn.drain_timer = self.loop.call_later(DRAIN_S, self._drain_expired, conn)
        else:
            conn._close()
            self._all.discard(conn)

    def _drain_expired(self, conn: _Connection) -> None:
        conn.drain_timer = None
        if conn.draining:
            conn.draining = False
            conn._close()
            self._all.discard(conn)

    async def exchange(
        self, method: str, path: str, content: bytes, stream: bool, handle: Handler
    ) -> Any:
        """Send one request and return `handle(status, headers, body, chunks)`.

        A non-streamed answer, or any answer with status >= 300, is read whole (`chunks` is
        None); a streamed 2xx answer gives `body=b""` and `chunks()`, an async iterator over
        the body as it arrives. A pooled connection the server closed while idle (its
        keep-alive timeout) is replaced once, transparently, if it closes before one byte of
        the answer arrives; any other failure raises `HttpError`.
        """
        conn = None
        idle = self._idle
        while idle:
            c = idle.pop()
            if not c.closed:
                conn = c
                break
            self._all.discard(c)
        if conn is not None:
            try:
                return await self._exchange_on(conn, method, path, content, stream, handle)
            except ServerDisconnected as exc:
                if not exc.before_answer:
                    raise
        conn = await self._connect()
        return await self._exchange_on(conn, method, path, content, stream, handle)

    async def _exchange_on(
        self,
        conn: _Connection,
        method: str,
        path: str,
        content: bytes,
        stream: bool,
        handle: Handler,
    ) -> Any:
        conn._begin(stream)
        conn.busy = True
        finished = False
        try:
            assert conn.transport is not None
            conn.transport.write(self._head(method, path) + b"%d\r\n\r\n" % len(content) + content)
            if stream:
                while not conn.headers_done and not conn.complete and conn.error is None:
                    await conn.wait()
            else:
                while not conn.complete and conn.error is None:
                    await conn.wait()
            if conn.error is not None:
                raise conn.error
            headers = Headers(conn.raw_headers)
            if conn.stream:  # a streamed 2xx answer
                result = await handle(conn.status, headers, b"", conn_chunks(conn))
                if not conn.complete and conn.error is None and not conn.closed:
                    try:
                        async with asyncio.timeout(END_WAIT_S):
                            while not conn.complete and conn.error is None:
                                await conn.wait()
                    except TimeoutError:
                        pass  # _release drains it in the background
            else:
                while not conn.complete and conn.error is None:
                    await conn.wait()  # a >= 300 answer to a streamed request: read it whole
                if conn.error is not None:
                    raise conn.error
                body = conn.take_body()
                dec = conn.decoder()
                if dec is not None:
                    body = _decode(dec, body, True)
                result = await handle(conn.status, headers, body, None)
            finished = True
            return result
        finally:
            self._release(conn, finished)

    async def aclose(self) -> None:
        self._closed = True
        for conn in list(self._all):
            conn._close()
        self._all.clear()
        self._idle.clear()


def conn_chunks(conn: _Connection) -> Callable[[], AsyncIterator[bytes]]:
    """The `chunks()` of one streamed answer: body bytes as they arrive, until its end."""

    async def chunks() -> AsyncIterator[bytes]:
        dec = conn.decoder()
        while True:
            if conn.body:
                data = conn.take_body()
                yield data if dec is None else _decode(dec, data, False)
                continue
            if conn.error is not None:
                raise conn.error
            if conn.complete:
                if dec is not None:
                    tail = _decode(dec, b"", True)
                    if tail:
                        yield tail
                return
            await conn.wait()

    return chunks
