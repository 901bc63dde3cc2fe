"""Commands on stored runs (`show`, `report`, `export`, `compare`) and `validate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from pingce.commands.options import DbOpt, Format
from pingce.core.cli_kit import (
    check_writable_file,
    open_db,
    out,
    print_summary,
    warn_integrity,
)
from pingce.core.cli_kit import fmt as _fmt
from pingce.core.errors import ReportError, SpecError


def show(
    run_id: Annotated[str, typer.Argument(help="Run id, unique prefix, or 'latest'.")],
    db: DbOpt = None,
) -> None:
    """Show one run: status, settings and scores."""
    from pingce.core.reporting import build_report_doc

    store = open_db(db, create=False)
    row = store.get_run(run_id)
    out.print(
        f"run [bold]{row.id}[/bold]  status={row.status}  records={store.count_records(row.id)}"
    )
    out.print(f"suite {row.suite}  subject {row.subject}  config {row.config_hash}")
    if row.error:
        out.print(f"[red]error:[/red] {escape(row.error)}")
    doc = build_report_doc(store, row)
    integrity = doc["integrity"]
    out.print(f"integrity {integrity['status']}: {escape(integrity['detail'])}", highlight=False)
    print_summary(doc)
    warn_integrity(integrity)


def report(
    run_id: Annotated[str, typer.Argument(help="Run id, unique prefix, or 'latest'.")],
    format: Annotated[
        list[Format] | None,
        typer.Option("--format", "-f", help="html, md or json (repeatable; default all)."),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder for the files (default reports/<run-id>).")
    ] = None,
    db: DbOpt = None,
) -> None:
    """(Re)generate a run's report from its stored records."""
    from pingce.core.report import write_report
    from pingce.core.reporting import build_report_doc

    store = open_db(db, create=False)
    row = store.get_run(run_id)
    formats = [f.value for f in format] if format else ["html", "md", "json"]
    doc = build_report_doc(store, row)
    warn_integrity(doc["integrity"])
    paths = write_report(doc, out_dir or Path("reports") / row.id, formats)
    for p in paths:
        out.print(str(p))


def export_cmd(
    run_id: Annotated[str, typer.Argument(help="Run id, unique prefix, or 'latest'.")],
    records: Annotated[
        bool, typer.Option("--records", help="Export every per-item record of the run.")
    ] = False,
    format: Annotated[str, typer.Option("--format", "-f", help="jsonl, csv or parquet.")] = "jsonl",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default <run-id>.records.<format>)."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the output file if it exists.")
    ] = False,
    db: DbOpt = None,
) -> None:
    """Export a run's records (all of them; reports keep only a sample) for any standard."""
    from pingce.core.export import FORMATS, export_records

    if not records:
        raise SpecError("say what to export", hint="pingce export RUN_ID --records")
    if format not in FORMATS:
        raise SpecError(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
    store = open_db(db, create=False)
    row = store.get_run(run_id)
    path = output or Path(f"{row.id}.records.{format}")
    n = export_records(store, row.id, path, format, overwrite=overwrite)
    out.print(f"{n} records of run {row.id} → {path}")


def compare(
    run_a: Annotated[str, typer.Argument(help="Baseline run.")],
    run_b: Annotated[str, typer.Argument(help="Run compared with the baseline.")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the deltas as JSON.")
    ] = None,
    db: DbOpt = None,
) -> None:
    """Per-task deltas (B − A) with paired significance (McNemar for 0/1 scores, else paired bootstrap)."""
    from pingce.core.compare import compare_runs_with_coverage

    if json_out is not None:
        check_writable_file(json_out, "--json")
    store = open_db(db, create=False)
    a, b = store.get_run(run_a), store.get_run(run_b)
    from pingce.core.integrity import verify_runs

    for rid, found in verify_runs(store, [a, b] if a.id != b.id else [a]).items():
        warn_integrity({"warning": found.warning(rid)})
    deltas, coverage = compare_runs_with_coverage(store, a, b)
    table = Table(title=f"{b.id} vs {a.id} (B − A)")
    for col in ("task", "metric", "A", "B", "Δ", "95% CI", "p", "n", "test", "A all", "B all"):
        table.add_column(col)
    for d in deltas:
        ci = f"[{_fmt(d.ci_low)}, {_fmt(d.ci_high)}]" if d.ci_low is not None else "–"
        mark = " *" if d.significant else ""
        table.add_row(
            d.task,
            d.metric,
            _fmt(d.value_a),
            _fmt(d.value_b),
            _fmt(d.delta) + mark,
            ci,
            _fmt(d.p_value, 3),
            str(d.n),
            d.method,
            f"{_fmt(d.full_a)} (n={d.n_a})",
            f"{_fmt(d.full_b)} (n={d.n_b})",
        )
    out.print(table)
    out.print(
        "* p < 0.05 (paired, two-sided); A, B, Δ and n use only the samples both runs have "
        "(paired by task and sample id); 'A all' / 'B all' are each run's own score on all its "
        "samples"
    )
    left_out = [c.describe() for c in coverage if not c.complete]
    if left_out:
        out.print("[yellow]left out of the comparison:[/yellow]")
        for line in left_out:
            out.print(f"  {escape(line)}")
    if json_out:
        try:
            json_out.write_text(
                json.dumps([d.to_dict() for d in deltas], indent=2), encoding="utf-8"
            )
        except OSError as exc:
            raise ReportError(f"--json {json_out}: cannot write the file: {exc.strerror}") from None


def validate(
    suite: Annotated[str, typer.Argument(help="Suite YAML path or built-in name.")],
) -> None:
    """Validate a suite: YAML, fields, task types, metrics and templates."""
    from pingce.core.spec import load_suite

    s = load_suite(suite)
    out.print(
        f"[green]ok[/green] {s.source}: standard {s.spec.standard}, {len(s.spec.tasks)} tasks"
    )
