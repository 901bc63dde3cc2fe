"""The vision step of `pingce demo`: the built-in defect suite on the synthetic surfaces, with
pingce's reference defect detector as the model under test."""

from __future__ import annotations

from pingce.core.demo import DemoContext

INTRO = (
    "writes seeded textured surfaces with scratches, spots and cracks (exact masks, MVTec AD "
    "layout), scores pingce's reference defect detector (per-pixel statistics of the good "
    "images) with image/pixel AUROC, AUPRO at 30% FPR and F1 at the best threshold, and judges "
    "the suite's requirements."
)


def run_vision_demo(ctx: DemoContext) -> str:
    ctx.console.print(f"[bold]vision[/bold]: {INTRO}")
    return ctx.run_suite(
        "vision/defects", "reference:defects?train=builtin:defects", {"seed": 1234}
    )
