"""`pingce label ...`: evaluate auto-labels against gold, measure correction effort, run an
auto-labeler, convert between label formats, and write a synthetic test set."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from pingce.core.cli_kit import out, run_and_report
from pingce.core.errors import SpecError
from pingce.labeling.evaluation import TASKS, evaluate_labels, label_suite
from pingce.labeling.formats.labelstudio import DEFAULT_WHICH

app = typer.Typer(
    help="Visual data auto-labeling: quality, correction effort, speed.", no_args_is_help=True
)

ReportDir = Annotated[Path, typer.Option("--report-dir", help="Where report folders go.")]
DbOpt = Annotated[str | None, typer.Option("--db", help="Results store URL or SQLite path.")]


def _subject(pred: str, pred_format: str, which: str) -> str:
    path = Path(pred).resolve()
    return f"labels:{path}?format={pred_format}&which={which}"


def _evaluate_and_report(
    run: Callable[[Any], str], db: str | None, report_dir: Path | None, quiet: bool
) -> None:
    """`run(store)` through the shared check-store-run-report sequence, then gallery.html."""
    opened: list[Any] = []

    def go(store: Any) -> str:
        opened.append(store)
        return run(store)

    run_id = run_and_report(go, db=db, report_dir=report_dir, quiet=quiet)
    if report_dir is not None:
        _write_gallery(opened[0], run_id, report_dir)


def _write_gallery(store: Any, run_id: str, report_dir: Path) -> None:
    from pingce.labeling.gallery import gallery_html

    results = store.get_run(run_id).results or {}
    # The gallery sections' boxes charts, the same drawings as in report.html.
    items = [
        c
        for s in results.get("sections") or []
        if str(s.get("id", "")).endswith("-gallery")
        for c in s.get("charts", [])
        if c.get("kind") == "boxes"
    ]
    if items:
        target = report_dir / run_id / "gallery.html"
        target.write_text(
            gallery_html(items, f"pingce labeling gallery · {run_id}"), encoding="utf-8"
        )
        out.print(f"gallery: {target}")


@app.command()
def evaluate(
    pred: Annotated[str, typer.Option("--pred", help="Predicted labels (file or folder).")],
    gold: Annotated[str, typer.Option("--gold", help="Gold labels (file or folder).")],
    task: Annotated[
        str,
        typer.Option(
            help="detection, classification or segmentation (default: from the gold labels)."
        ),
    ] = "auto",
    pred_format: Annotated[
        str, typer.Option("--pred-format", help="Format of --pred (default: guessed).")
    ] = "auto",
    gold_format: Annotated[
        str, typer.Option("--gold-format", help="Format of --gold (default: guessed).")
    ] = "auto",
    which: Annotated[
        str, typer.Option(help="Label Studio --pred: predictions or annotations.")
    ] = DEFAULT_WHICH,
    images: Annotated[
        Path | None, typer.Option(help="Images folder (sizes for YOLO, file checks, gallery).")
    ] = None,
    iou: Annotated[float, typer.Option(help="IoU threshold for matching boxes.")] = 0.5,
    report_dir: ReportDir = Path("reports"),
    no_report: Annotated[bool, typer.Option("--no-report")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    db: DbOpt = None,
) -> None:
    """Score predicted labels against gold labels and write the report."""
    from pingce.labeling.formats import read_labels

    if not 0 < iou <= 1:  # before any file is read (NaN fails this too)
        raise SpecError(f"--iou must be in (0, 1], got {iou}")
    if task == "auto":
        task = read_labels(gold, gold_format, images_dir=images, which="annotations").kind
    subject = _subject(pred, pred_format, which)
    _evaluate_and_report(
        lambda store: evaluate_labels(
            store,
            subject,
            gold,
            task,
            gold_format=gold_format,
            images=images,
            iou=iou,
            show_progress=not quiet,
        ),
        db,
        None if no_report else report_dir,
        quiet,
    )


@app.command()
def effort(
    pred: Annotated[str, typer.Option("--pred", help="The auto-labels a person started from.")],
    corrected: Annotated[
        str,
        typer.Option(
            "--corrected",
            help="The final labels after correction (Label Studio export for measured time).",
        ),
    ],
    pred_format: Annotated[str, typer.Option("--pred-format")] = "auto",
    corrected_format: Annotated[str, typer.Option("--corrected-format")] = "auto",
    which: Annotated[
        str, typer.Option(help="Label Studio --pred: predictions or annotations.")
    ] = DEFAULT_WHICH,
    images: Annotated[Path | None, typer.Option(help="Images folder.")] = None,
    costs: Annotated[
        str | None, typer.Option(help="Seconds per action, e.g. draw_box=7,adjust_box=3.")
    ] = None,
    report_dir: ReportDir = Path("reports"),
    no_report: Annotated[bool, typer.Option("--no-report")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    db: DbOpt = None,
) -> None:
    """Measure how much a person changed the auto-labels, and the time that took or saved."""
    parsed: dict[str, float] = {}
    for part in (costs or "").split(","):
        if not part.strip():
            continue
        k, sep, v = part.partition("=")
        try:
            parsed[k.strip()] = float(v)
        except ValueError:
            sep = ""
        if not sep:
            raise SpecError(
                f"--costs {costs!r}: expected NAME=SECONDS pairs, e.g. draw_box=7,adjust_box=3"
            )
    from pingce.labeling.metrics.effort import EffortCosts

    unknown = set(parsed) - set(EffortCosts().to_dict())
    if unknown:
        raise SpecError(
            f"--costs: unknown action(s) {sorted(unknown)}",
            hint=f"known: {', '.join(EffortCosts().to_dict())}",
        )
    subject = _subject(pred, pred_format, which)
    _evaluate_and_report(
        lambda store: evaluate_labels(
            store,
            subject,
            corrected,
            "effort",
            gold_format=corrected_format,
            images=images,
            task_extra={"costs": parsed},
            show_progress=not quiet,
        ),
        db,
        None if no_report else report_dir,
        quiet,
    )


@app.command("run")
def run_labeler(
    labeler: Annotated[
        str,
        typer.Option(
            "--labeler", help="shapes, ocr, reference, onnx:DET.yaml or http://HOST:PORT."
        ),
    ],
    images: Annotated[Path, typer.Option("--images", help="Folder of images to label.")],
    out_format: Annotated[
        str,
        typer.Option(
            "--out", help="Output label format (coco, yolo, voc, labelstudio, cvat, csv)."
        ),
    ] = "coco",
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out-path", help="Where to write (default: labels.<fmt>[.json|.xml] or a folder)."
        ),
    ] = None,
    gold: Annotated[
        str | None, typer.Option(help="Also evaluate against these gold labels.")
    ] = None,
    threads: Annotated[int, typer.Option(help="Threads for model inference.")] = 2,
    report_dir: ReportDir = Path("reports"),
    no_report: Annotated[bool, typer.Option("--no-report")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    db: DbOpt = None,
) -> None:
    """Label a folder of images with an auto-labeler and write the labels in any format."""
    from pingce.labeling.runner_cli import label_folder

    if threads < 1:
        raise SpecError(f"--threads must be at least 1, got {threads}")
    ls, stats, problems = label_folder(labeler, images, threads=threads, show_progress=not quiet)
    from pingce.labeling.formats import write_labels

    default = {
        "coco": "labels.coco.json",
        "labelstudio": "labels.labelstudio.json",
        "cvat": "labels.cvat.xml",
        "csv": "labels.csv",
    }
    target = out_path or Path(default.get(out_format, f"labels.{out_format}"))
    if out_format == "csv":
        from pingce.labeling.tasks import image_class

        ls = _as_classification(ls, image_class)
    paths = write_labels(ls, target, out_format, images_dir=images)
    out.print(
        f"labelled {len(ls.images)} images: {len(ls.annotations)} labels → {target} ({len(paths)} files)"
    )
    if stats is not None:
        out.print(
            f"speed: {1000.0 / stats.mean_ms:.2f} images/s; latency p50 {stats.p50_ms:.1f} ms, p95 {stats.p95_ms:.1f} ms, p99 {stats.p99_ms:.1f} ms"
        )
    for p in problems[:10]:
        out.print(f"[yellow]{p.kind}[/yellow] {p.file}: {p.detail}")
    if gold:
        from pingce.labeling.formats import read_labels

        task = read_labels(gold, images_dir=images, which="annotations").kind
        _evaluate_and_report(
            lambda store: evaluate_labels(
                store,
                f"labeler:{labeler}",
                gold,
                task,
                images=images,
                show_progress=not quiet,
                threads=threads,
            ),
            db,
            None if no_report else report_dir,
            quiet,
        )


def _as_classification(ls: Any, image_class: Any) -> Any:
    from pingce.labeling.model import Annotation, LabelSet

    by = ls.by_image()
    out_ls = LabelSet(
        kind="classification", images=ls.images, categories=ls.categories, source=ls.source
    )
    for key in ls.images:
        from pingce.labeling.pairing import row

        out_ls.annotations.append(Annotation(key, image_class([row(a) for a in by.get(key, [])])))
    return out_ls


@app.command()
def convert(
    src: Annotated[str, typer.Argument(help="Labels to read.")],
    dst: Annotated[Path, typer.Argument(help="Where to write.")],
    to: Annotated[str, typer.Option("--to", help="Output format.")],
    src_format: Annotated[
        str, typer.Option("--from", help="Input format (default: guessed).")
    ] = "auto",
    images: Annotated[
        Path | None, typer.Option(help="Images folder (YOLO sizes, ImageFolder copies).")
    ] = None,
    which: Annotated[
        str,
        typer.Option(help="Label Studio list read and written: predictions or annotations."),
    ] = DEFAULT_WHICH,
) -> None:
    """Convert labels between formats (problems found while reading are listed)."""
    from pingce.labeling.formats import get_format, read_labels, write_labels

    get_format(to)  # an unknown --to fails before the labels are read
    ls = read_labels(src, src_format, images_dir=images, which=which)
    kwargs: dict[str, Any] = {"images_dir": images}
    if to == "labelstudio":
        kwargs["which"] = which
    paths = write_labels(ls, dst, to, **kwargs)
    out.print(f"{len(ls.images)} images, {len(ls.annotations)} labels → {dst} ({len(paths)} files)")
    for p in ls.problems[:20]:
        out.print(f"[yellow]{p.kind}[/yellow] {p.file} {p.image}: {p.detail}")
    if len(ls.problems) > 20:
        out.print(f"... {len(ls.problems) - 20} more problems")


@app.command()
def synth(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write images/ and gold/ into.")],
    n: Annotated[int, typer.Option(help="Number of images.")] = 20,
    seed: Annotated[int, typer.Option()] = 0,
    width: Annotated[int, typer.Option()] = 256,
    height: Annotated[int, typer.Option()] = 192,
) -> None:
    """Write a synthetic image set with exact detection, classification and segmentation gold."""
    from pingce.core.paths import prepare_output_dir
    from pingce.labeling.synthetic import SynthConfig, write_synthetic

    if n < 1 or width < 64 or height < 64:
        raise SpecError("--n must be >= 1 and the image at least 64x64")
    prepare_output_dir(out_dir, command="pingce label synth", option="OUT_DIR")  # never a user's
    paths = write_synthetic(out_dir, SynthConfig(n_images=n, seed=seed, width=width, height=height))
    out.print(json.dumps({k: str(v) for k, v in paths.items()}, indent=1))


__all__ = ["TASKS", "app", "evaluate_labels", "label_suite"]
