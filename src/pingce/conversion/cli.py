"""`pingce convert ...`: convert a model, verify a converted model, or run the zoo.

`pingce convert MODEL --to onnx --out F` converts (the `model` sub-command is implied);
`pingce convert verify --source S --target T --data D` verifies any pair, including models
converted elsewhere; `pingce convert zoo` measures the conversion success rate of the zoo.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from pingce.conversion import numerics as nm
from pingce.conversion.suite import verify_suite, zoo_suite
from pingce.core.cli_kit import Db, Quiet, ReportDir, int_list, open_db, out, run_and_report
from pingce.core.errors import SpecError
from pingce.models.loaded import subject_ref


class _DefaultToModel(TyperGroup):
    """Route `pingce convert MODEL ...` to `pingce convert model MODEL ...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["model", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_DefaultToModel,
    help="Convert models (torch→ONNX, ONNX opsets, ORT-optimised) and verify conversions.",
    no_args_is_help=True,
    add_completion=False,
)


MIN_OPSET = 7  # the oldest opset ONNX Runtime runs


def check_opset(opset: int) -> None:
    """--opset names a real ONNX opset (0 used to mean 'the default' silently)."""
    import onnx

    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise SpecError(f"--opset must be between {MIN_OPSET} and {newest}, got {opset}")


def _run(
    suite: dict[str, Any],
    subject: str,
    options: dict[str, Any],
    report_dir: Path | None,
    quiet: bool,
    db: str | None,
) -> str:
    from pingce.conversion.suite import built
    from pingce.core.run import RunRequest

    request = RunRequest(suite=built(suite, "pingce convert"), subject=subject, options=options)
    return run_and_report(request, db=db, report_dir=report_dir, quiet=quiet)


# Exit codes of `pingce convert` / `pingce convert verify` (docs/standards/conversion.md):
# 0 verdict PASS, 1 verdict FAIL (as Polygraphy's `run` fails a comparison), 2 usage or input
# error, 130 interrupted. CI can gate on the code alone.
EXIT_FAIL = 1


def _exit_on_fail(run_id: str, db: str | None) -> None:
    from pingce.core.reporting import build_report_doc

    store = open_db(db)
    verdict = build_report_doc(store, store.get_run(run_id))["extra"].get("verdict", {})
    if verdict.get("pass") is False:
        out.print(f"verdict: FAIL (exit code {EXIT_FAIL}) — {verdict.get('method', '')}")
        raise typer.Exit(EXIT_FAIL)


@app.command("model")
def convert_model(
    model: Annotated[
        str,
        typer.Argument(
            help="zoo:NAME, model.onnx, model.pt (TorchScript), model.pt2, or a state dict with --arch."
        ),
    ],
    to: Annotated[
        str,
        typer.Option(
            "--to", help="onnx (torch→ONNX, or ONNX opset change) or ort (ORT-optimised graph)."
        ),
    ] = "onnx",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output file (default: <model>.<to>.onnx here)."),
    ] = None,
    exporter: Annotated[
        str | None,
        typer.Option(
            help="dynamo or torchscript (torch sources; default: torchscript for a TorchScript "
            "archive, dynamo otherwise)."
        ),
    ] = None,
    opset: Annotated[
        int | None, typer.Option(help="Target opset (default 18 for torch exports).")
    ] = None,
    static: Annotated[
        bool, typer.Option("--static", help="No dynamic axes (fixed batch).")
    ] = False,
    arch: Annotated[str | None, typer.Option(help="Zoo architecture of a state-dict file.")] = None,
    data: Annotated[
        str | None,
        typer.Option(
            help="NPZ whose first 2 samples are the example batch; also the verification data."
        ),
    ] = None,
    level: Annotated[
        str, typer.Option(help="ORT optimisation level: basic|extended|all.")
    ] = "extended",
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Verify the result against the source.")
    ] = True,
    report_dir: ReportDir = Path("reports"),
    quiet: Quiet = False,
    db: Db = None,
) -> None:
    """Convert MODEL (torch→ONNX, ONNX opset up/down, ONNX→ORT-optimised), then verify it."""
    from rich.console import Console

    from pingce.models.converters import convert, default_exporter
    from pingce.models.datasets import load_data
    from pingce.models.loaded import load_model, parse_model_ref

    if exporter not in (None, "dynamo", "torchscript"):
        raise SpecError(f"--exporter must be dynamo or torchscript, got {exporter!r}")
    if to not in ("onnx", "ort"):
        raise SpecError(f"--to must be onnx or ort, got {to!r}")
    if level not in ("basic", "extended", "all"):
        raise SpecError(f"--level must be basic, extended or all, got {level!r}")
    if opset is not None:
        check_opset(opset)
    ref = parse_model_ref(model, arch=arch)
    source = load_model(ref)
    exporter = exporter or default_exporter(source)
    example = None
    if data:
        example = load_data(data, source.input_names).take(2).inputs
    stem = ref.target if ref.kind == "zoo" else Path(ref.target).stem
    out = out or Path(
        f"{stem}.{exporter if source.kind == 'torch' else to}"
        f"{'.opset' + str(opset) if opset else ''}.onnx"
    )
    result = convert(
        source,
        out,
        to=to,
        exporter=exporter,  # type: ignore[arg-type]
        opset=opset,  # type: ignore[arg-type]
        dynamic=not static,
        example=example,
        level=level,
    )
    Console().print(f"converted ({result.converter}) in {result.seconds:.2f} s → {result.path}")
    if verify:
        src = (
            model
            if ref.kind == "zoo"
            else subject_ref(model if not arch else f"state:{ref.target}?arch={arch}")
        )
        run_id = _run(
            verify_suite(),
            subject_ref(str(result.path)),
            {"source": src, "data": data},
            report_dir,
            quiet,
            db,
        )
        _exit_on_fail(run_id, db)


@app.command("verify")
def verify_cmd(
    source: Annotated[str, typer.Option("--source", "-s", help="The original model (reference).")],
    target: Annotated[str, typer.Option("--target", "-t", help="The converted model.")],
    data: Annotated[
        str | None,
        typer.Option("--data", "-d", help="NPZ inputs (+ labels), or zoo:digits / zoo:tokens."),
    ] = None,
    rtol: Annotated[
        float, typer.Option(help="Relative tolerance (Polygraphy default 1e-5).")
    ] = nm.DEFAULT_RTOL,
    atol: Annotated[
        float, typer.Option(help="Absolute tolerance (Polygraphy default 1e-5).")
    ] = nm.DEFAULT_ATOL,
    limit: Annotated[int | None, typer.Option(help="Compare only the first N samples.")] = None,
    batch_sizes: Annotated[
        str, typer.Option("--batch-sizes", help="Shapes to test (comma list).")
    ] = "1,2,7,16",
    seq_lens: Annotated[
        str, typer.Option("--seq-lens", help="Sequence lengths for token inputs.")
    ] = "4,8,33",
    perf: Annotated[
        str,
        typer.Option(
            "--perf-batches", help="Batch sizes timed for performance parity ('' = skip)."
        ),
    ] = "1,32",
    repeats: Annotated[int, typer.Option(help="Timed calls per model per batch size (>= 5).")] = 20,
    threads: Annotated[int, typer.Option(help="Compute threads for both models.")] = 1,
    input_map: Annotated[
        str | None,
        typer.Option(
            "--input-map",
            help="SRC=DST[,SRC=DST...]: which converted-model input takes which source input "
            "(default: same names, else position for single-input models).",
        ),
    ] = None,
    report_dir: ReportDir = Path("reports"),
    quiet: Quiet = False,
    db: Db = None,
) -> None:
    """Verify a converted model against its source: checks, numerics, shapes, divergence, speed."""
    if repeats < 5:
        raise SpecError(f"--repeats must be at least 5 (latency CIs), got {repeats}")
    if limit is not None and limit < 1:
        raise SpecError(f"--limit must be at least 1, got {limit}")
    for name, tol in (("--rtol", rtol), ("--atol", atol)):
        if not (math.isfinite(tol) and tol >= 0):
            raise SpecError(f"{name} must be a finite number >= 0, got {tol}")
    if threads < 1:
        raise SpecError(f"--threads must be at least 1, got {threads}")
    suite = verify_suite(
        rtol=rtol,
        atol=atol,
        limit=limit,
        batch_sizes=int_list(batch_sizes, "--batch-sizes"),
        seq_lens=int_list(seq_lens, "--seq-lens"),
        perf_batches=int_list(perf, "--perf-batches") if perf.strip() else None,
        repeats=repeats,
        threads=threads,
    )
    from pingce.conversion.input_map import parse_input_map

    parse_input_map(input_map)  # a malformed map is a usage error before anything loads
    src = source if source.startswith("zoo:") else subject_ref(source)
    options = {"source": src, "data": data, "threads": threads}
    if input_map:
        options["input_map"] = input_map
    run_id = _run(suite, subject_ref(target), options, report_dir, quiet, db)
    _exit_on_fail(run_id, db)


@app.command("zoo")
def zoo_cmd(
    exporter: Annotated[str, typer.Option(help="dynamo or torchscript.")] = "dynamo",
    opset: Annotated[int, typer.Option(help="ONNX opset to export to.")] = 18,
    models: Annotated[
        str | None, typer.Option(help="Comma-separated zoo names (default: all).")
    ] = None,
    report_dir: ReportDir = Path("reports"),
    quiet: Quiet = False,
    db: Db = None,
) -> None:
    """Convert and verify every zoo model: the conversion success rate."""
    if exporter not in ("dynamo", "torchscript"):
        raise SpecError(f"--exporter must be dynamo or torchscript, got {exporter!r}")
    check_opset(opset)
    names = [m.strip() for m in models.split(",") if m.strip()] if models else None
    _run(
        zoo_suite(exporter, opset, names), "zoo:all", {}, report_dir, quiet, db
    )  # a rate, not a verdict: exits 0
