"""`pingce data ...`: process a pipeline, evaluate a dataset, generate a test corpus."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from pingce.core.cli_kit import Db, NoReport, Quiet, ReportDir, out, run_and_report
from pingce.core.errors import SpecError
from pingce.data.evaluate import check_evaluation, evaluate_dataset
from pingce.data.funnel import print_funnel
from pingce.data.plugin import CLI_HELP

__all__ = ["app", "evaluate_dataset"]

app = typer.Typer(help=CLI_HELP, no_args_is_help=True)


def _parse_target(value: str | None) -> dict[str, float] | None:
    if not value:
        return None
    target: dict[str, float] = {}
    for part in value.split(","):
        key, sep, share = part.partition("=")
        try:
            target[key.strip()] = float(share)
        except ValueError:
            sep = ""
        share_value = target.get(key.strip(), -1.0)
        if not sep or not (math.isfinite(share_value) and share_value >= 0):
            raise SpecError(
                f"--target {value!r}: expected LANG=SHARE pairs with finite shares >= 0, "
                "e.g. en=0.5,zh=0.5"
            )
    return target


@app.command()
def process(
    pipeline: Annotated[Path, typer.Argument(help="Pipeline YAML (input, output, operators).")],
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: the YAML's workers).")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace an output folder of another pipeline.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    executor: Annotated[
        str,
        typer.Option(
            help="local (processes), ray (a local Ray with --workers CPUs), auto or "
            "ray://HOST:PORT (a Ray cluster); the output is the same."
        ),
    ] = "local",
) -> None:
    """Run a processing pipeline over shards (resumes finished shards after a crash)."""
    from pingce.data.pipeline import run_pipeline
    from pingce.data.pipeline_spec import load_pipeline
    from pingce.data.ray_executor import parse_executor

    if workers is not None and workers < 1:
        raise SpecError(f"--workers must be at least 1, got {workers}")
    parse_executor(executor)  # a bad value fails before the pipeline is read
    pipe = load_pipeline(pipeline)
    stats = run_pipeline(
        pipe, workers=workers, overwrite=overwrite, show_progress=not quiet, executor=executor
    )
    if stats.get("resumed") == "already complete":
        out.print("[green]already complete[/green] (stats.json exists); pass --overwrite to redo")
    print_funnel(stats, out)
    out.print(f"output: {pipe.resolve(pipe.spec.output.path)}")


@app.command()
def evaluate(
    dataset: Annotated[
        str,
        typer.Argument(
            help="A data file, folder or glob; or FORMAT:PATH (jsonl:, parquet:, csv:, text:, hf:)."
        ),
    ],
    profile: Annotated[str, typer.Option(help="pretrain or sft.")] = "pretrain",
    sample: Annotated[
        int | None, typer.Option(help="Evaluate a uniform random sample of N records.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for sampling and bootstrap CIs.")] = 1234,
    text_field: Annotated[str | None, typer.Option("--text-field")] = None,
    id_field: Annotated[str | None, typer.Option("--id-field")] = None,
    prompt_field: Annotated[str | None, typer.Option("--prompt-field")] = None,
    response_field: Annotated[str | None, typer.Option("--response-field")] = None,
    messages_field: Annotated[str | None, typer.Option("--messages-field")] = None,
    target: Annotated[
        str | None, typer.Option(help="Target language shares, e.g. en=0.5,zh=0.5.")
    ] = None,
    topics: Annotated[
        int, typer.Option(help="Topics K of the topic model (at most documents / 5).")
    ] = 8,
    stats: Annotated[
        Path | None,
        typer.Option(
            help="A pipeline's stats.json for the funnel (found automatically in a processed folder)."
        ),
    ] = None,
    strict: Annotated[bool, typer.Option(help="Stop at the first malformed record.")] = False,
    workers: Annotated[
        int, typer.Option(help="Processes that score documents (as `data process --workers`).")
    ] = 1,
    report_dir: ReportDir = Path("reports"),
    no_report: NoReport = False,
    quiet: Quiet = False,
    db: Db = None,
) -> None:
    """Grade a dataset with the data-quality model and write the report."""
    shares = _parse_target(target)
    fields = {
        "text_field": text_field,
        "id_field": id_field,
        "prompt_field": prompt_field,
        "response_field": response_field,
        "messages_field": messages_field,
    }
    run_and_report(
        lambda store: evaluate_dataset(
            store,
            dataset,
            profile=profile,
            sample=sample,
            seed=seed,
            target=shares,
            stats=stats,
            strict=strict,
            show_progress=not quiet,
            topics=topics,
            workers=workers,
            fields=fields,
        ),
        db=db,
        report_dir=None if no_report else report_dir,
        quiet=quiet,
        check=lambda: check_evaluation(profile, sample, topics, workers),
    )


@app.command()
def generate(
    out_path: Annotated[Path, typer.Argument(help="Output .jsonl / .jsonl.gz / .jsonl.zst")],
    docs: Annotated[int, typer.Option(help="Documents in total.")] = 1000,
    seed: Annotated[int, typer.Option()] = 0,
    zh_fraction: Annotated[float, typer.Option("--zh-fraction")] = 0.5,
    exact_dup_rate: Annotated[float, typer.Option("--exact-dup-rate")] = 0.05,
    near_dup_rate: Annotated[float, typer.Option("--near-dup-rate")] = 0.10,
    low_quality_rate: Annotated[float, typer.Option("--low-quality-rate")] = 0.10,
    shards: Annotated[int, typer.Option(help="Split into this many files.")] = 1,
) -> None:
    """Write a synthetic English/Chinese corpus with labelled duplicates and low-quality docs."""
    from pingce.data.generator import CorpusConfig, write_corpus
    from pingce.data.generator import generate as gen

    if docs < 1 or shards < 1:
        raise SpecError("--docs and --shards must be at least 1")
    for name, v in (
        ("--zh-fraction", zh_fraction),
        ("--exact-dup-rate", exact_dup_rate),
        ("--near-dup-rate", near_dup_rate),
        ("--low-quality-rate", low_quality_rate),
    ):
        if not 0 <= v <= 1:
            raise SpecError(f"{name} must be between 0 and 1, got {v}")
    cfg = CorpusConfig(
        docs=docs,
        seed=seed,
        zh_fraction=zh_fraction,
        exact_dup_rate=exact_dup_rate,
        near_dup_rate=near_dup_rate,
        low_quality_rate=low_quality_rate,
    )
    paths = write_corpus(gen(cfg), out_path, shards)
    out.print(f"wrote {docs} documents to {', '.join(str(p) for p in paths)}")
