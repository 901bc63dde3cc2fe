"""Where pingce keeps what it builds (models, trained workloads, generated data), and the
output folders it may replace: only those that carry its marker file."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from pingce.core.errors import SpecError


def cache_root() -> Path:
    """`PINGCE_CACHE`, else `$XDG_CACHE_HOME/pingce`, else `~/.cache/pingce`."""
    if os.environ.get("PINGCE_CACHE"):
        return Path(os.environ["PINGCE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pingce"


# Every folder pingce writes as an output carries this file; pingce deletes or replaces only
# folders that carry it, so a mistyped output path can never cost a user their own files.
OUTPUT_MARKER = ".pingce-output"


def is_pingce_output(folder: Path) -> bool:
    """True when `folder` carries pingce's output marker (pingce created it)."""
    return (folder / OUTPUT_MARKER).is_file()


def mark_output_dir(folder: Path, command: str) -> None:
    """Write the marker into `folder`: JSON {created_by, command, time}."""
    from pingce import __version__

    body = {
        "created_by": f"pingce {__version__}",
        "command": command,
        "time": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
    (folder / OUTPUT_MARKER).write_text(json.dumps(body) + "\n", encoding="utf-8")


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_not_input(out: Path, inputs: Iterable[Path], option: str) -> None:
    """Refuse an output folder that equals or contains one of `inputs`."""
    out_r = out.expanduser().resolve()
    for inp in inputs:
        inp_r = Path(inp).expanduser().resolve()
        if _within(inp_r, out_r):
            how = "is" if inp_r == out_r else "contains"
            raise SpecError(
                f"{option}: output folder {out} {how} the input {inp}",
                hint="choose an output folder outside the inputs",
            )


def prepare_output_dir(
    path: Path,
    *,
    command: str,
    overwrite: bool = False,
    inputs: Iterable[Path] = (),
    option: str = "output",
) -> bool:
    """Make `path` ready as a pingce output folder; True when it already held pingce's output.

    A missing or empty folder is created and marked. A marked folder is kept as it is (the
    caller resumes or adds to it), or with `overwrite` deleted and created afresh. A non-empty
    folder without the marker, a file, a link, or a folder that equals or contains one of
    `inputs` is refused with a SpecError (the CLI's one `error:` line, exit 2).
    """
    check_not_input(path, inputs, option)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise SpecError(
            f"{option}: {path} is not a folder", hint="name a new or empty folder for the output"
        )
    if path.is_dir() and any(path.iterdir()):
        if not is_pingce_output(path):
            raise SpecError(
                f"{option}: output folder {path} is not empty and was not created by pingce "
                f"(no {OUTPUT_MARKER} marker); nothing was deleted",
                hint="choose a new or empty output folder",
            )
        if not overwrite:
            return True
        remove_output_dir(path, option=option)
    try:
        path.mkdir(parents=True, exist_ok=True)
        mark_output_dir(path, command)
    except OSError as exc:
        raise SpecError(
            f"{option}: cannot create output folder {path}: {exc.strerror or exc}",
            hint="choose a folder you can write to",
        ) from None
    return False


def remove_output_dir(path: Path, *, option: str = "output") -> None:
    """Delete a folder pingce created (it carries the marker); refuse anything else."""
    if path.is_symlink() or not is_pingce_output(path):
        raise SpecError(
            f"{option}: {path} was not created by pingce (no {OUTPUT_MARKER} marker); "
            "nothing was deleted",
            hint="choose a new or empty output folder",
        )
    shutil.rmtree(path)
