"""`pingce perf ...`: infer (inference scenarios), serve (LLM-serving load), train."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from pingce.core.errors import SpecError

app = typer.Typer(
    help="AI server system performance (GB/T 45087-2024): inference, LLM serving, training.",
    no_args_is_help=True,
)

ReportDir = Annotated[Path, typer.Option("--report-dir", help="Where reports are written.")]
Db = Annotated[str | None, typer.Option("--db", help="Results store URL or SQLite path.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
NoReport = Annotated[bool, typer.Option("--no-report", help="Store results, write no report.")]


def _run(
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


def check_counts(values: dict[str, int | None]) -> None:
    """Each given option (None: not given) must be an integer of at least 1."""
    for name, value in values.items():
        if value is not None and value < 1:
            raise SpecError(f"{name} must be at least 1, got {value}")


def check_positive(values: dict[str, float | None]) -> None:
    """Each given option (None: not given) must be a finite number above 0."""
    for name, value in values.items():
        if value is not None and not (math.isfinite(value) and value > 0):
            raise SpecError(f"{name} must be a finite number above 0, got {value}")


def infer_suite(
    scenarios: list[str],
    *,
    accuracy: bool = True,
    arrival: str | None = None,
    target_qps: float | None = None,
    latency_bound_ms: float | None = None,
    samples_per_query: int | None = None,
    min_duration_s: float | None = None,
    min_query_count: int | None = None,
    workers: int = 1,
    search: bool = False,
    search_steps: int = 6,
    seed: int = 1234,
) -> dict[str, Any]:
    """The suite `pingce perf infer` runs, built from its options."""
    tasks: list[dict[str, Any]] = []
    if accuracy:
        tasks.append(
            {"id": "accuracy", "type": "accuracy", "title": "Accuracy run", "dimension": "accuracy"}
        )
    common = {"min_duration_s": min_duration_s, "min_query_count": min_query_count, "seed": seed}
    common = {k: v for k, v in common.items() if v is not None}
    for sc in scenarios:
        task: dict[str, Any] = {
            "id": sc,
            "type": "scenario",
            "scenario": sc,
            "dimension": "inference",
            **common,
        }
        if sc == "server":
            task.update(
                arrival=arrival or "poisson",
                target_qps=target_qps,
                latency_bound_ms=latency_bound_ms,
                workers=workers,
            )
        elif sc in ("single-stream", "multi-stream"):
            if latency_bound_ms is not None:
                task["latency_bound_ms"] = latency_bound_ms
            if arrival and arrival != "continuous":
                task.update(arrival=arrival, target_qps=target_qps, workers=workers)
        if sc == "multi-stream" and samples_per_query:
            task["samples_per_query"] = samples_per_query
        tasks.append({k: v for k, v in task.items() if v is not None})
    if search:
        if latency_bound_ms is None:
            raise SpecError("--search needs --latency-bound-ms")
        st = {
            "id": "server-search",
            "type": "server-search",
            "latency_bound_ms": latency_bound_ms,
            "steps": search_steps,
            "workers": workers,
            "seed": seed,
        }
        if min_duration_s is not None:
            st["min_duration_s"] = min_duration_s
        if min_query_count is not None:
            st["min_query_count"] = min_query_count
        tasks.append(st)
    if not tasks:
        raise SpecError("nothing to run", hint="give --scenario, --search or --accuracy")
    return {
        "standard": "server-perf",
        "name": "perf-infer",
        "title": "Inference scenarios",
        "tasks": tasks,
    }


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
        {"--batch-size": batch_size, "--workers": workers, "--threads": threads,
         "--samples-per-query": samples_per_query, "--min-queries": min_queries}
    )  # fmt: skip
    check_positive(
        {"--target-qps": target_qps, "--latency-bound-ms": latency_bound_ms,
         "--min-duration": min_duration}
    )  # fmt: skip
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
    _run(
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


try:  # the serve and train commands live with their code
    from pingce.perf.serve.cli import serve  # noqa: F401  (registers `pingce perf serve`)
    from pingce.perf.train.cli import train  # noqa: F401  (registers `pingce perf train`)
except ImportError:  # pragma: no cover - while those parts are absent
    pass
