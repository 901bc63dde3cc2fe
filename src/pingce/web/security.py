"""The dashboard's guard: read-only methods, token check, Host check and security headers.

One ASGI middleware in front of every route (static files included):

- Only GET and HEAD exist; anything else is 405 before routing, so no handler can write.
- With a token (required by `pingce serve` on a non-loopback address), a request needs
  `Authorization: Bearer TOKEN`, the `pingce_token` cookie, or `?token=TOKEN`; the last sets
  the cookie and redirects to the same URL without the token, so it does not linger in
  history, logs or Referer headers. The redirect goes only to a same-origin path (a path that
  a browser would read as another host, `//evil.example/x` or `/%5Cevil.example`, goes to
  `/`). The cookie holds its issue time and a MAC of the token and that time (HttpOnly,
  SameSite=Strict, Max-Age of COOKIE_MAX_AGE_S, Secure when the request came over https); an
  older cookie is refused even if the browser kept it. Comparisons are constant-time.
- On loopback without a token, the Host header must name the loopback interface: a page on
  another site cannot reach the dashboard by rebinding its DNS name to 127.0.0.1.
- Every response carries a Content-Security-Policy that allows only the dashboard's own
  scripts and styles, plus nosniff, no-referrer and frame-ancestors 'none'.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_COOKIE = "pingce_token"
TOKEN_PARAM = "token"
COOKIE_MAX_AGE_S = 12 * 3600  # a login lasts a working day
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-store",
}


def is_loopback(host: str) -> bool:
    """True for addresses that only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    name = host.strip("[]")
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # any other name may resolve to a public address


def _host_name(header: str) -> str:
    """'127.0.0.1:8765' -> '127.0.0.1', '[::1]:8765' -> '::1'."""
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def tokens_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def cookie_value(token: str, issued: int | None = None) -> str:
    """What the cookie holds: 'ISSUED.MAC', the issue time (Unix seconds) and a MAC of it under
    the token, so the token itself never sits in a cookie, any token characters are
    cookie-safe, and the server can refuse a cookie older than COOKIE_MAX_AGE_S."""
    issued = int(time.time()) if issued is None else issued
    message = f"pingce-dashboard-session:{issued}".encode()
    return f"{issued}." + hmac.new(token.encode("utf-8"), message, hashlib.sha256).hexdigest()


def cookie_valid(value: str, token: str, now: float | None = None) -> bool:
    """True for a cookie this token issued within the last COOKIE_MAX_AGE_S seconds."""
    issued_text, _, _ = value.partition(".")
    if not issued_text.isdigit() or len(issued_text) > 12:
        return False
    issued = int(issued_text)
    now = time.time() if now is None else now
    if not -60 <= now - issued <= COOKIE_MAX_AGE_S:  # a minute of clock skew at most
        return False
    return tokens_equal(value, cookie_value(token, issued))


def same_origin_path(path: str) -> str:
    """`path` when a browser reads it as a path on this origin, otherwise '/'.

    A Location starting with '//' or '/\\' (browsers treat a backslash as a slash) names
    another host; so does one whose percent-decoded form does, since some clients and proxies
    decode before following. Control characters and anything not starting with '/' (a scheme,
    a bare host) are refused too.
    """
    decoded = path
    for _ in range(3):  # double-encoded '%252F' too
        decoded = unquote(decoded)
    for candidate in (path, decoded):
        if not candidate.startswith("/") or candidate[1:2] in ("/", "\\"):
            return "/"
        if any(ord(c) < 0x20 or ord(c) == 0x7F or c == "\\" for c in candidate):
            return "/"
    return path


class Guard:
    """ASGI middleware applying the rules in the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        allowed_hosts: Sequence[str] | None,
    ) -> None:
        self.app = app
        self.token = token or None
        self.allowed_hosts = {h.lower() for h in allowed_hosts} if allowed_hosts else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["method"] not in ("GET", "HEAD"):
            await _plain(
                send, 405, "read-only dashboard: only GET and HEAD", {"allow": "GET, HEAD"}
            )
            return
        if self.allowed_hosts is not None:
            host = _host_name(headers.get("host", "")).lower()
            if host not in self.allowed_hosts:
                await _plain(send, 400, "unexpected Host header")
                return
        if self.token is not None:
            verdict = self._check_token(scope, headers)
            if verdict == "redirect":
                await self._redirect_with_cookie(scope, send)
                return
            if verdict != "ok":
                await _plain(
                    send,
                    401,
                    "a token is required: open the dashboard with ?token=... or send "
                    "'Authorization: Bearer ...'",
                    {"www-authenticate": 'Bearer realm="pingce"'},
                )
                return
        await self.app(scope, receive, _with_headers(send))

    def _check_token(self, scope: Scope, headers: dict[str, str]) -> str:
        assert self.token is not None
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer " and tokens_equal(auth[7:].strip(), self.token):
            return "ok"
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if TOKEN_PARAM in query:
            return "redirect" if tokens_equal(query[TOKEN_PARAM], self.token) else "denied"
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header is simply no cookie
            return "denied"
        morsel = cookie.get(TOKEN_COOKIE)
        if morsel is not None and cookie_valid(morsel.value, self.token):
            return "ok"
        return "denied"

    async def _redirect_with_cookie(self, scope: Scope, send: Send) -> None:
        assert self.token is not None
        pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        rest = urlencode([(k, v) for k, v in pairs if k != TOKEN_PARAM])
        # The raw path as the client sent it ('%2F' still encoded), so the redirect is the
        # same URL; a path a browser would take to another host becomes '/'.
        raw = scope.get("raw_path") or scope["path"].encode("utf-8")
        path = same_origin_path(scope.get("root_path", "") + raw.decode("latin-1"))
        location = path + (f"?{rest}" if rest else "")
        cookie = (
            f"{TOKEN_COOKIE}={cookie_value(self.token)}; Path=/; Max-Age={COOKIE_MAX_AGE_S}; "
            "HttpOnly; SameSite=Strict"
        )
        if scope.get("scheme") in ("https", "wss"):
            cookie += "; Secure"
        await _plain(send, 303, "authenticated", {"location": location, "set-cookie": cookie})


def _with_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {k.decode("latin-1").lower() for k, _ in message.get("headers", [])}
            extra = [
                (k.encode("latin-1"), v.encode("latin-1"))
                for k, v in {"content-security-policy": CSP, **SECURITY_HEADERS}.items()
                if k not in present  # a route may tighten its own policy (report exports)
            ]
            message["headers"] = list(message.get("headers", [])) + extra
        await send(message)

    return wrapped


async def _plain(send: Send, status: int, text: str, headers: dict[str, str] | None = None) -> None:
    body = (text + "\n").encode("utf-8")
    all_headers = {
        "content-type": "text/plain; charset=utf-8",
        "content-length": str(len(body)),
        "content-security-policy": CSP,
        **SECURITY_HEADERS,
        **(headers or {}),
    }
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in all_headers.items()],
        }
    )
    await send({"type": "http.response.body", "body": body})
