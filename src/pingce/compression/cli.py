"""`pingce compress test` (compare a baseline and a compressed model) and `pingce compress run`
(build compressed variants with the built-in compressors and test each)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from pingce.compression.suite import built_suite
from pingce.compression.tasks import DEFAULT_BUDGET
from pingce.core.cli_kit import Db, Quiet, ReportDir, int_list, run_and_report
from pingce.core.errors import SpecError
from pingce.models.loaded import subject_ref

app = typer.Typer(
    help="Test compressed models against their baseline; build compressed variants.",
    no_args_is_help=True,
    add_completion=False,
)

Data = Annotated[
    str | None,
    typer.Option(
        "--data",
        "-d",
        help="Labelled NPZ (inputs + 'labels'), an ImageFolder directory, a JSONL of "
        "{text, label}, zoo:digits or zoo:topics.",
    ),
]
ImageSize = Annotated[
    str | None,
    typer.Option("--image-size", help="HxW images are resized to (default: the model's)."),
]
Budget = Annotated[float, typer.Option(help="Allowed relative accuracy drop (0.01 = 1%).")]
Batches = Annotated[str, typer.Option("--batch-sizes", help="Batch sizes timed (1 and N).")]
Repeats = Annotated[int, typer.Option(help="Timed calls per model and batch size (>= 5).")]
Threads = Annotated[int, typer.Option(help="Compute threads, fixed for every model.")]
Limit = Annotated[int | None, typer.Option(help="Evaluate only the first N samples.")]
CalibData = Annotated[
    str | None,
    typer.Option(
        "--calib-data",
        help="Calibration data for int8-static*, in any --data form. Default: a seeded quarter "
        "of --data, which is then left out of the scored samples.",
    ),
]
TrainData = Annotated[
    str | None,
    typer.Option(
        "--train-data",
        help="Labelled fine-tuning data for prune-*:finetune=N. Default: a seeded quarter of "
        "--data, which is then left out of the scored samples.",
    ),
]


def _check(
    budget: float,
    repeats: int,
    threads: int,
    limit: int | None = None,
    image_size: str | None = None,
) -> None:
    """The shared options, checked before any model loads."""
    from pingce.compression.data import parse_image_size

    parse_image_size(image_size)
    if limit is not None and limit < 1:
        raise SpecError(f"--limit must be at least 1, got {limit}")
    if not 0 <= budget <= 1:
        raise SpecError(f"--budget must be between 0 and 1, got {budget}")
    if repeats < 5:
        raise SpecError(f"--repeats must be at least 5 (latency CIs), got {repeats}")
    if threads < 1:
        raise SpecError(f"--threads must be at least 1, got {threads}")


def _run(
    suite: Any,
    baseline: str,
    options: dict[str, Any],
    report_dir: Path,
    quiet: bool,
    db: str | None,
) -> str:
    from pingce.core.run import RunRequest

    request = RunRequest(suite=suite, subject=baseline, options=options)
    return run_and_report(request, db=db, report_dir=report_dir, quiet=quiet)


def _ref(ref: str) -> str:
    return ref if ref.startswith("zoo:") else subject_ref(ref)


@app.command("test")
def test_cmd(
    baseline: Annotated[str, typer.Option("--baseline", "-b", help="The uncompressed model.")],
    compressed: Annotated[str, typer.Option("--compressed", "-c", help="The compressed model.")],
    data: Data = None,
    budget: Budget = DEFAULT_BUDGET,
    batch_sizes: Batches = "1,32",
    repeats: Repeats = 20,
    threads: Threads = 1,
    limit: Limit = None,
    image_size: ImageSize = None,
    report_dir: ReportDir = Path("reports"),
    quiet: Quiet = False,
    db: Db = None,
) -> None:
    """Compare a compressed model with its baseline: size, accuracy, speed, memory, energy."""
    _check(budget, repeats, threads, limit, image_size)
    label = Path(compressed.split(":", 1)[-1]).name
    suite = built_suite(
        [label],
        "pingce compress",
        budget=budget,
        batch_sizes=int_list(batch_sizes, "--batch-sizes"),
        repeats=repeats,
        threads=threads,
        limit=limit,
    )
    options = {
        "variants": {label: _ref(compressed)},
        "data": data,
        "threads": threads,
        "image_size": image_size,
    }
    _run(suite, _ref(baseline), options, report_dir, quiet, db)


@app.command("run")
def run_cmd(
    model: Annotated[str, typer.Option("--model", "-m", help="The baseline (torch or ONNX).")],
    recipe: Annotated[
        str,
        typer.Option(
            "--recipe",
            "-r",
            help="Compressors, e.g. int8-dynamic,prune-magnitude:amount=0.5:finetune=50",
        ),
    ],
    data: Data = None,
    calib_data: CalibData = None,
    train_data: TrainData = None,
    out_dir: Annotated[
        Path, typer.Option("--out-dir", help="Where compressed models are written.")
    ] = Path("compressed"),
    budget: Budget = DEFAULT_BUDGET,
    batch_sizes: Batches = "1,32",
    repeats: Repeats = 20,
    threads: Threads = 1,
    limit: Limit = None,
    image_size: ImageSize = None,
    report_dir: ReportDir = Path("reports"),
    quiet: Quiet = False,
    db: Db = None,
) -> None:
    """Build compressed variants of MODEL with the built-in compressors, then test each."""
    from rich.console import Console

    from pingce.compression.compressors import compress, parse_recipes
    from pingce.compression.data import fitting_data, load_eval_data
    from pingce.compression.text import load_model_ref
    from pingce.core.paths import prepare_output_dir

    _check(budget, repeats, threads, limit, image_size)
    recipes = parse_recipes(recipe)
    base = load_model_ref(model)
    dataset = load_eval_data(data, base, image_size)
    fit_data, split = fitting_data(
        {r.fits for r in recipes if r.fits},
        dataset,
        base,
        calib_ref=calib_data,
        train_ref=train_data,
        image_size=image_size,
    )
    # Variants are written (and replaced) only in a folder pingce created, never over the
    # baseline's or the data's own folder (core.paths.OUTPUT_MARKER).
    inputs = [Path(r.split(":", 1)[-1]) for r in (model, data, calib_data, train_data) if r]
    prepare_output_dir(
        out_dir,
        command="pingce compress run",
        inputs=[p for p in inputs if p.exists()],
        option="--out-dir",
    )
    logging.getLogger().setLevel(logging.ERROR)  # ORT quantisation logs advice on the root logger
    console = Console()
    if split:
        console.print(
            f"{' and '.join(split['used_for'])} data: {split['n_fit']} samples split off the "
            f"evaluation data (seed {split['seed']}); accuracy is scored on the other "
            f"{split['n_scored']}"
        )
    variants = {}
    for r in recipes:
        with console.status(f"compressing: {r.label}"):
            path = compress(base, r, fit_data.get(r.fits or "", dataset), out_dir)
        console.print(f"{r.label} → {path}")
        variants[r.label] = (
            str(path.resolve()) if path.suffix == ".onnx" else f"torchscript:{path.resolve()}"
        )
    suite = built_suite(
        list(variants),
        "pingce compress",
        budget=budget,
        batch_sizes=int_list(batch_sizes, "--batch-sizes"),
        repeats=repeats,
        threads=threads,
        limit=limit,
    )
    _run(
        suite,
        _ref(model),
        {
            "variants": variants,
            "data": data,
            "threads": threads,
            "image_size": image_size,
            "calib_data": calib_data,
            "train_data": train_data,
            **({"fit_split": split} if split else {}),
        },
        report_dir,
        quiet,
        db,
    )


@app.command("llm")
def llm_cmd(
    model: Annotated[str, typer.Option("--model", "-m", help="Baseline LLM: hf:PATH.")],
    recipe: Annotated[str, typer.Option("--recipe", "-r", help="int8, int4, fp16 or bf16.")],
    out_dir: Annotated[
        Path, typer.Option("--out-dir", help="Where the compressed model folder is written.")
    ] = Path("compressed"),
    group_size: Annotated[
        int, typer.Option(help="Input columns per INT4 scale (INT8: one scale per output row).")
    ] = 32,
    repeats: Repeats = 10,
    threads: Threads = 1,
    report_dir: ReportDir = Path("reports"),
    quiet: Quiet = False,
    db: Db = None,
) -> None:
    """Compress a Hugging Face causal LM and compare it with the baseline through the llm
    module: bits_per_byte, MC accuracy (McNemar), top-1 agreement, compression ratio, latency."""
    from pingce.compression.llm import RECIPES, run_llm_compression
    from pingce.core.cli_kit import check_writable, open_db, out, print_summary
    from pingce.core.report import write_report

    if not model.startswith("hf:"):
        raise SpecError(f"--model: expected hf:PATH, got {model!r}")
    if recipe not in RECIPES:
        raise SpecError(
            f"--recipe: unknown LLM recipe {recipe!r}", hint=f"one of: {', '.join(RECIPES)}"
        )
    if group_size < 1:
        raise SpecError(f"--group-size must be at least 1, got {group_size}")
    if repeats < 5:
        raise SpecError(f"--repeats must be at least 5 (latency CIs), got {repeats}")
    path = Path(model[3:]).expanduser()
    if not (path / "config.json").is_file():
        raise SpecError(f"--model: {path} is not a Hugging Face model folder (no config.json)")
    check_writable(report_dir)
    store = open_db(db)
    doc = run_llm_compression(
        store,
        path,
        recipe,
        out_dir,
        group_size=group_size,
        latency_repeats=repeats,
        threads=threads,
        show_progress=not quiet,
    )
    print_summary(doc)
    run_id = doc["run"]["id"]
    paths = write_report(doc, report_dir / f"{run_id}-compression")
    cmp = doc["extra"]["compression"]
    out.print(
        f"bits_per_byte {cmp['bits_per_byte_baseline']:.4f} → {cmp['bits_per_byte_compressed']:.4f}; "
        f"MC acc {cmp['mc_accuracy_baseline']:.3f} → {cmp['mc_accuracy_compressed']:.3f} "
        f"(McNemar p={cmp['mc_mcnemar']['p_value']:.3g}); top-1 agreement "
        f"{cmp['mc_top1_agreement']:.3f}; ratio (quantised param bytes) "
        f"{cmp['ratio_quantised_param_bytes']:.3f}x"
    )
    out.print(f"report: {', '.join(str(p) for p in paths)}")
