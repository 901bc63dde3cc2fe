"""`pingce run` and `pingce demo`: evaluate, store, report."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from pingce.commands.options import DbOpt
from pingce.core.cli_kit import (
    check_writable,
    finish_run,
    open_db,
    out,
    quiet_libraries,
)
from pingce.core.errors import SpecError


def _parse_batch_size(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        n = int(value)
    except ValueError:
        raise SpecError(
            f"--batch-size must be a positive integer or 'auto', got {value!r}"
        ) from None
    if n < 1:
        raise SpecError(f"--batch-size must be a positive integer or 'auto', got {value!r}")
    return n


def run(
    suite: Annotated[
        str | None,
        typer.Option("--suite", "-s", help="Built-in suite name (e.g. llm/quick) or a YAML path."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Subject under test, e.g. hf:./models/tiny or hf:Qwen/Qwen2.5-0.5B.",
        ),
    ] = None,
    standard: Annotated[
        str | None, typer.Option("--standard", help="Standard the suite must belong to (e.g. llm).")
    ] = None,
    device: Annotated[str, typer.Option(help="auto|cpu|cuda|mps")] = "auto",
    dtype: Annotated[str, typer.Option(help="auto|float32|bfloat16|float16")] = "auto",
    batch_size: Annotated[
        str, typer.Option("--batch-size", help="Contexts per forward pass, or 'auto'.")
    ] = "16",
    limit: Annotated[
        int | None, typer.Option(help="Evaluate only the first N samples of each task.")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed for few-shot selection, sampling and bootstrap.")
    ] = 1234,
    num_fewshot: Annotated[
        int | None, typer.Option("--num-fewshot", help="Override every task's few-shot count.")
    ] = None,
    executor: Annotated[
        str, typer.Option("--executor", help="local, ray (a local Ray) or ray://HOST:PORT.")
    ] = "local",
    fewshot_trials: Annotated[
        int | None,
        typer.Option(
            "--fewshot-trials",
            help="Rerun each task with N resampled few-shot sets and report the spread.",
        ),
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads for the model (default: min(cores, 8)).")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="Served models: the API's base URL (with openai:NAME)."),
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            "--api-key-env",
            help="Served models: environment variable holding the API key (never stored).",
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(help="Served models: requests in flight (adapts down on 429/503).")
    ] = 32,
    request_timeout: Annotated[
        float | None,
        typer.Option("--request-timeout", help="Served models: seconds per request attempt."),
    ] = None,
    rpm: Annotated[
        int | None, typer.Option(help="Served models: at most this many requests per minute.")
    ] = None,
    tpm: Annotated[
        int | None, typer.Option(help="Served models: at most this many tokens per minute.")
    ] = None,
    no_stream: Annotated[
        bool, typer.Option("--no-stream", help="Served models: do not stream generations.")
    ] = False,
    prices: Annotated[
        Path | None,
        typer.Option(help="Served models: price table (JSON/YAML) for cost accounting."),
    ] = None,
    model_arg: Annotated[
        list[str] | None,
        typer.Option(
            "--model-arg",
            help="Served models: KEY=VALUE for any option of docs/standards/llm-served.md "
            "(e.g. max_retries=2, request_cache=false, adaptive=false, backoff_base_s=1); "
            "repeatable; wins over the flags above.",
        ),
    ] = None,
    resume: Annotated[
        str | None, typer.Option(help="Resume an interrupted run by id; recomputes nothing stored.")
    ] = None,
    report_dir: Annotated[
        Path, typer.Option("--report-dir", help="Reports go to REPORT_DIR/<run-id>/.")
    ] = Path("reports"),
    no_report: Annotated[
        bool, typer.Option("--no-report", help="Store results but write no report files.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    sandbox: Annotated[
        str | None,
        typer.Option(
            "--sandbox",
            help="Code tasks: isolation for model-written programs: bwrap (default), docker, "
            "podman, or none (needs --allow-unsafe-code).",
        ),
    ] = None,
    allow_unsafe_code: Annotated[
        bool,
        typer.Option(
            "--allow-unsafe-code",
            help="Confirm --sandbox none: run model-written code unisolated on this machine.",
        ),
    ] = False,
    db: DbOpt = None,
) -> None:
    """Run a suite on a subject (or resume a run), store it, and write its report."""
    from pingce.core.run import RunRequest, execute_run

    request = None
    if resume is None:
        if suite is None or model is None:
            raise SpecError("run needs --suite and --model (or --resume RUN_ID)")
        if limit is not None and limit < 1:
            raise SpecError(f"--limit must be at least 1, got {limit}")
        if num_fewshot is not None and num_fewshot < 0:
            raise SpecError(f"--num-fewshot must be 0 or more, got {num_fewshot}")
        if threads is not None and threads < 1:
            raise SpecError(f"--threads must be at least 1, got {threads}")
        if concurrency < 1:
            raise SpecError(f"--concurrency must be at least 1, got {concurrency}")
        for name, count in (("--rpm", rpm), ("--tpm", tpm)):
            if count is not None and count < 1:
                raise SpecError(f"{name} must be at least 1, got {count}")
        if request_timeout is not None and not (
            math.isfinite(request_timeout) and request_timeout > 0
        ):
            raise SpecError(
                f"--request-timeout must be a finite number of seconds above 0, "
                f"got {request_timeout}"
            )
        served = {
            "base_url": base_url,
            "api_key_env": api_key_env,
            "concurrency": concurrency if concurrency != 32 else None,
            "timeout_s": request_timeout,
            "requests_per_minute": rpm,
            "tokens_per_minute": tpm,
            "stream": False if no_stream else None,
            "prices": str(prices) if prices else None,
        }
        options: dict[str, Any] = {
            **{k: v for k, v in served.items() if v is not None},
            **_model_args(model_arg, model),
            "device": device,
            "dtype": dtype,
            "batch_size": _parse_batch_size(batch_size),
            "seed": seed,
            "num_fewshot": num_fewshot,
            "limit": limit,
            "threads": threads,
        }
        if executor != "local":
            from pingce.core.ray_executor import parse_executor

            parse_executor(executor)
            options["executor"] = executor
        _sandbox_options(options, sandbox, allow_unsafe_code)
        if fewshot_trials is not None:
            if fewshot_trials < 1:
                raise SpecError(f"--fewshot-trials must be at least 1, got {fewshot_trials}")
            options["fewshot_trials"] = fewshot_trials
        set_by_user = {
            "device": device != "auto",
            "dtype": dtype != "auto",
            "batch_size": batch_size != "16",
            "num_fewshot": num_fewshot is not None,
            "threads": threads is not None,
        }
        explicit = {k for k, v in set_by_user.items() if v} | (
            set(options)
            - {"device", "dtype", "batch_size", "seed", "num_fewshot", "limit", "threads"}
        )
        request = RunRequest(
            suite=suite,
            subject=model,
            standard=standard,
            options=options,
            explicit=frozenset(explicit),
        )
    if not no_report:
        check_writable(report_dir)
    if quiet:
        quiet_libraries()
    store = open_db(db)
    overrides: dict[str, Any] = {}
    if resume is not None:
        # Execution-only settings may change on resume; record keys do not depend on them.
        if executor != "local":
            from pingce.core.ray_executor import parse_executor

            parse_executor(executor)
            overrides["executor"] = executor
        if concurrency != 32:
            overrides["concurrency"] = concurrency
        if threads is not None:
            overrides["threads"] = threads
        # served-model client settings (retries, cache, backoff, ...) may change on resume
        overrides.update(_model_args(model_arg, None, resuming=True))
        _sandbox_options(overrides, sandbox, allow_unsafe_code)
    run_id = execute_run(
        store, request, resume=resume, show_progress=not quiet, overrides=overrides
    )
    finish_run(store, run_id, None if no_report else report_dir)


def _model_args(
    pairs: list[str] | None, model: str | None, *, resuming: bool = False
) -> dict[str, Any]:
    """--model-arg KEY=VALUE pairs as typed served-model options (see backends.openai); on
    resume only the client's execution settings may change, not what is asked of the model."""
    if not pairs:
        return {}
    if model is not None and not model.startswith("openai"):
        raise SpecError(
            f"--model-arg sets served-model options; {model!r} is not a served model",
            hint="use it with --model openai://HOST:PORT/v1?model=NAME",
        )
    from pingce.backends.openai import CLIENT_ONLY_ARGS, parse_model_args

    parsed = parse_model_args(pairs)
    fixed = sorted(set(parsed) - CLIENT_ONLY_ARGS) if resuming else []
    if fixed:
        raise SpecError(
            f"--model-arg {', '.join(fixed)} cannot change when resuming a run",
            hint=f"on --resume only these may: {', '.join(sorted(CLIENT_ONLY_ARGS))}",
        )
    return parsed


