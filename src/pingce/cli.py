"""The `pingce` command: run, list, show, report, compare, validate, demo."""

from __future__ import annotations

import functools
import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from pingce import __version__
from pingce.core.cli_kit import (  # re-exported: standards used to import these from here
    check_writable,
    check_writable_file,
    finish_run,
    open_db,
    out,
    print_summary,
    quiet_libraries,
    run_cli,
    warn_integrity,
)
from pingce.core.cli_kit import fmt as _fmt
from pingce.core.errors import ReportError, SpecError

# The old public helpers, kept importable from here until no standard needs them.
__all__ = ["app", "check_writable", "finish_run", "main", "open_db", "out", "print_summary"]


class PingceGroup(TyperGroup):
    """The top-level `pingce` group: the core commands, plus the command groups standards
    register (`pingce perf ...`), found in the registry only when a command is looked up, so
    `pingce --version` loads no standard and `pingce --help` imports no `CommandGroupRef`."""

    def list_commands(self, ctx: Any) -> list[str]:
        from pingce.core.registry import commands

        own = super().list_commands(ctx)
        return own + [name for name in commands.names() if name not in own]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        from pingce.core.registry import commands

        return _command_group(cmd_name) if commands.has(cmd_name) else None

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, _LazyGroup):  # about to run: import it now
            command = command.load()
        return name, command, rest


class _LazyGroup(TyperGroup):
    """What `pingce --help` lists for a `CommandGroupRef`: its name and help, nothing imported."""

    def __init__(self, name: str, ref: Any) -> None:
        super().__init__(name=name, help=ref.help)
        self.ref = ref

    def load(self) -> Any:
        return _typer_group(self.name or "", self.ref.load())


@functools.cache
def _command_group(name: str) -> Any:
    from pingce.core.registry import CommandGroupRef, commands

    entry = commands.get(name)
    return (
        _LazyGroup(name, entry) if isinstance(entry, CommandGroupRef) else _typer_group(name, entry)
    )


def _typer_group(name: str, entry: Any) -> Any:
    group = typer.main.get_group(entry) if isinstance(entry, typer.Typer) else entry
    group.name = name
    return group


app = typer.Typer(
    cls=PingceGroup,
    help="pingce (评测): standards-based evaluation of AI models and AI systems.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Results store URL or SQLite path (default: $PINGCE_DB or ~/.local/share/pingce/pingce.db).",
    ),
]


MAX_LIST_LIMIT = 1_000_000  # `list runs --limit`: SQLite rejects integers past 2**63


class ListWhat(StrEnum):
    standards = "standards"
    suites = "suites"
    tasks = "tasks"
    indicators = "indicators"
    runs = "runs"
    filters = "filters"
    metrics = "metrics"


class Format(StrEnum):
    html = "html"
    md = "md"
    json = "json"


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


@app.command()
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


@app.command()
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


