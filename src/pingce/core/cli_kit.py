"""The command-line plumbing every standard's command group shares.

A standard's `cli.py` builds its typer group on this module, never on `pingce.cli`: the
consoles, the common options (`Db`, `ReportDir`, `NoReport`, `Quiet`, `Seed`), opening the
store, checking the report folder before the work, and `run_and_report()`, the
check-store-run-report sequence of a command that runs an evaluation:

    @app.command()
    def evaluate(pred: Path, report_dir: ReportDir = Path("reports"),
                 no_report: NoReport = False, quiet: Quiet = False, db: Db = None) -> None:
        run_and_report(lambda store: evaluate_predictions(store, pred, show_progress=not quiet),
                       db=db, report_dir=None if no_report else report_dir, quiet=quiet)

`run_cli()` is the one place that turns a `PingceError` into one `error:` line and exit 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pingce.core.errors import PingceError, ReportError, SpecError
from pingce.core.seed import DEFAULT_SEED

if TYPE_CHECKING:
    from pingce.core.run import RunRequest
    from pingce.core.store import Store

out = Console()
err = Console(stderr=True)

# Options that every evaluating command spells the same way.
Db = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Results store URL or SQLite path (default: $PINGCE_DB or ~/.local/share/pingce/pingce.db).",
    ),
]
ReportDir = Annotated[
    Path, typer.Option("--report-dir", help="Reports go to REPORT_DIR/<run-id>/.")
]
NoReport = Annotated[
    bool, typer.Option("--no-report", help="Store results but write no report files.")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
Seed = Annotated[
    int, typer.Option(help=f"Seed for sampling and bootstrap (default {DEFAULT_SEED}).")
]

INTERRUPTED = 130  # exit code after Ctrl-C / SIGTERM (finished records are kept)


def open_db(db: str | None, *, create: bool = True) -> Store:
    """The results store; read-only commands pass create=False (a mistyped --db is an error)."""
    from pingce.core.store import open_store

    return open_store(db, create=create)


def check_writable(folder: Path) -> None:
    """Fail before the work, not after it, when reports cannot be written."""
    probe = folder
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        raise ReportError(f"report folder {folder} is not writable", hint="pass --report-dir DIR")


def check_writable_file(path: Path, option: str) -> None:
    """Fail before the work when `option`'s output file cannot be written."""
    if path.is_dir():
        raise ReportError(f"{option} {path} is a folder; expected a file path")
    parent = path.parent
    if not parent.is_dir():
        raise ReportError(f"{option} {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ReportError(f"{option} {path} is not writable")


def quiet_libraries() -> None:
    """`--quiet` means no progress bars, transformers' "Loading weights" bar included."""
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    if "transformers" in sys.modules:
        sys.modules["transformers"].utils.logging.disable_progress_bar()


def fmt(value: Any, digits: int = 4) -> str:
    """A number for a terminal table ("–" for None)."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return (
            f"{value:.{digits}g}"
            if abs(value) >= 1000 or abs(value) < 1e-3 and value
            else f"{value:.{digits}f}"
        )
    return str(value)


def finish_run(store: Store, run_id: str, report_dir: Path | None) -> dict[str, Any]:
    """Print a finished run's summary and integrity warning, write its reports to
    `report_dir/<run-id>/` (None: no report files) and print the run id; returns the report
    document (built once, validated once)."""
    from pingce.core.report import write_report
    from pingce.core.reporting import build_report_doc

    doc = build_report_doc(store, store.get_run(run_id))
    print_summary(doc)
    warn_integrity(doc["integrity"])
    if report_dir is not None:
        paths = write_report(doc, report_dir / run_id)
        out.print(f"report: {', '.join(str(p) for p in paths)}")
    out.print(f"run id: [bold]{run_id}[/bold]")
    return doc


def warn_integrity(integrity: dict[str, Any]) -> None:
    """One `warning:` line on stderr when a run's records or scores changed after it completed
    (or its saved and recomputed scores differ); see pingce.core.integrity."""
    if integrity.get("warning"):
        err.print(
            f"[yellow]warning:[/yellow] {escape(integrity['warning'])}",
            highlight=False,
            soft_wrap=True,
        )


def print_summary(doc: dict[str, Any]) -> None:
    """The report document's task scores (and dimensions, notes) as terminal tables."""
    run = doc["run"]
    table = Table(title=f"{run['suite']} on {run['subject']}  ({run['status']})")
    for col in ("task", "dimension", "metric", "value", "95% CI", "n"):
        table.add_column(col, justify="right" if col in {"value", "n"} else "left")
    for task in doc["tasks"]:
        m = task["metrics"][task["primary_metric"]]
        ci = f"[{fmt(m['ci_low'])}, {fmt(m['ci_high'])}]" if m["ci_low"] is not None else "–"
        table.add_row(
            task["id"], task["dimension"], task["primary_metric"], fmt(m["value"]), ci, str(m["n"])
        )
    out.print(table)
    if not doc["dimensions"]:
        for note in doc["notes"]:
            out.print(f"[yellow]note:[/yellow] {note}")
        return
    dims = Table(title="Capability dimensions (0–1)")
    dims.add_column("dimension")
    dims.add_column("维度")
    dims.add_column("score", justify="right")
    for d in doc["dimensions"]:
        dims.add_row(d["id"], d["name_zh"], fmt(d["score"]))
    dims.add_row("[bold]overall[/bold]", "综合", fmt(doc["overall"]["score"]))
    out.print(dims)
    for note in doc["notes"]:
        out.print(f"[yellow]note:[/yellow] {note}")


def run_and_report(
    run: Callable[[Store], str] | RunRequest,
    *,
    db: str | None,
    report_dir: Path | None,
    quiet: bool = False,
    check: Callable[[], None] | None = None,
) -> str:
    """The check-store-run-report sequence of an evaluating command; returns the run id.

    In order: `check()` (the command's own argument checks, before anything is created), the
    report folder is checked writable (`report_dir=None`: `--no-report`), `--quiet` silences
    library progress bars, the store is opened, `run(store)` runs the evaluation and returns
    its run id (or a `RunRequest` goes through `pingce.core.run.execute_run`), and
    `finish_run` prints the summary and writes the reports.
    """
    if check is not None:
        check()
    if report_dir is not None:
        check_writable(report_dir)
    if quiet:
        quiet_libraries()
    store = open_db(db)
    if callable(run):
        run_id = run(store)
    else:
        from pingce.core.run import execute_run

        run_id = execute_run(store, run, show_progress=not quiet)
    finish_run(store, run_id, report_dir)
    return run_id


def error_line(message: str) -> None:
    """Print one `error: ...` line on stderr (user text is never read as markup)."""
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)


