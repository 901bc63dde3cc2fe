"""Issue 17, item 5: the token login never redirects off-site, weak tokens are refused,
cookies expire (and are Secure over https), out-of-range numbers and dates are 400, and a
read-only open never changes a store's journal mode.

The redirect cases go through a real uvicorn server with raw HTTP request lines, since an
HTTP client would read '//evil.example/x' as another host instead of sending it.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from pingce.core.store import open_store
from pingce.web.app import create_app
from pingce.web.cli import check_token, generate_token, token_entropy_bits
from pingce.web.errors import DashboardError
from pingce.web.security import (
    COOKIE_MAX_AGE_S,
    TOKEN_COOKIE,
    cookie_value,
    same_origin_path,
)

TOKEN = "s3cret-token-for-tests-0123456789"
BASE = "http://127.0.0.1:8765"
CLI = "from pingce.web.cli import register; register(); from pingce.cli import main; main()"


def raw_get(port: int, target: str) -> tuple[int, dict[str, str]]:
    """Send `GET target` exactly as written; the status and headers of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode(
                "latin-1"
            )
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


HOSTILE_TARGETS = [
    "//evil.example/x",
    "//evil.example",
    "/%2F%2Fevil.example/x",
    "/%2f/evil.example/x",
    "/%5Cevil.example/x",
    "/%5C%5Cevil.example/x",
    "/\\evil.example/x",
    "/\\\\evil.example/x",
    "/%252F%252Fevil.example/x",
    "/%09/evil.example/x",
]


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_token_login_never_redirects_off_site(dash: Any, live_server: Any, target: str) -> None:
    app = create_app(dash.store, token=TOKEN, allowed_hosts=None, create_indexes=False)
    server = live_server(app)
    status, headers = raw_get(server.port, f"{target}?token={TOKEN}")
    if status == 303:  # logged in: the redirect must stay on this origin
        assert headers["location"] == "/", headers["location"]
        assert TOKEN_COOKIE in headers["set-cookie"]
    else:  # or the server refused the request line outright
        assert status == 400 and "location" not in headers


def test_token_login_keeps_same_origin_paths(dash: Any, live_server: Any) -> None:
    app = create_app(dash.store, token=TOKEN, allowed_hosts=None, create_indexes=False)
    server = live_server(app)
    run_page = f"/runs/{dash.run_a}"
    status, headers = raw_get(server.port, f"{run_page}?token={TOKEN}&x=1")
    assert status == 303 and headers["location"] == f"{run_page}?x=1"
    status, headers = raw_get(server.port, f"/runs/a%2Fb?token={TOKEN}")
    assert status == 303 and headers["location"] == "/runs/a%2Fb"  # the path as sent


def test_same_origin_path_cases() -> None:
    for good in ("/", "/runs/abc", "/runs/a%2Fb/samples", "/compare"):
        assert same_origin_path(good) == good
    for bad in (
        "//evil.example",
        "/\\evil.example",
        "/%2F/evil.example",
        "/%5cevil.example",
        "/%25252F%25252Fevil.example",
        "https://evil.example/",
        "evil.example/x",
        "",
        "/a\r\nSet-Cookie: x=1",
        "/%0d%0aSet-Cookie:x",
    ):
        assert same_origin_path(bad) == "/", bad


@pytest.mark.parametrize(
    "token",
    [
        " " * 16,
        "a" * 16,
        "a" * 64,
        "abcdabcdabcdabcd",
        "0101010101010101aaaa",
        "correct horse battery staple",  # whitespace
        "tab\there-0123456789",
        "short-9",
    ],
)
def test_weak_tokens_are_refused(token: str) -> None:
    for host in ("0.0.0.0", "127.0.0.1"):  # a set token is enforced on loopback too
        with pytest.raises(DashboardError, match="too weak"):
            check_token(host, token)


def test_random_tokens_pass() -> None:
    # secrets.token_urlsafe(24): 32 characters of a 64-letter alphabet.
    for _ in range(200):
        token = generate_token()
        assert check_token("0.0.0.0", token) == token
    assert check_token("0.0.0.0", TOKEN) == TOKEN
    # Hand-computed: 'abcdabcdabcdabcd' has 4 equally frequent letters, 2 bits each.
    assert token_entropy_bits("abcdabcdabcdabcd") == pytest.approx(32.0)
    assert token_entropy_bits("a" * 16) == 0.0


