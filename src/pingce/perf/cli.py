"""`pingce perf ...`: infer (inference scenarios), serve (LLM-serving load), train."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pingce.perf.command_options import Db, NoReport, Quiet, ReportDir, run_suite
from pingce.perf.plugin import CLI_HELP
from pingce.perf.serve.cli import serve
from pingce.perf.suite_builders import check_counts, check_positive, infer_suite
from pingce.perf.train.cli import train

__all__ = ["app", "infer_suite"]

app = typer.Typer(help=CLI_HELP, no_args_is_help=True)


@app.command("infer")
def infer(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="SUT: builtin:digits, builtin:resnet50, builtin:bert-base, torch:F, onnx:F.onnx, python:mod:fn, http://host/path (add ?data=digits|F.npz).",
        ),
    ] = "builtin:digits",
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            "--scenario", "-s", help="single-stream, multi-stream, server, offline (repeatable)."
        ),
    ] = None,
    arrival: Annotated[
        str | None, typer.Option(help="continuous, periodic, poisson, mixed (server: poisson).")
    ] = None,
    target_qps: Annotated[
        float | None, typer.Option("--target-qps", help="Server / open-loop target rate.")
    ] = None,
    latency_bound_ms: Annotated[
        float | None,
        typer.Option("--latency-bound-ms", help="Latency bound at the scenario percentile."),
    ] = None,
    samples_per_query: Annotated[
        int | None, typer.Option(help="MultiStream samples per query (default 8).")
    ] = None,
    min_duration: Annotated[
        float | None, typer.Option("--min-duration", help="Minimum run seconds (default 2).")
    ] = None,
    min_queries: Annotated[
        int | None,
        typer.Option("--min-queries", help="Minimum queries (default: early-stopping minimum)."),
    ] = None,
    workers: Annotated[int, typer.Option(help="Parallel SUT workers for open-loop arrivals.")] = 1,
    search: Annotated[
        bool, typer.Option("--search", help="Find the highest valid Server QPS.")
    ] = False,
    accuracy: Annotated[
        bool, typer.Option("--accuracy/--no-accuracy", help="Run the accuracy gate.")
    ] = True,
    batch_size: Annotated[int, typer.Option(help="SUT batch size (Offline, accuracy).")] = 32,
    threads: Annotated[int | None, typer.Option(help="SUT compute threads.")] = None,
    device: Annotated[
        str, typer.Option(help="Torch SUTs: cpu, cuda[:N] or auto (cuda when present).")
    ] = "cpu",
    seed: Annotated[int, typer.Option()] = 1234,
    resume: Annotated[str | None, typer.Option(help="Resume this run id.")] = None,
    report_dir: ReportDir = Path("reports"),
    db: Db = None,
    quiet: Quiet = False,
    no_report: NoReport = False,
) -> None:
    """Inference scenarios with validity rules, accuracy gate and QPS search."""
    check_counts(
        {
            "--batch-size": batch_size,
            "--workers": workers,
            "--threads": threads,
            "--samples-per-query": samples_per_query,
            "--min-queries": min_queries,
        }
    )
    check_positive(
        {
            "--target-qps": target_qps,
            "--latency-bound-ms": latency_bound_ms,
            "--min-duration": min_duration,
        }
    )
    scenarios = (
        scenario if scenario is not None else ([] if search else ["offline", "single-stream"])
    )
    suite = infer_suite(
        scenarios,
        accuracy=accuracy,
        arrival=arrival,
        target_qps=target_qps,
        latency_bound_ms=latency_bound_ms,
        samples_per_query=samples_per_query,
        min_duration_s=min_duration,
        min_query_count=min_queries,
        workers=workers,
        search=search,
        seed=seed,
    )
    options = {"batch_size": batch_size, "threads": threads, "seed": seed, "device": device}
    run_suite(
        suite,
        model,
        options,
        source="pingce perf infer",
        report_dir=report_dir,
        db=db,
        quiet=quiet,
        no_report=no_report,
        resume=resume,
    )


# The serve and train commands live with their code; they are plain functions registered here.
app.command("serve")(serve)
app.command("train")(train)
