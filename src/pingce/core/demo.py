"""What a `pingce demo` step receives; each standard registers one step in `registry.demos`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from pingce.core.store import Store


@dataclass
class DemoContext:
    store: Store
    report_dir: Path
    console: Console
    quiet: bool = False
    limit: int | None = None  # samples per task, to keep a demo short
