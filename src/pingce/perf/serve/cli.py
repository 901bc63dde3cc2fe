"""`pingce perf serve`: LLM-serving load test against an OpenAI-compatible endpoint (registered
on the `pingce perf` group by pingce.perf.cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pingce.perf.command_options import Db, NoReport, Quiet, ReportDir, run_suite
from pingce.perf.suite_builders import serve_suite


def serve(
    url: Annotated[
        str,
        typer.Option(
            "--url", help="Base URL of the OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1."
        ),
    ],
    model: Annotated[str, typer.Option("--model", "-m", help="Model name the server expects.")],
    request_rate: Annotated[
        list[float] | None,
        typer.Option("--request-rate", help="Poisson request rate(s), req/s (repeat to sweep)."),
    ] = None,
    concurrency: Annotated[
        list[int] | None,
        typer.Option("--concurrency", help="Fixed concurrent clients (repeat to sweep)."),
    ] = None,
    num_requests: Annotated[int, typer.Option(help="Measured requests per load level.")] = 20,
    burstiness: Annotated[
        float, typer.Option(help="Gamma shape of the arrival gaps (1 = Poisson).")
    ] = 1.0,
    warmup: Annotated[int, typer.Option(help="Unmeasured warm-up requests per level.")] = 2,
    input_len: Annotated[int, typer.Option(help="Prompt tokens (exact with --tokenizer).")] = 32,
    output_len: Annotated[int, typer.Option(help="max_tokens per request.")] = 16,
    tokenizer: Annotated[
        str | None, typer.Option(help="Tokenizer folder for exact prompt lengths.")
    ] = None,
    dataset: Annotated[
        str | None, typer.Option(help="JSONL prompts ({'prompt': ...}) instead of synthetic.")
    ] = None,
    api: Annotated[str, typer.Option(help="completions or chat.")] = "completions",
    ignore_eos: Annotated[
        bool,
        typer.Option(
            "--ignore-eos", help="Ask the server to generate exactly max_tokens (vLLM extension)."
        ),
    ] = False,
    slo_ttft_ms: Annotated[float | None, typer.Option(help="TTFT SLO for goodput.")] = None,
    slo_tpot_ms: Annotated[float | None, typer.Option(help="TPOT SLO for goodput.")] = None,
    max_concurrency: Annotated[
        int | None, typer.Option(help="Cap on in-flight requests (Poisson mode).")
    ] = None,
    seed: Annotated[int, typer.Option()] = 0,
    report_dir: ReportDir = Path("reports"),
    db: Db = None,
    quiet: Quiet = False,
    no_report: NoReport = False,
) -> None:
    """Streaming load test: TTFT, TPOT, ITL, E2E, throughput and goodput under SLOs."""
    suite = serve_suite(
        request_rate=request_rate,
        concurrency=concurrency,
        num_requests=num_requests,
        burstiness=burstiness,
        warmup=warmup,
        input_len=input_len,
        output_len=output_len,
        tokenizer=tokenizer,
        dataset=dataset,
        api=api,
        ignore_eos=ignore_eos,
        slo_ttft_ms=slo_ttft_ms,
        slo_tpot_ms=slo_tpot_ms,
        max_concurrency=max_concurrency,
        seed=seed,
    )
    run_suite(
        suite,
        f"openai:{url.rstrip('/')}?model={model}",
        {},
        source="pingce perf serve",
        report_dir=report_dir,
        db=db,
        quiet=quiet,
        no_report=no_report,
    )
