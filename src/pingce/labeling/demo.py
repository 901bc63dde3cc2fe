"""The labeling step of `pingce demo`: a synthetic image set with exact gold, labelled by the
reference auto-labeler (OpenCV shape detector + RapidOCR text lines), scored and timed."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pingce.core.demo import DemoContext

DEMO_IMAGES = 12
INTRO = (
    "generates {n} synthetic images (shapes on textured backgrounds, text lines) with exact "
    "boxes, labels them with the reference auto-labeler (OpenCV contours for shapes, RapidOCR "
    "for text) and scores the labels: COCO AP, P/R/F1 at IoU 0.5, CVAT-style quality, CER, speed."
)


def run_labeling_demo(ctx: DemoContext) -> str:
    from pingce.labeling.cli import evaluate_labels
    from pingce.labeling.synthetic import SynthConfig, write_synthetic

    n = min(DEMO_IMAGES, max(4, ctx.limit)) if ctx.limit else DEMO_IMAGES
    work = Path(tempfile.mkdtemp(prefix="pingce-label-demo-"))
    paths = write_synthetic(
        work, SynthConfig(n_images=n, seed=7, text_lines=(1, 2), faint_rate=0.15, distractors=1)
    )
    ctx.console.print(f"[bold]labeling[/bold]: {INTRO.format(n=n)} ({work})")
    labeler = "reference"
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError:
        labeler = "shapes"
        ctx.console.print("rapidocr-onnxruntime is not installed: text lines are left unlabelled")
    return evaluate_labels(
        ctx.store, f"labeler:{labeler}", str(paths["detection"]), "detection",
        images=paths["images"], show_progress=not ctx.quiet, threads=2,
    )  # fmt: skip
