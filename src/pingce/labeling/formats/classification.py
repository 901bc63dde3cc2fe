"""Image classification labels: an ImageFolder tree (``root/<class>/<image>``) or a CSV file
with columns ``image,label[,score]``."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path
from typing import Any

from pingce.core.errors import DataError
from pingce.labeling.images import find_image, image_size, index_images, list_images
from pingce.labeling.model import Annotation, ImageInfo, LabelSet, image_key


def read_imagefolder(path: Path, **_: Any) -> LabelSet:
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"{root}: an ImageFolder must be a folder of class folders")
    out = LabelSet(kind="classification", source=str(root))
    for cls_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        out.add_category(cls_dir.name)
        for img in list_images(cls_dir):
            size = image_size(img)
            key = image_key(img.name)
            if key in out.images:
                out.problem(
                    "malformed", f"{key} appears in more than one class folder", key, str(img)
                )
                continue
            out.add_image(ImageInfo(key, str(img.relative_to(root)), *(size or (None, None))))
            out.annotations.append(Annotation(key, cls_dir.name))
    if not out.images:
        raise DataError(f"{root}: no images in class folders")
    return out


def write_imagefolder(
    ls: LabelSet, path: Path, images_dir: Path | None = None, **_: Any
) -> list[Path]:
    """Copy (hard-link where possible) each image into ``path/<label>/``."""
    files = index_images(images_dir)
    if not files:
        raise DataError("writing an ImageFolder copies the images", hint="pass --images DIR")
    written = []
    for a in ls.annotations:
        src = find_image(files, a.image)
        if src is None:
            raise DataError(f"image {a.image} is not in {images_dir}")
        target = Path(path) / a.label / a.image
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, target)
        except OSError:
            shutil.copyfile(src, target)
        written.append(target)
    return written


def read_csv(path: Path, **_: Any) -> LabelSet:
    path = Path(path)
    out = LabelSet(kind="classification", source=str(path))
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError:
        raise DataError(f"{path}: file does not exist") from None
    if not rows or not {"image", "label"} <= set(rows[0]):
        raise DataError(f"{path}: expected a CSV header with columns image,label[,score]")
    for n, row in enumerate(rows, start=2):
        name, label = (row.get("image") or "").strip(), (row.get("label") or "").strip()
        if not name or not label:
            out.problem("malformed", f"line {n}: empty image or label")
            continue
        key = image_key(name)
        if key in out.images:
            out.problem("malformed", f"line {n}: {key} labelled twice", key)
            continue
        out.add_image(ImageInfo(key, name))
        out.add_category(label)
        try:
            score = float(row["score"]) if row.get("score") not in (None, "") else None
        except ValueError:
            out.problem("malformed", f"line {n}: score {row['score']!r} is not a number", key)
            score = None
        out.annotations.append(Annotation(key, label, score=score))
    return out


def write_csv(ls: LabelSet, path: Path, **_: Any) -> list[Path]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "label", "score"])
        for a in ls.annotations:
            w.writerow([ls.images[a.image].file_name, a.label, "" if a.score is None else a.score])
    return [path]
