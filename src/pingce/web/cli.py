"""`pingce serve`: the results dashboard on a local (or token-protected) address.

Registered as a top-level command group with a single callback, so the command line is
`pingce serve [--db URL] [--host 127.0.0.1] [--port 8765]`. Starlette and uvicorn are
imported only when the command runs, so the command exists (and says what to install) even
without the `web` extra.
"""

from __future__ import annotations

import errno
import math
import os
import secrets
import socket
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from pingce.web.errors import DashboardError

TOKEN_ENV = "PINGCE_TOKEN"
MIN_TOKEN_LENGTH = 16
MIN_TOKEN_DISTINCT = 8  # different characters
MIN_TOKEN_BITS = 48.0  # length x Shannon entropy of its character frequencies
TOKEN_HINT = (
    'pass --generate-token, or export PINGCE_TOKEN="$(python -c '
    '"import secrets; print(secrets.token_urlsafe(24))")"'
)

serve_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def token_entropy_bits(token: str) -> float:
    """Length times the Shannon entropy (bits per character) of the token's own character
    frequencies: 0 for 'aaaaaaaaaaaaaaaa', 32 for 'abcdabcdabcdabcd', about 150 for
    secrets.token_urlsafe(24). A crude upper bound on guessing work, enough to refuse tokens
    that are plainly not random; it cannot tell a dictionary phrase from a random string."""
    n = len(token)
    counts = Counter(token).values()
    return -sum(c * math.log2(c / n) for c in counts) if n else 0.0


def token_problem(token: str) -> str | None:
    """Why `token` is too weak to protect the dashboard, or None."""
    if len(token) < MIN_TOKEN_LENGTH:
        return f"is too short (use at least {MIN_TOKEN_LENGTH} characters)"
    if any(c.isspace() or not c.isprintable() for c in token):
        return "holds whitespace or control characters"
    if len(set(token)) < MIN_TOKEN_DISTINCT:
        return f"has fewer than {MIN_TOKEN_DISTINCT} different characters"
    bits = token_entropy_bits(token)
    if bits < MIN_TOKEN_BITS:
        return f"looks guessable ({bits:.0f} bits of entropy, at least {MIN_TOKEN_BITS:.0f} needed)"
    return None


def generate_token() -> str:
    """A fresh random token (192 bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def check_token(host: str, token: str | None) -> str | None:
    """The token the server will demand, or raise when serving `host` would be unsafe.

    Loopback needs no token; any other address needs one. A set token is enforced on loopback
    too, and wherever it is set it must pass `token_problem` (length, no whitespace, enough
    different characters and entropy), since a weak token only looks like protection.
    """
    from pingce.web.security import is_loopback

    token = token or None
    if token is not None and (problem := token_problem(token)) is not None:
        raise DashboardError(
            f"{TOKEN_ENV} is too weak to protect {host}: it {problem}", hint=TOKEN_HINT
        )
    if token is None and not is_loopback(host):
        raise DashboardError(
            f"refusing to serve results on non-loopback address {host} without a token",
            hint=f"pass --generate-token, set {TOKEN_ENV}, or use --host 127.0.0.1",
        )
    return token


def _check_port(host: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise DashboardError(f"--port must be between 1 and 65535, got {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise DashboardError(
                    f"port {port} on {host} is already in use", hint="pick another with --port"
                ) from None
            raise DashboardError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


@serve_app.callback(invoke_without_command=True)
def serve(
    db: Annotated[
        str | None,
        typer.Option("--db", help="Results store URL or SQLite path (default: $PINGCE_DB)."),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on; non-loopback needs $PINGCE_TOKEN.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
    new_token: Annotated[
        bool,
        typer.Option(
            "--generate-token",
            help=f"Require a fresh random token, printed once (instead of ${TOKEN_ENV}).",
        ),
    ] = False,
    media_root: Annotated[
        Path | None,
        typer.Option(
            "--media-root",
            help="Folder whose images and audio the sample pages may show (records name files "
            "by path; files outside it are never read). Default: none, boxes drawn on a blank canvas.",
        ),
    ] = None,
) -> None:
    """Browse, compare and export every stored run in a browser (read-only)."""
    given = os.environ.get(TOKEN_ENV)
    if new_token and given:
        raise DashboardError(
            f"--generate-token and ${TOKEN_ENV} are both set", hint="use one of them"
        )
    token = check_token(host, generate_token() if new_token else given)
    _check_port(host, port)
    try:
        import uvicorn

        from pingce.web.app import create_app
    except ModuleNotFoundError as exc:
        raise DashboardError(
            f"the dashboard needs {exc.name}, which is not installed",
            hint="pip install 'pingce[web]'",
        ) from None
    from pingce.core.store import open_store
    from pingce.web.security import LOOPBACK_HOSTS, is_loopback

    if media_root is not None and not media_root.is_dir():
        raise DashboardError(f"--media-root {media_root}: not a folder")
    store = open_store(db, create=False)  # read-only: a mistyped --db is an error
    allowed = [*LOOPBACK_HOSTS, host] if is_loopback(host) else None
    app = create_app(store, token=token, allowed_hosts=allowed, media_root=media_root)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"pingce dashboard on http://{shown}:{port}/  (store {store.display_url})")
    if token and new_token:
        typer.echo(f"token required: open http://{shown}:{port}/?token={token}")
    elif token:
        typer.echo(f"token required: open http://{shown}:{port}/?token=<{TOKEN_ENV}>")
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)


def register() -> None:
    """Add `pingce serve` (idempotent)."""
    from pingce.core.registry import commands

    if not commands.has_loaded("serve"):
        commands.register("serve", serve_app)
