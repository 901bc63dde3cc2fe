"""`pingce perf train`: digits CNN training throughput, time to accuracy, DDP scaling (registered
on the `pingce perf` group by pingce.perf.cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pingce.perf.command_options import Db, NoReport, Quiet, ReportDir, run_suite
from pingce.perf.suite_builders import train_suite


def train(
    steps: Annotated[
        int, typer.Option(help="Training steps per run (fixed, not a time budget).")
    ] = 200,
    batch_size: Annotated[int, typer.Option(help="Samples per step (per worker for DDP).")] = 64,
    target_accuracy: Annotated[
        float, typer.Option(help="Target test accuracy for time to accuracy.")
    ] = 0.95,
    repeats: Annotated[
        int, typer.Option(help="Runs (MLPerf drops fastest and slowest from >= 5).")
    ] = 5,
    workers: Annotated[
        list[int] | None,
        typer.Option("--workers", help="DDP worker counts (repeatable; default 1 and 2)."),
    ] = None,
    scaling_steps: Annotated[int, typer.Option(help="Steps per DDP scaling run.")] = 100,
    backend: Annotated[
        str, typer.Option(help="auto (nccl with GPUs, else gloo), gloo or nccl.")
    ] = "auto",
    threads: Annotated[int, typer.Option(help="Threads per single-process run.")] = 1,
    seed: Annotated[int, typer.Option()] = 0,
    report_dir: ReportDir = Path("reports"),
    db: Db = None,
    quiet: Quiet = False,
    no_report: NoReport = False,
) -> None:
    """Training performance on the built-in digits CNN."""
    suite = train_suite(
        steps=steps,
        batch_size=batch_size,
        target_accuracy=target_accuracy,
        repeats=repeats,
        workers=workers,
        scaling_steps=scaling_steps,
        backend=backend,
        threads=threads,
        seed=seed,
    )
    run_suite(
        suite,
        "builtin:digits",
        {},
        source="pingce perf train",
        report_dir=report_dir,
        db=db,
        quiet=quiet,
        no_report=no_report,
    )
