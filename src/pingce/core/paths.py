"""Where pingce keeps what it builds: models, trained workloads, generated data."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """`PINGCE_CACHE`, else `$XDG_CACHE_HOME/pingce`, else `~/.cache/pingce`."""
    if os.environ.get("PINGCE_CACHE"):
        return Path(os.environ["PINGCE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pingce"
