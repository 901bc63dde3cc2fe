"""Bad-input checks and the pairing of predicted with gold labels, image by image.

Everything odd is recorded as a `Problem` (kind, file, image, detail) and reported; nothing is
dropped without being counted:

- ``negative_size`` / ``zero_size``: a box with width or height < 0 / = 0 is listed and left
  out of the metrics (it has no area to overlap);
- ``box_outside_image``: a box reaching more than 1 px past the image is listed and kept;
- ``unknown_class`` / ``unknown_image_id`` / ``malformed``: found while reading, listed;
- ``image_not_in_pred``: a gold image the predictions do not mention, scored as an image with
  no predictions; ``image_not_in_gold``: a predicted image with no gold, listed and not scored;
- ``image_missing`` / ``corrupt_image``: with an images folder, a gold image whose file is
  absent or does not decode (still scored from the labels when predictions exist).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pingce.labeling.images import find_image, image_problem, index_images
from pingce.labeling.model import Annotation, LabelSet, Problem, path_key
from pingce.labeling.rows import LabelRow

# A stored label row: [label, x, y, w, h, score, text, area, iscrowd] (`pingce.labeling.rows`
# reads it by name).
Row = list[Any]


def row(a: Annotation) -> Row:
    """The stored row of an annotation, in `LabelRow`'s field order."""
    x, y, w, h = a.bbox if a.bbox is not None else (None, None, None, None)
    return list(LabelRow(a.label, x, y, w, h, a.score, a.text, a.coco_area, int(a.crowd)))


def is_crowd(r: Row) -> bool:
    return LabelRow.of(r).crowd


def align_keys(gold: LabelSet, pred: LabelSet) -> None:
    """Re-key predicted images whose key is not a gold key but names exactly one gold image by
    path: a set keyed by relative path (its file names collide) against one keyed by file name,
    or paths under different roots (``/data/cam1/0001.jpg`` vs ``cam1/0001.jpg``)."""
    missing = [k for k in pred.images if k not in gold.images]
    if not missing:
        return

    def path(k: str, ls: LabelSet) -> str:
        return path_key(ls.images[k].file_name) if k in ls.images else k

    def same(a: str, b: str) -> bool:
        return a == b or a.endswith("/" + b) or b.endswith("/" + a)

    free = [k for k in gold.images if k not in pred.images]
    rename: dict[str, str] = {}
    for k in missing:
        hits = [g for g in free if same(path(k, pred), path(g, gold))]
        if len(hits) == 1 and hits[0] not in rename.values():
            rename[k] = hits[0]
    if not rename:
        return
    pred.images = {rename.get(k, k): v for k, v in pred.images.items()}
    for k, new in rename.items():
        pred.images[new].key = new
        if k in pred.lead_time:
            pred.lead_time[new] = pred.lead_time.pop(k)
        if k in pred.masks:
            pred.masks[new] = pred.masks.pop(k)
    for a in pred.annotations:
        a.image = rename.get(a.image, a.image)


def check_labels(ls: LabelSet, role: str) -> list[Annotation]:
    """Record geometry problems on `ls`; returns the annotations usable for metrics."""
    usable = []
    for a in ls.annotations:
        if a.bbox is None:
            usable.append(a)
            continue
        x, y, w, h = a.bbox
        where = f"{role} {a.label!r} box {[round(v, 2) for v in a.bbox]}"
        if w < 0 or h < 0:
            ls.problem("negative_size", f"{where}: negative width or height", a.image)
            continue
        if w == 0 or h == 0:
            ls.problem("zero_size", f"{where}: zero width or height", a.image)
            continue
        info = ls.images.get(a.image)
        if info is not None and info.width and info.height:
            tol = 1.0
            if x < -tol or y < -tol or x + w > info.width + tol or y + h > info.height + tol:
                ls.problem(
                    "box_outside_image",
                    f"{where}: outside the {info.width}x{info.height} image",
                    a.image,
                )
        usable.append(a)
    return usable


@dataclass
class ImagePair:
    key: str
    path: str | None
    width: int | None
    height: int | None
    gold: list[Row]
    pred: list[Row] | None  # None: the labeler under test has not labelled it yet
    lead_time: float | None = None
    problems: list[dict[str, str]] | None = None


def pair_labels(
    gold: LabelSet, pred: LabelSet | None, images_dir: Path | None, check_images: bool = True
) -> tuple[list[ImagePair], list[Problem]]:
    """One `ImagePair` per gold image, and every problem found in either set."""
    if pred is not None:
        align_keys(gold, pred)
    gold_ok = check_labels(gold, "gold")
    pred_ok = check_labels(pred, "pred") if pred is not None else []
    problems = list(gold.problems) + (list(pred.problems) if pred is not None else [])
    files = index_images(images_dir)
    g_by: dict[str, list[Row]] = {k: [] for k in gold.images}
    for a in gold_ok:
        g_by.setdefault(a.image, []).append(row(a))
    p_by: dict[str, list[Row]] = {}
    if pred is not None:
        p_by = {k: [] for k in pred.images}
        for a in pred_ok:
            p_by.setdefault(a.image, []).append(row(a))
        for k in sorted(set(p_by) - set(g_by)):
            problems.append(
                Problem(
                    "image_not_in_gold",
                    pred.source,
                    "predicted image has no gold labels; not scored",
                    k,
                )
            )
    pairs = []
    for key, info in gold.images.items():
        path = find_image(files, key)
        if images_dir is not None and check_images:
            why = image_problem(path) if path is not None else "file does not exist"
            if why is not None:
                kind = "image_missing" if path is None else "corrupt_image"
                problems.append(Problem(kind, str(path or Path(images_dir) / key), why, key))
                if pred is None:  # a labeler cannot label it: it counts as labelled with nothing
                    path = None
        preds: list[Row] | None = None
        if pred is not None:
            if key not in p_by:
                problems.append(
                    Problem(
                        "image_not_in_pred",
                        pred.source,
                        "gold image has no prediction entry; scored as no predictions",
                        key,
                    )
                )
            preds = p_by.get(key, [])
        pairs.append(
            ImagePair(
                key,
                str(path) if path else None,
                info.width,
                info.height,
                g_by.get(key, []),
                preds,
                gold.lead_time.get(key, pred.lead_time.get(key) if pred is not None else None),
            )
        )
    return pairs, problems
