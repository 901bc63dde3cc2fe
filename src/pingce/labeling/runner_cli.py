"""Labeling a folder outside a run (`pingce label run` without --gold): labels, speed, problems."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pingce.core.errors import DataError
from pingce.core.execute import make_progress
from pingce.core.measure import LatencyStats
from pingce.labeling.images import image_size, list_images
from pingce.labeling.labelers.base import resolve_labeler
from pingce.labeling.model import ImageInfo, LabelSet, Problem, image_key
from pingce.labeling.runner import run_labeler


def label_folder(
    spec: str, images: Path, threads: int = 2, show_progress: bool = True
) -> tuple[LabelSet, LatencyStats | None, list[Problem]]:
    """Run the labeler on every image; corrupt images are listed and get no labels."""
    if not Path(images).is_dir():
        raise DataError(f"images folder {images} does not exist")
    labeler: Any = resolve_labeler(spec, {"threads": threads})
    files = list_images(images)
    if not files:
        raise DataError(f"no images in {images}")
    ls = LabelSet(kind="detection", categories=list(labeler.categories()), source=f"labeler:{spec}")
    seconds: list[float] = []
    with make_progress(show_progress) as progress:
        bar = progress.add_task(f"labeling with {spec}", total=len(files))
        for path in files:
            key = image_key(path.name)
            size = image_size(path)
            ls.add_image(ImageInfo(key, str(path.relative_to(images)), *(size or (None, None))))
            try:
                anns, ms = run_labeler(labeler, key, path, warmup=0 if seconds else 1)
            except (OSError, ValueError, SyntaxError) as exc:
                ls.problem("corrupt_image", f"cannot decode: {exc}", key, str(path))
            else:
                seconds.append(ms / 1000.0)
                ls.annotations.extend(anns)
                for a in anns:
                    ls.add_category(a.label)
            progress.advance(bar)
    stats = LatencyStats.from_samples(seconds) if seconds else None
    return ls, stats, ls.problems