def _interrupted() -> None:
    err.print(
        "interrupted: finished records are stored; resume with `pingce run --resume RUN_ID`",
        highlight=False,
        soft_wrap=True,
    )
    sys.exit(INTERRUPTED)


def _is_click_error(exc: BaseException) -> bool:
    """A click usage error, from click itself or from the copy of click that typer bundles."""
    return any(cls.__name__ == "ClickException" for cls in type(exc).__mro__)


def run_cli(command: Callable[..., Any]) -> None:
    """Run a click command (`typer.main.get_command(app)`) as a program: a user error
    (`PingceError`, a bad path, a click usage error) becomes one `error:` line and exit 2,
    Ctrl-C exit 130, never a traceback for a user mistake."""
    try:
        # Without standalone mode, typer turns Ctrl-C into a returned 130 and returns the code
        # of any `typer.Exit` instead of exiting with it.
        code = command(standalone_mode=False)
    except PingceError as exc:
        # Messages quote user text (paths, templates such as "[INST] ..."): never markup.
        error_line(exc.one_line())
        sys.exit(2)
    except KeyboardInterrupt:
        _interrupted()
    except (typer.Exit, typer.Abort) as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):
            _interrupted()
        sys.exit(getattr(exc, "exit_code", 1))
    except Exception as exc:  # click usage errors (bad option values, unknown commands)
        from pingce.core.user_errors import user_error_line

        line = user_error_line(exc)  # a path the user gave is a folder, unreadable, not UTF-8
        if line is not None:
            error_line(line)
            sys.exit(2)
        if not _is_click_error(exc):
            raise
        message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
        if type(exc).__name__ == "NoArgsIsHelpError":
            if message:  # the help text, unless rich printed it already
                err.print(exc.format_message(), highlight=False, markup=False)  # type: ignore[attr-defined]
        else:
            error_line(message)
        sys.exit(int(getattr(exc, "exit_code", 2)))
    if code == INTERRUPTED:
        _interrupted()
    if isinstance(code, int) and code:
        sys.exit(code)


def int_list(text: str, option: str) -> list[int]:
    """A comma-separated list of positive integers given to `option` (e.g. `--batch-sizes 1,32`)."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SpecError(f"{option} must be comma-separated integers, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise SpecError(f"{option} must list positive integers, got {text!r}")
    return values
