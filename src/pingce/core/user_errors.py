"""The last line of defence between a user's bad file and a traceback.

Readers raise `PingceError` for the mistakes they know about. Two kinds of failure are user
mistakes wherever they happen, though, and no reader can list every place: an operating-system
error on a path the user gave (a folder where a file belongs, a missing parent folder, no
permission) and a file that is not UTF-8 text. The CLI turns those into one `error:` line
that names the file; anything else that escapes is still a bug and keeps its traceback.
"""

from __future__ import annotations

import io
from pathlib import PurePath


def _file_in_traceback(exc: BaseException) -> str | None:
    """The file being read when `exc` was raised: the innermost frame holding an open text
    file (or, failing that, a path)."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        values = list(frame.f_locals.values())
        for value in values:
            if isinstance(value, io.TextIOWrapper) and isinstance(value.name, str):
                return value.name
        for value in values:
            if isinstance(value, PurePath):
                return str(value)
    return None


def user_error_line(exc: BaseException) -> str | None:
    """One line (without the `error:` prefix) for a user-caused OS or decoding error, else None."""
    if isinstance(exc, OSError) and exc.filename is not None:
        reason = exc.strerror or type(exc).__name__
        target = f" -> {exc.filename2}" if exc.filename2 is not None else ""
        return f"{exc.filename}{target}: {reason}"
    if isinstance(exc, UnicodeDecodeError):
        where = _file_in_traceback(exc) or "an input file"
        return (
            f"{where}: not {exc.encoding.upper()} text (invalid byte at offset {exc.start}) "
            "(hint: save the file as UTF-8)"
        )
    return None
