"""What a `pingce demo` step receives; each standard registers one step in `registry.demos`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from pingce.core.spec import Suite
    from pingce.core.store import Store


@dataclass
class DemoContext:
    store: Store
    report_dir: Path
    console: Console
    quiet: bool = False
    limit: int | None = None  # samples per task, to keep a demo short

    def run_suite(
        self, suite: str | Suite, subject: str, options: dict[str, Any] | None = None
    ) -> str:
        """Run a suite (a built-in name such as "kg/quality", a path, or a `Suite`) on
        `subject` through the shared run path; returns the run id (`pingce demo` then prints
        the summary and writes the reports)."""
        from pingce.core.run import RunRequest, execute_run

        request = RunRequest(suite=suite, subject=subject, options=dict(options or {}))
        return execute_run(self.store, request, show_progress=not self.quiet)
