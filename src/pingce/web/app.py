"""The dashboard application: routes, templates and static files over one results store.

`create_app(store)` returns a Starlette app. Every route is a GET (see `security.Guard`); pages
are rendered on the server with Jinja2, autoescaping on, and every asset (one stylesheet, one
small script) is served from this package, so the dashboard works offline. Charts are the
report's own inline SVG (`pingce.core.report.html`), so a standard's report `sections` appear
here without dashboard code of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from pingce import __version__
from pingce.core.errors import StoreError
from pingce.core.report.render import (
    MISSING,
    direction_text,
    format_estimate,
    format_number,
    format_plain,
    format_score,
    threshold_text,
)
from pingce.core.store import Store
from pingce.web.documents import DocumentCache
from pingce.web.errors import BadRequest, NotFound
from pingce.web.indexes import ensure_indexes
from pingce.web.security import LOOPBACK_HOSTS, Guard

HERE = Path(__file__).resolve().parent


def url(path: str, params: Sequence[tuple[str, Any]] | dict[str, Any] | None = None) -> str:
    """`path` plus the non-empty query parameters, encoded."""
    items = params.items() if isinstance(params, dict) else (params or [])
    pairs = [(k, str(v)) for k, v in items if v not in (None, "", False)]
    return path + ("?" + urlencode(pairs) if pairs else "")


def seg(value: str) -> str:
    """One URL path segment: run ids are quoted, so no character can change the route."""
    return quote(str(value), safe="")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,  # model output and dataset text are untrusted
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=format_number, score=format_score, plain=format_plain, seg=seg, when=_when
    )
    env.globals.update(
        MISSING=MISSING,
        estimate=format_estimate,
        direction_text=direction_text,
        threshold_text=threshold_text,
        url=url,
        version=__version__,
    )
    return env


def _when(value: Any) -> str:
    """A stored timestamp as 'YYYY-MM-DD HH:MM:SS' (UTC)."""
    if value is None:
        return MISSING
    return value.strftime("%Y-%m-%d %H:%M:%S") if hasattr(value, "strftime") else str(value)


class Dashboard:
    """What page handlers share: the store, the report cache and the templates."""

    def __init__(self, store: Store, media_root: Path | None = None) -> None:
        self.store = store
        # Sample pages show images/audio only from under this folder (resolved once).
        self.media_root = media_root.resolve() if media_root is not None else None
        self.docs = DocumentCache(store)
        self.templates = _environment()

    def page(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.templates.get_template(name).render(**context)
        # Lone surrogates from old stores' model text become '?' instead of a 500.
        return HTMLResponse(html.encode("utf-8", "replace"), status_code=status)

    def run_or_404(self, run_id: str) -> Any:
        try:
            return self.store.get_run(run_id)
        except StoreError:
            raise NotFound(f"no run {run_id!r} in this store") from None


def create_app(
    store: Store,
    *,
    token: str | None = None,
    allowed_hosts: Sequence[str] | None = LOOPBACK_HOSTS,
    create_indexes: bool = True,
    media_root: Path | None = None,
) -> Guard:
    """The ASGI app over `store`.

    `token`: required on every request when given. `allowed_hosts`: Host header names
    accepted (loopback names by default; None accepts any, for a token-protected server on a
    public address). `create_indexes`: add the pagination indexes when missing.
    `media_root`: the folder whose images and audio sample pages may embed (none by default).
    """
    from pingce.web import views

    if create_indexes:
        ensure_indexes(store)
    dash = Dashboard(store, media_root)

    def bind(handler: Any) -> Any:
        def endpoint(request: Request) -> Response:
            return handler(dash, request)

        return endpoint

    routes = [
        Route("/", bind(views.runs_page), name="runs"),
        Route("/runs/{run_id}", bind(views.run_page), name="run"),
        Route("/runs/{run_id}/samples", bind(views.samples_page), name="samples"),
        Route("/runs/{run_id}/samples/{record_id:int}", bind(views.sample_page), name="sample"),
        Route("/runs/{run_id}/export/{fmt}", bind(views.export), name="export"),
        Route("/api/runs/{run_id}/progress", bind(views.progress), name="progress"),
        Route("/compare", bind(views.compare_page), name="compare"),
        Route("/leaderboard", bind(views.leaderboard_page), name="leaderboard"),
        Route("/trends", bind(views.trends_page), name="trends"),
        # Browsers ask for /favicon.ico on pages without a <link rel=icon> (plain 401s).
        Route("/favicon.ico", lambda request: FileResponse(HERE / "static" / "favicon.svg")),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]

    def bad_request(request: Request, exc: Exception) -> Response:
        message = getattr(exc, "message", str(exc))
        return dash.page("error.html.j2", 400, title="Bad request", message=message)

    def not_found(request: Request, exc: Exception) -> Response:
        message = getattr(exc, "message", None) or "no such page"
        return dash.page("error.html.j2", 404, title="Not found", message=message)

    app = Starlette(
        routes=routes,
        exception_handlers={BadRequest: bad_request, NotFound: not_found, 404: not_found},
    )
    app.state.dashboard = dash
    return Guard(app, token=token, allowed_hosts=allowed_hosts)
