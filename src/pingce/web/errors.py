"""Errors of the dashboard: user mistakes at start-up and bad request parameters."""

from __future__ import annotations

from pingce.core.errors import PingceError


class DashboardError(PingceError):
    """`pingce serve` cannot start as asked (unsafe address, busy port, missing extra)."""


class BadRequest(Exception):
    """A request parameter is malformed; shown to the browser as a 400 page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(Exception):
    """No such run, record or page; shown as a 404 page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