def _cli_env(dash: Any, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PINGCE_TOKEN"}
    return {**env, "PINGCE_DB": dash.url, **extra}


def test_pingce_serve_refuses_a_weak_token_in_one_line(dash: Any) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CLI, "serve", "--host", "0.0.0.0", "--port", "8799"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_cli_env(dash, PINGCE_TOKEN="a" * 16),
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert "PINGCE_TOKEN" in lines[0] and "too weak" in lines[0]


def test_pingce_serve_generates_a_token(dash: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "serve", "--port", str(port), "--generate-token"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_cli_env(dash),
    )
    try:
        assert proc.stdout is not None
        token = ""
        for line in proc.stdout:
            if found := re.search(r"\?token=([A-Za-z0-9_-]+)", line):
                token = found.group(1)
                break
        assert check_token("0.0.0.0", token) == token
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert response.status_code == 401
        ok = httpx.get(f"http://127.0.0.1:{port}/", headers={"authorization": f"Bearer {token}"})
        assert ok.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_cookie_expires_and_is_secure_over_https(dash: Any) -> None:
    app = create_app(dash.store, token=TOKEN, allowed_hosts=None, create_indexes=False)
    plain = TestClient(app, base_url="http://192.0.2.10:8765")
    cookie = plain.get(f"/?token={TOKEN}", follow_redirects=False).headers["set-cookie"]
    assert f"Max-Age={COOKIE_MAX_AGE_S}" in cookie and COOKIE_MAX_AGE_S == 12 * 3600
    assert "Secure" not in cookie  # a browser would drop a Secure cookie on http
    tls = TestClient(app, base_url="https://192.0.2.10:8765")
    cookie = tls.get(f"/?token={TOKEN}", follow_redirects=False).headers["set-cookie"]
    assert "; Secure" in cookie and f"Max-Age={COOKIE_MAX_AGE_S}" in cookie

    def status_with(value: str) -> int:
        client = TestClient(app, base_url="http://192.0.2.10:8765")
        client.cookies.set(TOKEN_COOKIE, value)
        return client.get("/").status_code

    now = int(time.time())
    assert status_with(cookie_value(TOKEN, now - 60)) == 200
    assert status_with(cookie_value(TOKEN, now - COOKIE_MAX_AGE_S - 60)) == 401  # expired
    assert status_with(cookie_value(TOKEN, now + 3600)) == 401  # from the future
    # An old cookie with its time rewritten keeps a MAC that no longer matches.
    old_mac = cookie_value(TOKEN, now - COOKIE_MAX_AGE_S - 60).split(".", 1)[1]
    assert status_with(f"{now}.{old_mac}") == 401
    assert status_with(cookie_value("another-token-0123456789", now)) == 401
    for junk in ("", ".", "x.y", "99999999999999999999.ab", "-5.ab"):
        assert status_with(junk) == 401


@pytest.mark.parametrize(
    "query",
    [
        f"after={2**63}",
        f"after={10**30}",
        "after=-1",
        f"before={2**64}",
        "before=-5",
    ],
)
def test_out_of_range_record_cursors_are_400(dash: Any, query: str) -> None:
    client = TestClient(create_app(dash.store, create_indexes=False), base_url=BASE)
    response = client.get(f"/runs/{dash.run_a}/samples?{query}")
    assert response.status_code == 400, response.text
    assert query.split("=")[0] in response.text  # the page names the parameter


def test_out_of_range_record_ids_are_404(dash: Any) -> None:
    client = TestClient(create_app(dash.store, create_indexes=False), base_url=BASE)
    for rid in (2**63, 10**30):
        assert client.get(f"/runs/{dash.run_a}/samples/{rid}").status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "date_to=9999-12-31",
        "date_from=2026-13-01",
        "date_to=2026-02-30",
        "date_from=20261",
        "date_to=99999-01-01",
        "date_from=-1",
    ],
)
def test_out_of_range_dates_are_400(dash: Any, query: str) -> None:
    client = TestClient(create_app(dash.store, create_indexes=False), base_url=BASE)
    response = client.get(f"/?{query}")
    assert response.status_code == 400, response.text
    assert query.split("=")[0] in response.text  # the page names the parameter


def test_extreme_valid_dates_are_fine(dash: Any) -> None:
    client = TestClient(create_app(dash.store, create_indexes=False), base_url=BASE)
    assert client.get("/?date_to=9999-12-30").status_code == 200
    assert client.get("/?date_from=0001-01-01&date_to=0001-01-02").status_code == 200
    assert client.get("/?date_from=9999-12-31").status_code == 200


def _journal_mode(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        return str(con.execute("PRAGMA journal_mode").fetchone()[0]).lower()
    finally:
        con.close()


def test_read_only_opens_keep_an_older_store_in_delete_journal_mode(
    dash: Any, tmp_path: Path
) -> None:
    """A store written before WAL (journal_mode=DELETE) stays DELETE after show and serve."""
    db = tmp_path / "old.db"
    source = sqlite3.connect(dash.url.removeprefix("sqlite:///"))
    target = sqlite3.connect(db)
    source.backup(target)
    source.close()
    target.execute("PRAGMA journal_mode=DELETE")
    target.close()
    assert _journal_mode(db) == "delete"

    proc = subprocess.run(
        [sys.executable, "-c", CLI, "show", dash.run_a, "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_cli_env(dash),
    )
    assert proc.returncode == 0, proc.stderr
    assert _journal_mode(db) == "delete"

    store = open_store(f"sqlite:///{db}", create=False)  # what `pingce serve` opens
    try:
        client = TestClient(create_app(store), base_url=BASE)
        for path in ("/", f"/runs/{dash.run_a}", f"/runs/{dash.run_a}/samples"):
            assert client.get(path).status_code == 200
    finally:
        store.close()
    assert _journal_mode(db) == "delete"
    assert not (tmp_path / "old.db-wal").exists()
