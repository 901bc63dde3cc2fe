"""Turning work units (one image each) into records: run the labeler under test where there is
one, timing each call with `pingce.core.measure.measure_latency`, then score the image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pingce.core.execute import Outcome, WorkUnit
from pingce.core.measure import measure_latency
from pingce.labeling.images import load_rgb
from pingce.labeling.model import Annotation
from pingce.labeling.pairing import row
from pingce.labeling.task_types import task_type


def run_labeler(
    labeler: Any, key: str, path: Path, warmup: int = 0
) -> tuple[list[Annotation], float]:
    """The labeler's annotations for one image and the latency of that call in milliseconds
    (decoding the image is part of the call, as it is for a labeling service)."""
    result: list[list[Annotation]] = []

    def call() -> None:
        result.append(labeler.label(key, path, load_rgb(path)))

    stats = measure_latency(call, warmup=warmup, repeats=1)
    return result[-1], stats.mean_ms


def process_units(units: list[WorkUnit], subject: Any) -> list[Outcome]:
    out = []
    for unit in units:
        pair, params = unit.payload["pair"], unit.payload["params"]
        base: dict[str, Any] = {
            "image": pair.key,
            "path": pair.path,
            "width": pair.width,
            "height": pair.height,
            "gold": pair.gold,
            "pred": pair.pred,
            "lead_time": pair.lead_time,
            "latency_ms": None,
            "problems": [],
        }
        if pair.pred is None:  # a labeler under test: label the image now
            base["pred"] = []
            if pair.path is None:
                base["problems"].append(
                    {
                        "kind": "image_missing",
                        "file": "",
                        "image": pair.key,
                        "detail": "no image file to label; scored as no predictions",
                    }
                )
            else:
                warm = 0 if getattr(subject, "_warm", False) else 1
                try:
                    anns, ms = run_labeler(subject.labeler, pair.key, Path(pair.path), warmup=warm)
                except (OSError, ValueError, SyntaxError) as exc:
                    base["problems"].append(
                        {
                            "kind": "corrupt_image",
                            "file": pair.path,
                            "image": pair.key,
                            "detail": f"cannot decode: {exc}",
                        }
                    )
                else:
                    subject._warm = True
                    base["pred"] = [row(a) for a in anns]
                    base["latency_ms"] = ms
        out.append(task_type(params.type).outcome_fn()(params, base, unit.payload))
    return out
