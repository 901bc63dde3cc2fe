"""`pingce data ...`: process a pipeline, evaluate a dataset, generate a test corpus."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from pingce.core.errors import SpecError

app = typer.Typer(
    help="Training-data processing pipelines and the data-quality model.", no_args_is_help=True
)
out = Console()


def print_funnel(stats: dict[str, Any]) -> None:
    reader = stats["reader"]
    table = Table(
        title=f"funnel: {reader['documents']} documents read, {stats['documents_out']} written"
    )
    for col in ("operator", "in", "kept", "removed", "modified", "top reasons", "s"):
        table.add_column(col, justify="left" if col in ("operator", "top reasons") else "right")
    for s in stats["funnel"]:
        top = sorted(s["removed_by_reason"].items(), key=lambda kv: -kv[1])[:3]
        table.add_row(
            s["name"], str(s["docs_in"]), str(s["kept"]), str(s["removed"]), str(s["modified"]),
            ", ".join(f"{k} {v}" for k, v in top), f"{s['seconds']:.2f}",
        )  # fmt: skip
    out.print(table)
    if reader["problems"]:
        kinds = ", ".join(f"{k} {v}" for k, v in reader["problems_by_kind"].items())
        out.print(f"[yellow]input problems:[/yellow] {reader['problems']} ({kinds})")
        for p in reader["first_problems"][:5]:
            where = f"{p['file']}:{p['line']}" if p["line"] else p["file"]
            out.print(f"  {where}: {p['reason']}")


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


class _FunnelStep(BaseModel):
    name: str
    docs_in: int
    kept: int
    removed: int
    modified: int
    removed_by_reason: dict[str, int]
    seconds: float


class _FunnelReader(BaseModel):
    documents: int
    problems: int


class _Funnel(BaseModel):
    """The parts of a pipeline's stats.json that the report reads."""

    reader: _FunnelReader
    funnel: list[_FunnelStep]
    documents_out: int | None = None


def read_funnel(path: Path) -> dict[str, Any]:
    """A pipeline's stats.json, checked before it is stored with the run (`--stats`)."""
    from pingce.core.spec import format_validation_error

    where = f"--stats {path}"
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise SpecError(f"{where} {what}; expected a pipeline's stats.json file")
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise SpecError(f"{where}: not UTF-8 text; expected a pipeline's stats.json") from None
    except json.JSONDecodeError as exc:
        raise SpecError(f"{where}: invalid JSON at line {exc.lineno} ({exc.msg})") from None
    if not isinstance(data, dict):
        raise SpecError(f"{where}: expected a JSON object (a pipeline's stats.json)")
    try:
        _Funnel.model_validate(data)
    except ValidationError as exc:
        raise SpecError(format_validation_error(where, exc, _Funnel)) from None
    return data


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
    print_funnel(stats)
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
    report_dir: Annotated[Path, typer.Option("--report-dir")] = Path("reports"),
    no_report: Annotated[bool, typer.Option("--no-report")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    db: Annotated[
        str | None, typer.Option("--db", help="Results store URL or SQLite path.")
    ] = None,
) -> None:
    """Grade a dataset with the data-quality model and write the report."""
    from pingce.cli import check_writable, finish_run, open_db

    store = open_db(db)

    run_id = evaluate_dataset(
        store, dataset, profile=profile, sample=sample, seed=seed, target=_parse_target(target),
        stats=stats, strict=strict, show_progress=not quiet, topics=topics, workers=workers,
        fields={"text_field": text_field, "id_field": id_field, "prompt_field": prompt_field,
                "response_field": response_field, "messages_field": messages_field},
        check=lambda: None if no_report else check_writable(report_dir),
    )  # fmt: skip
    finish_run(store, run_id, None if no_report else report_dir)


def evaluate_dataset(
    store: Any,
    dataset: str,
    *,
    profile: str = "pretrain",
    sample: int | None = None,
    seed: int = 1234,
    target: dict[str, float] | None = None,
    stats: Path | None = None,
    strict: bool = False,
    fields: dict[str, str | None] | None = None,
    show_progress: bool = True,
    demo: bool = False,
    check: Any = None,
    topics: int = 8,
    workers: int = 1,
) -> str:
    """Run the data-quality suite on a dataset through the shared run pipeline; returns the run id."""
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.spec import suite_from_dict
    from pingce.data.standard import FORMATS, STANDARD_ID, TASK_TYPE

    if profile not in ("pretrain", "sft"):
        raise SpecError(f"--profile must be pretrain or sft, got {profile!r}")
    if sample is not None and sample < 1:
        raise SpecError(f"--sample must be at least 1, got {sample}")
    if not 2 <= topics <= 100:
        raise SpecError(f"--topics must be between 2 and 100, got {topics}")
    if workers < 1:
        raise SpecError(f"--workers must be at least 1, got {workers}")
    scheme, sep, rest = dataset.partition(":")
    subject = dataset if sep and scheme in FORMATS and len(scheme) > 1 else f"data:{dataset}"
    path = Path(subject.split(":", 1)[1].split("?", 1)[0])
    if stats is None and path.is_dir() and (path / "stats.json").is_file():
        stats = path / "stats.json"
    funnel = read_funnel(stats) if stats else None
    if check:
        check()
    suite = suite_from_dict(
        {
            "standard": STANDARD_ID,
            "name": f"data/{profile}",
            "title": f"Data quality ({profile})",
            "title_zh": "训练数据质量评价（预训练）"
            if profile == "pretrain"
            else "训练数据质量评价（指令）",
            "tasks": [
                {
                    "id": "corpus",
                    "type": TASK_TYPE,
                    "profile": profile,
                    "target": target,
                    "topics": topics,
                }
            ],
        },
        source=f"pingce data evaluate --profile {profile}",
        base_dir=Path.cwd(),
    )
    options: dict[str, Any] = {
        "profile": profile,
        "sample": sample,
        "seed": seed,
        "target": target,
        "strict": strict,
        "funnel": funnel,
    }
    if workers > 1:  # an execution setting: the records and numbers do not depend on it
        options["workers"] = workers
    options.update({k: v for k, v in (fields or {}).items() if v is not None})
    if demo:
        options["demo_data"] = True
    return execute_run(
        store,
        RunRequest(suite=suite, subject=subject, options=options),
        show_progress=show_progress,
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
