"""Dashboard security: read-only, token, Host check, escaping, CSP, no path traversal, and
`pingce serve` refusing unsafe addresses.

The escaping cases use the session's "attack" run, whose stored model output, prompt,
reference, error and subject hold `<script>` tags and attribute-breaking quotes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from pingce.web import security
from pingce.web.app import create_app
from pingce.web.cli import check_token, serve_app
from pingce.web.errors import DashboardError
from pingce.web.security import TOKEN_COOKIE, cookie_value, is_loopback

BASE = "http://127.0.0.1:8765"
TOKEN = "s3cret-token-for-tests-0123456789"


@pytest.fixture(scope="module")
def client(dash: Any) -> TestClient:
    return TestClient(create_app(dash.store), base_url=BASE)


def pages(dash: Any) -> list[str]:
    first = dash.store.records(dash.attack_run)[0].id
    return [
        "/",
        f"/?q={dash.attack_subject}",
        f"/runs/{dash.attack_run}",
        f"/runs/{dash.attack_run}/samples",
        f"/runs/{dash.attack_run}/samples/{first}",
        f"/runs/{dash.run_a}/samples?vs={dash.attack_run}",
        f"/compare?run={dash.run_a}&run={dash.attack_run}",
        f"/runs/{dash.attack_run}/export/html",
        "/leaderboard?suite=llm/quick",
    ]


def test_only_get_and_head_exist(client: TestClient, dash: Any) -> None:
    app = client.app.app  # the Starlette app behind the guard
    for route in app.routes:
        if isinstance(route, Route):
            assert route.methods == {"GET", "HEAD"}, route.path
        else:
            assert isinstance(route, Mount) and route.path == "/static"
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/", f"/runs/{dash.run_a}", "/static/dashboard.css", "/nowhere"):
            response = client.request(method, path)
            assert response.status_code == 405, (method, path)
            assert response.headers["allow"] == "GET, HEAD"
    assert client.head(f"/runs/{dash.run_a}").status_code == 200


def test_model_output_and_dataset_text_are_escaped(client: TestClient, dash: Any) -> None:
    dangerous = ("<script>window.__pwned", "<img src=x", '" onmouseover="', "' onmouseover='")
    for path in pages(dash):
        response = client.get(path)
        assert response.status_code == 200, path
        for text in dangerous:
            assert text not in response.text, (path, text)
    samples = client.get(f"/runs/{dash.attack_run}/samples").text
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;&#34; onmouseover=&#34;" in samples
    assert "&lt;img src=x onerror=&#34;window.__pwned = 3&#34;&gt; &#39; onmouseover=" in samples
    run_page = client.get(f"/runs/{dash.attack_run}").text
    assert "hf:&lt;script&gt;window.__pwned = 5&lt;/script&gt;" in run_page  # subject
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in run_page  # stored error


def test_every_response_carries_a_strict_csp(client: TestClient, dash: Any) -> None:
    for path in [
        *pages(dash),
        "/static/dashboard.js",
        "/nowhere",
        f"/api/runs/{dash.run_a}/progress",
    ]:
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "http" not in csp  # no external origin is ever allowed
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
    page_csp = client.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in page_csp and "unsafe-inline" not in page_csp


@pytest.mark.parametrize(
    "path",
    [
        "/static/../../../../etc/passwd",
        "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/static//etc/passwd",
        "/runs/..%2f..%2f..%2fetc%2fpasswd/export/json",
        "/runs/x/export/..%2f..%2f..%2fetc%2fpasswd",
        "/runs/%2e%2e/export/html",
    ],
)
def test_no_path_traversal(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (400, 404), path
    assert "root:" not in response.text


def test_host_header_must_be_loopback(dash: Any) -> None:
    client = TestClient(create_app(dash.store, create_indexes=False), base_url=BASE)
    assert client.get("/").status_code == 200
    for host in ("evil.example", "evil.example:8765", "127.0.0.1.evil.example"):
        assert client.get("/", headers={"host": host}).status_code == 400
    for host in ("localhost:8765", "[::1]:8765", "127.0.0.1"):
        assert client.get("/", headers={"host": host}).status_code == 200


def test_token_is_required_and_compared_in_constant_time(
    dash: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = security.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(security.hmac, "compare_digest", spy)
    app = create_app(dash.store, token=TOKEN, allowed_hosts=None, create_indexes=False)
    client = TestClient(app, base_url="http://192.0.2.10:8765")
    run_page = f"/runs/{dash.run_a}"
    for path in ("/", run_page, "/static/dashboard.css", f"/api/runs/{dash.run_a}/progress"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert dash.run_a not in response.text
    assert client.get("/", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/", headers={"authorization": f"Bearer {TOKEN}x"}).status_code == 401
    assert client.get("/", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert calls and all(isinstance(a, bytes) for a, _ in calls)

    assert client.get(f"{run_page}?token=wrong").status_code == 401
    login = client.get(f"{run_page}?token={TOKEN}&x=1", follow_redirects=False)
    assert login.status_code == 303
    assert login.headers["location"] == f"{run_page}?x=1"  # the token leaves the URL
    cookie = login.headers["set-cookie"]
    # The cookie holds its issue time and a MAC of it (issue 17: cookies now expire).
    value = cookie.split(";", 1)[0].removeprefix(f"{TOKEN_COOKIE}=")
    assert TOKEN not in cookie and value == cookie_value(TOKEN, int(value.split(".")[0]))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get(run_page).status_code == 200  # the client kept the cookie
    client.cookies.clear()
    client.cookies.set(TOKEN_COOKIE, cookie_value("another-token-0123456789"))
    assert client.get(run_page).status_code == 401


def test_serve_refuses_public_addresses_without_a_token() -> None:
    for host in ("127.0.0.1", "127.5.5.5", "::1", "localhost"):
        assert is_loopback(host) and check_token(host, None) is None
    for host in ("0.0.0.0", "192.0.2.10", "::", "dashboard.example"):
        assert not is_loopback(host)
        with pytest.raises(DashboardError, match="without a token"):
            check_token(host, None)
        with pytest.raises(DashboardError, match="too short"):
            check_token(host, "short")
        assert check_token(host, TOKEN) == TOKEN
    from typer.testing import CliRunner

    result = CliRunner().invoke(serve_app, ["--host", "0.0.0.0", "--port", "8799"], env={})
    assert isinstance(result.exception, DashboardError)


CLI = "from pingce.web.cli import register; register(); from pingce.cli import main; main()"


def _cli_env(dash: Any, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PINGCE_TOKEN"}
    return {**env, "PINGCE_DB": dash.url, **extra}


def test_pingce_serve_error_is_one_line(dash: Any) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CLI, "serve", "--host", "0.0.0.0", "--port", "8799"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_cli_env(dash),
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "without a token" in lines[0] and "PINGCE_TOKEN" in lines[0]


def test_pingce_serve_runs_a_real_server(dash: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_cli_env(dash, PINGCE_TOKEN=TOKEN),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert response.status_code == 401  # a set token is enforced on loopback too
        ok = httpx.get(
            f"http://127.0.0.1:{port}/runs/{dash.run_a}",
            headers={"authorization": f"Bearer {TOKEN}"},
        )
        assert ok.status_code == 200 and dash.run_a in ok.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
