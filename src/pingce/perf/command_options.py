"""The run step every `pingce perf` command shares (its options come from pingce.core.cli_kit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pingce.core.cli_kit import Db, NoReport, Quiet, ReportDir, run_and_report

__all__ = ["Db", "NoReport", "Quiet", "ReportDir", "run_suite"]


def run_suite(
    suite_dict: dict[str, Any],
    subject: str,
    options: dict[str, Any],
    *,
    source: str,
    report_dir: Path,
    db: str | None,
    quiet: bool,
    no_report: bool,
    resume: str | None = None,
) -> str:
    """Run (or resume) a suite built from a command's options; store it and write the report."""
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.spec import suite_from_dict

    def run(store: Any) -> str:
        if resume:
            return execute_run(store, resume=resume, show_progress=not quiet)
        suite = suite_from_dict(suite_dict, source, Path.cwd())
        request = RunRequest(suite=suite, subject=subject, standard="server-perf", options=options)
        return execute_run(store, request, show_progress=not quiet)

    return run_and_report(run, db=db, report_dir=None if no_report else report_dir, quiet=quiet)
