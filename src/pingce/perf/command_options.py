"""What every `pingce perf` command shares: the store/report options and the run step."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

ReportDir = Annotated[Path, typer.Option("--report-dir", help="Where reports are written.")]
Db = Annotated[str | None, typer.Option("--db", help="Results store URL or SQLite path.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
NoReport = Annotated[bool, typer.Option("--no-report", help="Store results, write no report.")]


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
    from pingce import cli as main_cli
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.spec import suite_from_dict

    if not no_report:
        main_cli.check_writable(report_dir)
    store = main_cli.open_db(db)
    if resume:
        run_id = execute_run(store, resume=resume, show_progress=not quiet)
    else:
        suite = suite_from_dict(suite_dict, source, Path.cwd())
        request = RunRequest(suite=suite, subject=subject, standard="server-perf", options=options)
        run_id = execute_run(store, request, show_progress=not quiet)
    main_cli.finish_run(store, run_id, None if no_report else report_dir)
    return run_id
