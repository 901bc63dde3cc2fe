"""`pingce import lm-eval PATH [--out DIR] [--tasks a,b]`: lm-eval task YAMLs -> pingce suites."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml

from pingce.core.errors import PingceError, SpecError

app = typer.Typer(help="Import other tools' tasks as pingce suites.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Import other tools' tasks as pingce suites."""


def _write(
    out: Path, suites: dict[str, dict[str, object]], report: list[dict[str, object]]
) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SpecError(
            f"--out {out}: exists and is not an empty folder",
            hint="pingce writes imported suites only into a new folder",
        )
    out.mkdir(parents=True, exist_ok=True)
    for stem, suite in suites.items():
        text = yaml.safe_dump(suite, allow_unicode=True, sort_keys=False, width=100)
        (out / f"{stem}.yaml").write_text(text, encoding="utf-8")
    (out / "import-report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


@app.command("lm-eval")
def lm_eval(
    path: Annotated[Path, typer.Argument(help="an lm-eval task YAML, group YAML or folder")],
    out: Annotated[Path, typer.Option("--out", help="new folder for the suites")] = Path(
        "lmeval-suites"
    ),
    tasks: Annotated[str | None, typer.Option("--tasks", help="only these tasks: a,b")] = None,
) -> None:
    """Convert lm-eval task YAMLs into pingce suites, with a report of what did not convert."""
    from rich.console import Console
    from rich.table import Table

    from pingce.core.cli_kit import error_line
    from pingce.llm.lmeval_import.convert import convert

    wanted = {t.strip() for t in tasks.split(",") if t.strip()} if tasks else None
    try:
        result = convert(path, wanted)
        if wanted is not None:
            missing = sorted(wanted - {r.task for r in result.reports})
            if missing:
                raise SpecError(f"--tasks: no task {', '.join(missing)} under {path}")
        report = [
            {
                "task": r.task,
                "source": r.source,
                "status": r.status,
                "gaps": [g.__dict__ for g in r.gaps],
            }
            for r in result.reports
        ]
        _write(out, result.suites, report)
    except PingceError as exc:
        error_line(exc.one_line())
        raise typer.Exit(2) from None
    table = Table("task", "status", "gaps (field: why)")
    counts = {"converted": 0, "partial": 0, "failed": 0}
    for r in result.reports:
        counts[r.status] += 1
        gaps = "; ".join(f"{g.field}: {g.why}" for g in r.gaps)
        table.add_row(r.task, r.status, gaps)
    console = Console(soft_wrap=True)
    console.print(table)
    console.print(
        f"{counts['converted']} converted, {counts['partial']} partial, {counts['failed']} "
        f"failed; {len(result.suites)} suite(s) in {out} (gaps in {out / 'import-report.json'})",
        highlight=False,
    )


def register() -> None:
    """Add `pingce import ...` to the root CLI (idempotent)."""
    from pingce.core.registry import CommandGroupRef, commands

    if not commands.has_loaded("import"):
        commands.register(
            "import",
            CommandGroupRef("pingce.llm.lmeval_import.cli:app", "Import other tools' tasks."),
        )
