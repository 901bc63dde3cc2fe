"""Every label format pingce reads and writes, by name, through one internal `LabelSet`.

``read_labels(path, fmt)`` / ``write_labels(labels, path, fmt)``; ``fmt="auto"`` guesses the
format from the file or folder. After reading, `check_labels` records bad input (boxes
outside the image, negative sizes, ...) as `Problem`s on the set.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pingce.core.errors import DataError, SpecError
from pingce.labeling.formats.classification import (
    read_csv,
    read_imagefolder,
    write_csv,
    write_imagefolder,
)
from pingce.labeling.formats.coco import read_coco, write_coco
from pingce.labeling.formats.cvat import read_cvat, write_cvat
from pingce.labeling.formats.labelstudio import read_labelstudio, write_labelstudio
from pingce.labeling.formats.masks import (
    read_coco_rle,
    read_png_masks,
    write_coco_rle,
    write_png_masks,
)
from pingce.labeling.formats.voc import read_voc, write_voc
from pingce.labeling.formats.yolo import read_yolo, write_yolo
from pingce.labeling.model import LabelSet


@dataclass(frozen=True)
class Format:
    name: str
    read: Callable[..., LabelSet]
    write: Callable[..., list[Path]]
    description: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("coco", read_coco, write_coco, "COCO JSON dataset (or results list with --gold)"),
        Format("yolo", read_yolo, write_yolo, "YOLO txt folder + classes.txt (needs image sizes)"),
        Format("voc", read_voc, write_voc, "Pascal VOC XML folder"),
        Format("labelstudio", read_labelstudio, write_labelstudio, "Label Studio JSON export"),
        Format("cvat", read_cvat, write_cvat, "CVAT for images 1.1 XML"),
        Format(
            "imagefolder",
            read_imagefolder,
            write_imagefolder,
            "classification: root/<class>/<image>",
        ),
        Format("csv", read_csv, write_csv, "classification: CSV image,label[,score]"),
        Format("masks", read_png_masks, write_png_masks, "segmentation: PNG class-index masks"),
        Format("coco-rle", read_coco_rle, write_coco_rle, "segmentation: COCO JSON with RLE masks"),
    )
}


def detect_format(path: Path) -> str:
    """Guess a format from a file's content or a folder's files."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: does not exist")
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".csv":
            return "csv"
        if suffix == ".xml":
            head = path.read_text(encoding="utf-8", errors="replace")[:2000]
            return "cvat" if "<annotations" in head else "voc"
        if suffix == ".json":
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise DataError(f"{path}: not valid JSON ({exc})") from None
            if isinstance(data, dict) and "images" in data:
                anns = data.get("annotations") or []
                # Every annotation an RLE mask: a semantic segmentation written as COCO RLE.
                rle = bool(anns) and all(isinstance(a.get("segmentation"), dict) for a in anns)
                return "coco-rle" if rle else "coco"
            if isinstance(data, list) and data and isinstance(data[0], dict):
                return "labelstudio" if "data" in data[0] else "coco"
        raise DataError(f"{path}: cannot tell the label format", hint="pass --format NAME")
    names = {p.suffix.lower() for p in path.iterdir() if p.is_file()}
    if ".xml" in names:
        return "voc"
    if ".txt" in names and (path / "classes.txt").is_file() and len(names - {".txt"}) == 0:
        return "yolo"
    if ".png" in names and (path / "classes.txt").is_file():
        return "masks"
    if any(p.is_dir() for p in path.iterdir()):
        return "imagefolder"
    raise DataError(f"{path}: cannot tell the label format", hint="pass --format NAME")


def get_format(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise SpecError(
            f"unknown label format {name!r}", hint=f"one of: {', '.join(FORMATS)}"
        ) from None


def read_labels(path: Path | str, fmt: str = "auto", **kwargs: Any) -> LabelSet:
    """Read labels; kwargs go to the reader (images_dir, reference, classes, which)."""
    path = Path(path)
    name = detect_format(path) if fmt in ("auto", "", None) else fmt
    if not path.exists():
        raise DataError(f"{path}: does not exist")
    try:
        ls = get_format(name).read(path, **kwargs)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise DataError(f"{path}: not valid {name} labels ({type(exc).__name__}: {exc})") from None
    return ls


def write_labels(ls: LabelSet, path: Path | str, fmt: str, **kwargs: Any) -> list[Path]:
    """Write `ls` as `fmt`; sizes the labels lack are read from ``images_dir`` files first."""
    fill_sizes(ls, kwargs.get("images_dir"))
    return get_format(fmt).write(ls, Path(path), **kwargs)


def fill_sizes(ls: LabelSet, images_dir: Path | str | None) -> None:
    """Give images without a known size the size of their file under `images_dir`."""
    if images_dir is None or all(i.width and i.height for i in ls.images.values()):
        return
    from pingce.labeling.images import find_image, image_size, index_images

    files = index_images(Path(images_dir))
    for key, info in ls.images.items():
        if info.width and info.height:
            continue
        found = find_image(files, key)
        size = image_size(found) if found is not None else None
        if size is not None:
            info.width, info.height = size
