"""`pingce vision ...`: evaluate a vision model or system on a suite, write the built-in
synthetic defect set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pingce.core.cli_kit import Db, NoReport, Quiet, ReportDir, Seed, out, run_and_report
from pingce.core.options import DEFAULT_SEED

app = typer.Typer(
    help="Vision models and platforms: model quality, industrial defects, continual learning, frame streams.",
    no_args_is_help=True,
)


@app.command()
def evaluate(
    suite: Annotated[
        str,
        typer.Argument(
            help="A vision suite: vision/defects, vision/classification, ... or a YAML path."
        ),
    ],
    subject: Annotated[
        str,
        typer.Argument(
            help="onnx:PATH, torchscript:PATH, pt2:PATH, torch:FILE.py:FACTORY, http://HOST:PORT/PATH, pipe:COMMAND, "
            "reference:defects?train=DIR, or for continual suites learner:naive|replay|FILE.py:CLASS|http://HOST:PORT"
        ),
    ],
    threads: Annotated[int, typer.Option(min=1, help="Intra-op threads of the model runtime.")] = 1,
    seed: Seed = DEFAULT_SEED,
    report_dir: ReportDir = Path("reports"),
    no_report: NoReport = False,
    quiet: Quiet = False,
    db: Db = None,
) -> None:
    """Run a vision suite on a model, system or learner and write its report."""
    from pingce.core.run import RunRequest

    request = RunRequest(
        suite=suite, subject=subject, standard="vision", options={"threads": threads, "seed": seed}
    )
    run_and_report(request, db=db, report_dir=None if no_report else report_dir, quiet=quiet)


@app.command("synth-defects")
def synth_defects(
    output: Annotated[
        Path, typer.Argument(help="A new (or empty) folder for the MVTec AD-layout set.")
    ],
    seed: Annotated[int, typer.Option(help="Seed of the surfaces and defects.")] = 0,
    size: Annotated[int, typer.Option(min=16, max=1024, help="Image size in pixels.")] = 64,
) -> None:
    """Write the built-in synthetic defect set (textured surfaces, scratches/spots/cracks, exact masks)."""
    from pingce.core.errors import SpecError
    from pingce.vision.synthetic import DefectSetConfig, write_defect_set

    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise SpecError(
            f"output {output} exists and is not an empty folder",
            hint="pingce writes only into a new folder",
        )
    cat = write_defect_set(output, DefectSetConfig(seed=seed, size=size))
    out.print(f"wrote {cat} (train/good, test/<type>, ground_truth/<type>)")