def _sandbox_options(options: dict[str, Any], sandbox: str | None, allow_unsafe: bool) -> None:
    """--sandbox / --allow-unsafe-code into the run options (execution-only, so resumable)."""
    from pingce.llm.sandbox import LAYERS

    if sandbox is not None:
        if sandbox not in LAYERS:
            raise SpecError(f"--sandbox must be one of {', '.join(LAYERS)}, got {sandbox!r}")
        options["sandbox"] = sandbox
    if allow_unsafe:
        options["allow_unsafe_code"] = True


def demo(
    report_dir: Annotated[Path, typer.Option("--report-dir")] = Path("reports"),
    limit: Annotated[int | None, typer.Option(help="Samples per task (default: all).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    only: Annotated[
        str | None,
        typer.Option(
            "--only", help="Comma-separated demo steps to run (e.g. llm,perf); default all."
        ),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Run every installed standard's demo on embedded defaults (no network needed)."""
    from pingce.core.demo import DemoContext
    from pingce.core.registry import demos

    if limit is not None and limit < 1:
        raise SpecError(f"--limit must be at least 1, got {limit}")
    check_writable(report_dir)
    if quiet:
        quiet_libraries()
    out.print(
        "[bold]pingce demo[/bold]: every step runs offline on data and models pingce builds itself."
    )
    ctx = DemoContext(
        store=open_db(db), report_dir=report_dir, console=out, quiet=quiet, limit=limit
    )
    steps = list(demos.items())
    if only:
        wanted = {w.strip() for w in only.split(",") if w.strip()}
        known = {name.split("-", 1)[-1] for name, _ in steps}
        unknown = sorted(wanted - known)
        if unknown:
            raise SpecError(
                f"--only: unknown demo step(s) {', '.join(unknown)}",
                hint=f"known: {', '.join(sorted(known))}",
            )
        steps = [(n, f) for n, f in steps if n.split("-", 1)[-1] in wanted]
    for name, step in steps:
        out.rule(name)
        run_id = step(ctx)
        if run_id is not None:  # None: the step was skipped and said why
            finish_run(ctx.store, run_id, report_dir)
