"""User-facing errors.

Every mistake a user can make (bad file, bad field, bad option) raises a `PingceError`
subclass. The CLI prints it as one line with a hint and exits with code 2. Anything else
that escapes is a bug in pingce.
"""

from __future__ import annotations


class PingceError(Exception):
    """A user error: one line of message, an optional hint."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = " ".join(self.message.split())
        if self.hint:
            text += f" (hint: {' '.join(self.hint.split())})"
        return text


class SpecError(PingceError):
    """A suite, task or subject specification is invalid."""


class DataError(PingceError):
    """A dataset is missing, empty or has rows that do not fit the task."""


class ModelError(PingceError):
    """A model/subject cannot be loaded or does not support what the task needs."""


class StoreError(PingceError):
    """The results store cannot be opened, or a run id is unknown."""


class ReportError(PingceError):
    """A report cannot be written."""
