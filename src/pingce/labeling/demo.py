"""The labeling step of `pingce demo`: a synthetic image set with exact gold, labelled by the
reference auto-labeler (OpenCV shape detector + RapidOCR text lines), scored and timed, through the built-in suite `labeling/detection`."""

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
    from pingce.labeling.evaluation import labeling_options
    from pingce.labeling.synthetic import SynthConfig, write_synthetic

    n = min(DEMO_IMAGES, max(4, ctx.limit)) if ctx.limit else DEMO_IMAGES
    work = Path(tempfile.mkdtemp(prefix="pingce-label-demo-"))
    config = SynthConfig(n_images=n, seed=7, text_lines=(1, 2), faint_rate=0.15, distractors=1)
    paths = write_synthetic(work, config)
    ctx.console.print(f"[bold]labeling[/bold]: {INTRO.format(n=n)} ({work})")
    labeler = "reference"
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError:
        labeler = "shapes"
        ctx.console.print("rapidocr-onnxruntime is not installed: text lines are left unlabelled")
    options = labeling_options(str(paths["detection"]), images=paths["images"], threads=2)
    return ctx.run_suite("labeling/detection", f"labeler:{labeler}", options)
