"""The lean HTTP/1.1 transport (`pingce.backends.http_fast`) against real sockets on 127.0.0.1.

A scripted server (a thread per connection, raw sockets) answers each request with bytes the
test writes by hand, sent in pieces with pauses so that they reach the client in separate TCP
reads: chunked bodies, server-sent events cut mid-line, mid-chunk-size and mid-UTF-8 character,
resets and closes mid-answer, interim 100 answers, gzip bodies, Retry-After. References: the
hand-written answer text (the client must reassemble exactly it), the server's own count of
connections and requests (keep-alive reuse, retries), the wall clock for Retry-After, and for
proxies the absolute-form request line an HTTP proxy receives (RFC 9112 section 3.2.2).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("httptools")

from datetime import UTC

from pingce.backends.api_client import choose_transport  # noqa: E402
from pingce.backends.base import GenerationParams, GenerationRequest  # noqa: E402
from pingce.backends.failures import RequestsFailed  # noqa: E402
from pingce.backends.openai import open_openai  # noqa: E402
from pingce.core.errors import SpecError  # noqa: E402
from pingce.core.spec import parse_subject  # noqa: E402

Action = bytes | float | str  # bytes to send, seconds to pause, "close" or "reset"
Script = Callable[[int, dict[str, Any]], list[Action]]  # (request number, JSON body) -> actions


class ScriptedServer:
    """Accepts connections; answers request n (counted over all connections) by script(n, body)."""

    def __init__(self, script: Script, tls: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.tls = tls
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.requests: list[tuple[int, bytes, dict[str, Any]]] = []  # (connection, head, body)
        self.lock = threading.Lock()
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.tls is not None:
                try:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    conn.close()
                    continue
            with self.lock:
                self.connections += 1
                number = self.connections
            threading.Thread(target=self._serve, args=(conn, number), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        with contextlib.suppress(OSError):  # the client resets connections it aborts
            self._answer(conn, number)

    def _answer(self, conn: socket.socket, number: int) -> None:
        buf = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buf) < length:
                    buf += conn.recv(65536)
                raw, buf = buf[:length], buf[length:]
                body = json.loads(raw) if raw else {}
                with self.lock:
                    n = len(self.requests)
                    self.requests.append((number, head, body))
                for action in self.script(n, body):
                    if isinstance(action, bytes):
                        conn.sendall(action)
                    elif isinstance(action, float):
                        time.sleep(action)
                    elif action == "reset":  # RST instead of FIN
                        conn.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                        )
                        return
                    elif action == "close":
                        return

    def stop(self) -> None:
        self.stopped = True
        self.sock.close()


@pytest.fixture
def scripted() -> Iterator[Callable[..., ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def make(script: Script, tls: ssl.SSLContext | None = None) -> ScriptedServer:
        servers.append(ScriptedServer(script, tls))
        return servers[-1]

    yield make
    for s in servers:
        s.stop()


def _json(obj: Any, extra: str = "") -> bytes:
    body = json.dumps(obj).encode()
    head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{extra}"
    return f"{head}content-length: {len(body)}\r\n\r\n".encode() + body


def _completion(text: str) -> dict[str, Any]:
    return {
        "choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": len(text.split())},
    }


def _lm(port: int, **options: Any):
    opts = {"stream": False, "request_cache": False, "max_retries": 2, "backoff_base_s": 0.01,
            "backoff_max_s": 0.02, "timeout_s": 5.0, **options}  # fmt: skip
    lm = open_openai(parse_subject(f"openai://127.0.0.1:{port}/v1?model=m"), opts)
    return lm


def _gen(lm: Any, prompts: list[str], max_new_tokens: int = 8) -> list[Any]:
    params = GenerationParams(max_new_tokens=max_new_tokens)
    return list(lm.generate([GenerationRequest(p, params) for p in prompts]))


def _pieces(data: bytes, cuts: list[int]) -> list[Action]:
    """`data` sent in pieces cut at the given offsets, with a pause between (separate reads)."""
    out: list[Action] = []
    start = 0
    for cut in [*cuts, len(data)]:
        out += [data[start:cut], 0.01]
        start = cut
    return out


def test_default_transport_is_httptools_and_aiohttp_stays_selectable(monkeypatch) -> None:
    monkeypatch.delenv("PINGCE_HTTP_TRANSPORT", raising=False)
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    lm = _lm(9)
    assert lm.client.transport == "httptools"
    assert lm.settings()["client"]["transport"] == "auto"
    lm.close()
    lm = _lm(9, http_transport="aiohttp")
    assert lm.client.transport == "aiohttp"
    lm.close()
    monkeypatch.setenv("PINGCE_HTTP_TRANSPORT", "aiohttp")
    lm = _lm(9)
    assert lm.client.transport == "aiohttp"
    lm.close()
    with pytest.raises(SpecError, match="http_transport 'curl'"):
        _lm(9, http_transport="curl")


def test_chunked_json_body_split_across_reads(scripted) -> None:
    body = json.dumps(_completion("héllo wörld")).encode()
    chunked = (
        b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:7], body[7:20], body[20:]))
        + b"0\r\n\r\n"
    )
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    data = head + chunked
    srv = scripted(lambda n, b: _pieces(data, [5, len(head) + 2, len(head) + 15, len(data) - 3]))
    lm = _lm(srv.port)
    [gen] = _gen(lm, ["x"])
    assert gen.text == "héllo wörld" and gen.tokens_out == 2
    lm.close()


def test_sse_events_split_mid_line_mid_chunk_and_mid_character(scripted) -> None:
    pieces = ["Grüß", " dich", " 世界", "!"]
    events = [
        {"choices": [{"index": 0, "text": p, "finish_reason": None}]} for p in pieces
    ] + [{"choices": [{"index": 0, "text": "", "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 2, "completion_tokens": 4}}]  # fmt: skip
    sse = (
        b"".join(f"data: {json.dumps(e, ensure_ascii=False)}\n\n".encode() for e in events)
        + b"data: [DONE]\n\n"
    )
    # Two HTTP chunks whose boundary is not an event boundary.
    mid = sse.index("世".encode()) + 1  # inside the 3-byte character
    chunked = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (mid, sse[:mid], len(sse) - mid, sse[mid:])
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    data = head + chunked
    cuts = [len(head) + 1, len(head) + 30, len(head) + 5 + mid, len(data) - 20, len(data) - 2]
    srv = scripted(lambda n, b: _pieces(data, cuts))
    lm = _lm(srv.port, stream=True)
    [gen] = _gen(lm, ["x"])
    assert gen.text == "Grüß dich 世界!"
    assert gen.tokens_out == 4 and gen.ttft_s is not None and len(gen.token_times_s) == 4
    assert list(gen.token_times_s) == sorted(gen.token_times_s)
    lm.close()


def _echo_upper(gap: float) -> Script:
    """Answers the prompt in capitals; streams end with the last chunk `gap` s after [DONE]."""

    def answer(n: int, body: dict[str, Any]) -> list[Action]:
        text = body["prompt"].upper()
        if not body.get("stream"):
            return [_json(_completion(text))]
        event = {"choices": [{"text": text, "finish_reason": "stop"}]}
        sse = f"data: {json.dumps(event)}\n\ndata: [DONE]\n\n".encode()
        head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        return [head + b"transfer-encoding: chunked\r\n\r\n" + b"%x\r\n%s\r\n" % (len(sse), sse),
                gap, b"0\r\n\r\n"]  # fmt: skip

    return answer


@pytest.mark.parametrize("stream", [False, True])
def test_keep_alive_connections_are_reused(scripted, stream) -> None:
    srv = scripted(_echo_upper(0.0))
    lm = _lm(srv.port, concurrency=1, stream=stream)
    texts = [g.text for g in _gen(lm, [f"a{i}" for i in range(10)])]
    assert texts == [f"A{i}" for i in range(10)]
    # A stream's last chunk may arrive after the client stopped at [DONE]; the connection
    # returns to the pool then, so back-to-back requests may alternate between two.
    assert srv.connections <= (2 if stream else 1)
    assert len(srv.requests) == 10
    lm.close()
    before = srv.connections
    lm = _lm(srv.port, concurrency=4, stream=stream)
    assert len(_gen(lm, [f"b{i}" for i in range(40)])) == 40
    assert srv.connections - before <= (8 if stream else 4)
    lm.close()


def test_stream_finished_late_returns_its_connection_to_the_pool(scripted) -> None:
    srv = scripted(_echo_upper(0.02))  # the last chunk comes 20 ms after [DONE]: waited for
    lm = _lm(srv.port, concurrency=1, stream=True)
    for i in range(4):
        assert [g.text for g in _gen(lm, [f"x{i}"])] == [f"X{i}"]
        time.sleep(0.05)
    assert srv.connections <= 2 and len(srv.requests) == 4
    lm.close()


def test_reset_mid_answer_is_retried_then_reported(scripted) -> None:
    full = _json(_completion("fine"))

    def answer(n: int, body: dict[str, Any]) -> list[Action]:
        if body["prompt"] == "always" or n == 0:
            return [full[: len(full) // 2], 0.01, "reset"]
        return [full]

    srv = scripted(answer)
    lm = _lm(srv.port)
    [gen] = _gen(lm, ["once"])  # first attempt cut by a reset, the retry answers
    assert gen.text == "fine" and len(srv.requests) == 2
    with pytest.raises(RequestsFailed) as err:
        _gen(lm, ["always"])
    [reason] = err.value.reasons.values()
    assert reason.startswith("connection failed") and "3 attempts" in reason
    lm.close()


def test_retry_after_is_honoured(scripted) -> None:
    err = b'{"error": {"message": "slow down"}}'
    busy = (
        b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 1\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(err), err)
    )
    srv = scripted(lambda n, b: [busy] if n == 0 else [_json(_completion("ok"))])
    lm = _lm(srv.port, max_retries=1)
    t0 = time.monotonic()
    [gen] = _gen(lm, ["x"])
    assert gen.text == "ok" and len(srv.requests) == 2
    assert time.monotonic() - t0 >= 1.0  # waited what Retry-After asked, not the 10 ms backoff
    assert lm.client.stats.overloads == 1
    lm.close()


def test_server_closing_idle_connections_costs_no_attempt(scripted) -> None:
    # Each answer says keep-alive, then the server closes the idle connection (as a
    # keep-alive timeout does) before the next batch; no request may fail or be retried.
    srv = scripted(lambda n, b: [_json(_completion("ok")), 0.02, "close"])
    lm = _lm(srv.port, concurrency=2, max_retries=0)
    for i in range(3):
        assert [g.text for g in _gen(lm, [f"a{i}", f"b{i}"])] == ["ok", "ok"]
        time.sleep(0.1)
    assert len(srv.requests) == 6 and lm.client.stats.retries == 0
    lm.close()


def test_interim_100_gzip_and_close_delimited_bodies(scripted) -> None:
    plain = json.dumps(_completion("zipped")).encode()
    packed = gzip.compress(plain)
    answers = {
        "interim": [b"HTTP/1.1 100 Continue\r\n\r\n", 0.01, _json(_completion("after 100"))],
        "gzip": [
            b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: %d\r\n\r\n"
            % len(packed) + packed
        ],
        "eof": [
            b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\n\r\n",
            0.01, json.dumps(_completion("until close")).encode(), 0.01, "close",
        ],
    }  # fmt: skip
    srv = scripted(lambda n, b: answers[b["prompt"]])
    lm = _lm(srv.port, concurrency=1)
    gens = _gen(lm, ["interim", "gzip", "eof", "interim"])
    assert [g.text for g in gens] == ["after 100", "zipped", "until close", "after 100"]
    assert lm.client.stats.retries == 0
    lm.close()


def test_malformed_http_answer_is_a_failed_request_with_reason(scripted) -> None:
    srv = scripted(lambda n, b: [b"HTTP/1.1 2x0 NOPE\r\nbroken\r\n\r\n"])
    lm = _lm(srv.port, max_retries=1)
    with pytest.raises(RequestsFailed) as err:
        _gen(lm, ["x"])
    [reason] = err.value.reasons.values()
    assert "BadResponse" in reason and "malformed HTTP answer" in reason and "2 attempts" in reason
    lm.close()


def test_api_key_header_is_sent_and_kept_out_of_failures(scripted, monkeypatch) -> None:
    secret = "sk-fast-transport-secret-0123456789"
    monkeypatch.setenv("PINGCE_FAST_KEY", secret)
    srv = scripted(lambda n, b: [b"HTTP/1.1 500 Oops\r\ncontent-length: 4\r\n\r\nnope"])
    lm = _lm(srv.port, api_key_env="PINGCE_FAST_KEY", max_retries=0)
    with pytest.raises(RequestsFailed) as err:
        _gen(lm, ["x"])
    assert secret not in str(err.value) and secret not in repr(err.value.reasons)
    assert f"\r\nauthorization: Bearer {secret}\r\n".encode() in srv.requests[0][1]
    lm.close()


def test_tls_with_a_local_certificate(scripted, tmp_path: Path, monkeypatch) -> None:
    crypto = pytest.importorskip("cryptography")
    del crypto
    from datetime import datetime, timedelta
    from ipaddress import ip_address

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    srv = scripted(lambda n, b: [_json(_completion("secure"))], tls=ctx)
    subject = parse_subject(f"openai://127.0.0.1:{srv.port}/v1?model=m&https=1")
    opts = {"stream": False, "request_cache": False, "max_retries": 0}
    lm = open_openai(subject, opts)  # the certificate is not trusted: refused
    with pytest.raises(RequestsFailed, match="CERTIFICATE_VERIFY_FAILED"):
        _gen(lm, ["x"])
    lm.close()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # OpenSSL's default trust store
    lm = open_openai(subject, opts)
    assert lm.client.transport == "httptools"
    assert [g.text for g in _gen(lm, ["x", "y"])] == ["secure", "secure"]
    lm.close()


def test_proxy_from_environment_goes_through_aiohttp(scripted, monkeypatch) -> None:
    proxy = scripted(lambda n, b: [_json(_completion("via proxy"))])
    for var in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    assert choose_transport("http://10.9.9.9:8000/v1", "auto")[0] == "aiohttp"
    assert choose_transport("http://10.9.9.9:8000/v1", "httptools")[0] == "aiohttp"
    lm = open_openai(
        parse_subject("openai://10.9.9.9:8000/v1?model=m"),
        {"stream": False, "request_cache": False, "max_retries": 0},
    )
    assert lm.client.transport == "aiohttp"
    [gen] = _gen(lm, ["x"])  # nothing listens at 10.9.9.9: only the proxy can answer
    assert gen.text == "via proxy"
    assert proxy.requests[0][1].startswith(b"POST http://10.9.9.9:8000/v1/completions HTTP/1.1")
    lm.close()
    monkeypatch.setenv("NO_PROXY", "10.9.9.9")
    assert choose_transport("http://10.9.9.9:8000/v1", "auto")[0] == "httptools"