@app.command("list")
def list_(
    what: Annotated[
        ListWhat,
        typer.Argument(help="standards|suites|tasks|indicators|runs|filters|metrics"),
    ],
    standard: Annotated[str | None, typer.Option(help="Only this standard.")] = None,
    suite: Annotated[
        str | None, typer.Option(help="For `tasks`: the suite (default: every built-in suite).")
    ] = None,
    limit: Annotated[int, typer.Option(help="For `runs`: how many.")] = 50,
    db: DbOpt = None,
) -> None:
    """List standards, suites, tasks, indicators, stored runs, answer filters or metrics."""
    from pingce.core.registry import standards
    from pingce.core.spec import builtin_suite_names, load_suite

    table = Table()
    if what is ListWhat.standards:
        from pingce.core.registry import unavailable

        for col in ("id", "title", "标题"):
            table.add_column(col)
        for sid, std in standards.items():
            table.add_row(sid, std.title, std.title_zh)
        for sid, gone in unavailable.items():
            if sid not in standards:
                note = escape(f"unavailable: needs {gone.missing} ({gone.hint})")  # "[kg]"
                table.add_row(sid, note, "不可用", style="dim")
    elif what is ListWhat.suites:
        from pingce.core.spec import suite_standard

        for col in ("suite", "standard", "family", "tasks", "title"):
            table.add_column(col)
        rows = []
        for name in builtin_suite_names():
            sid = suite_standard(name)
            if standard and sid != standard:
                continue
            unusable = _suite_unusable(sid)
            if unusable is not None:
                if unusable:
                    rows.append(("", name, (name, sid, "", "–", escape(unusable)), "dim"))
                continue
            s = load_suite(name)
            cells = (name, sid, s.spec.family, str(len(s.spec.tasks)), escape(s.spec.title))
            rows.append((s.spec.family, name, cells, None))
        for cells, style in _family_order(rows):
            table.add_row(*cells, style=style)
    elif what is ListWhat.tasks:
        from pingce.core.spec import suite_standard

        for col in ("suite", "task", "type", "dimension", "language", "title"):
            table.add_column(col)
        for name in [suite] if suite else builtin_suite_names():
            if not suite and _suite_unusable(suite_standard(name)) is not None:
                continue
            s = load_suite(name)
            if standard and s.spec.standard != standard:
                continue
            for t in s.spec.tasks:
                table.add_row(s.name, t.id, t.type, t.dimension, t.language, t.title)
    elif what is ListWhat.indicators:
        for col in ("standard", "id", "name", "中文名", "unit", "better"):
            table.add_column(col)
        for sid, std in standards.items():
            if standard and sid != standard:
                continue
            for ind in std.indicators():
                table.add_row(sid, ind.id, ind.name, ind.name_zh, ind.unit, ind.direction)
    elif what is ListWhat.filters:
        from pingce.core.listing import filter_rows

        for col in ("filter", "parameters", "what it does"):
            table.add_column(col)
        for row in filter_rows():
            table.add_row(*(escape(cell) for cell in row))  # "[invalid]" is not markup
    elif what is ListWhat.metrics:
        from pingce.core.listing import metric_rows

        for col in ("metric", "中文名", "better", "scale", "task types", "definition"):
            table.add_column(col)
        for row in metric_rows():
            table.add_row(*(escape(cell) for cell in row))
    else:
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise SpecError(f"--limit must be between 1 and {MAX_LIST_LIMIT:,}, got {limit}")
        for col in ("run id", "standard", "suite", "subject", "status", "overall", "created"):
            table.add_column(col)
        from pingce.core.integrity import verify_runs

        store = open_db(db, create=False)
        rows = store.list_runs(standard=standard, limit=limit)
        # The saved overall score is only shown plain when the run's records and summary
        # still match the digest stored at completion.
        checked = verify_runs(store, rows)
        for row in rows:
            overall = (row.results or {}).get("overall", {}).get("score")
            table.add_row(
                row.id,
                row.standard,
                row.suite,
                row.subject,
                row.status,
                _fmt(overall) + (" (modified!)" if checked[row.id].modified else ""),
                str(row.created_at),
            )
        out.print(table)
        for row in rows:
            warn_integrity({"warning": checked[row.id].warning(row.id)})
        return
    out.print(table)


def _family_order(rows: list[tuple[str, str, Any, Any]]) -> list[tuple[Any, Any]]:
    """(family, name, cells, style) rows in name order, except that the suites of a family
    follow the family's first suite."""
    first: dict[str, int] = {}
    for i, (family, name, _, _) in enumerate(sorted(rows, key=lambda r: r[1])):
        first.setdefault(family or name, i)
    ordered = sorted(rows, key=lambda r: (first[r[0] or r[1]], r[1]))
    return [(cells, style) for _, _, cells, style in ordered]


def _suite_unusable(sid: str) -> str | None:
    """None when standard `sid` is registered; else the listing's note for its built-in
    suites: why it is unavailable, or "" when it is absent (disabled) and not listed."""
    from pingce.core.registry import standards, unavailable

    if sid in standards:
        return None
    if sid in unavailable:
        gone = unavailable.get(sid)
        return f"unavailable: needs {gone.missing} ({gone.hint})"
    return ""


@app.command()
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


@app.command()
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


@app.command("export")
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


@app.command()
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


@app.command()
def validate(
    suite: Annotated[str, typer.Argument(help="Suite YAML path or built-in name.")],
) -> None:
    """Validate a suite: YAML, fields, task types, metrics and templates."""
    from pingce.core.spec import load_suite

    s = load_suite(suite)
    out.print(
        f"[green]ok[/green] {s.source}: standard {s.spec.standard}, {len(s.spec.tasks)} tasks"
    )


@app.callback(invoke_without_command=True)
def _main(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"pingce {__version__}")
        raise typer.Exit()


@functools.cache
def _click_command() -> Any:
    """The click command tree, built once per process: `app(...)` rebuilds it from every
    command's signature on each call (0.4 s), which in-process callers repeat."""
    return typer.main.get_command(app)


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2."""
    run_cli(_click_command())


if __name__ == "__main__":
    main()
