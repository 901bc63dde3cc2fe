"""The results dashboard: `pingce serve` (a read-only Starlette app over the results store).

Needs the `web` extra (starlette, uvicorn). `pingce.web.cli.register()` adds the `serve`
command; `pingce.web.app.create_app(store)` builds the ASGI app.
"""
