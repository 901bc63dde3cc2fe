"""The one internal representation every label format reads into and writes from.

Coordinates are pixels in the image, origin at the top-left corner; a box is COCO's
``(x, y, width, height)``. Labels are class *names* (formats that store numeric ids map
them through their own class list on the way in and out). Images are keyed by their file
name without folders (``key``), which is what pred and gold files from different tools
share; when two images of one file share a file name in different folders (``cam1/0001.jpg``,
``cam2/0001.jpg``) both are keyed by their relative path instead (`image_keys`). The original
name is kept for writing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Literal

import numpy as np

Kind = Literal["detection", "classification", "segmentation"]
Box = tuple[float, float, float, float]  # x, y, width, height in pixels


def image_key(name: str) -> str:
    """The key an image is matched by: its file name without any folder or URL path.

    Label Studio prefixes uploads with an 8-hex-digit hash and a dash
    (``/data/upload/3/1a2b3c4d-cat.png``); that prefix is removed so the key matches the
    file name other tools use.
    """
    base = PureWindowsPath(PurePosixPath(str(name).split("?", 1)[0]).name).name
    head, sep, tail = base.partition("-")
    if sep and len(head) == 8 and all(c in "0123456789abcdef" for c in head) and tail:
        return tail
    return base


def path_key(name: str) -> str:
    """The key of an image whose file name is shared with another: its relative path (POSIX
    separators, no URL query, no leading ``/`` or ``./``)."""
    path = str(name).split("?", 1)[0].replace("\\", "/")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    return "/".join(parts) or path


def image_keys(names: list[str], where: str) -> list[str]:
    """Keys for a file's image names: `image_key` where that is unique among `names`, the
    relative path (`path_key`) where different paths share a file name.

    The same path listed twice is a true duplicate (which entry's labels count is unknowable):
    `DataError` naming `where` and the path.
    """
    from pingce.core.errors import DataError

    seen: dict[str, int] = {}
    for n, name in enumerate(names):
        p = path_key(name)
        if p in seen:
            raise DataError(
                f"{where}: image {name!r} is listed twice (entries {seen[p]} and {n})",
                hint="merge the two entries' labels into one image entry",
            )
        seen[p] = n
    by_base: dict[str, set[str]] = {}
    for name in names:
        by_base.setdefault(image_key(name), set()).add(path_key(name))
    return [image_key(n) if len(by_base[image_key(n)]) == 1 else path_key(n) for n in names]


@dataclass
class Annotation:
    """One labelled object (or, for classification, one image-level label with bbox None)."""

    image: str  # image key
    label: str
    bbox: Box | None = None
    score: float | None = None
    # COCO-style polygons [[x1, y1, x2, y2, ...], ...] or an RLE dict {"size", "counts"}.
    segmentation: list[list[float]] | dict[str, Any] | None = None
    text: str | None = None  # transcription of a text region
    id: int | str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    # The source's own object area in px² (COCO ``area``: the mask's area for a segmented
    # object), kept so COCO AP's size ranges and a COCO round trip use it; None: not given.
    coco_area: float | None = None

    @property
    def area(self) -> float:
        """Box area in square pixels (0 for a classification label)."""
        if self.bbox is None:
            return 0.0
        return max(0.0, self.bbox[2]) * max(0.0, self.bbox[3])

    @property
    def crowd(self) -> bool:
        """COCO ``iscrowd``: a region of many objects, ignored by matching (never TP, FP or FN)."""
        v = self.attributes.get("iscrowd", 0)
        return str(v).strip().lower() not in ("", "0", "false", "none")


@dataclass
class ImageInfo:
    key: str
    file_name: str  # as the source named it (may include folders)
    width: int | None = None
    height: int | None = None
    id: int | str | None = None  # the source's own id (COCO image_id, LS task id)


@dataclass(frozen=True)
class Problem:
    """One bad input item: counted and listed in the report, never silently dropped.

    kind: box_outside_image, negative_size, zero_size, unknown_class, image_missing,
    image_not_in_gold, image_not_in_pred, corrupt_image, unknown_image_id, malformed.
    """

    kind: str
    file: str  # the label file (or image) where it was found
    detail: str
    image: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "file": self.file, "image": self.image, "detail": self.detail}


@dataclass
class LabelSet:
    """Labels of a set of images, as read from one file or folder."""

    kind: Kind = "detection"
    images: dict[str, ImageInfo] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)  # ordered: index = id in YOLO/masks
    category_ids: dict[str, int] = field(default_factory=dict)  # the source's own ids (COCO)
    annotations: list[Annotation] = field(default_factory=list)
    masks: dict[str, np.ndarray] = field(default_factory=dict)  # semantic: class index per px
    lead_time: dict[str, float] = field(default_factory=dict)  # seconds spent per image (LS)
    problems: list[Problem] = field(default_factory=list)
    source: str = ""

    def add_image(self, info: ImageInfo) -> ImageInfo:
        existing = self.images.get(info.key)
        if existing is None:
            self.images[info.key] = info
            return info
        if existing.width is None and info.width is not None:
            existing.width, existing.height = info.width, info.height
        return existing

    def add_category(self, name: str) -> None:
        if name not in self.categories:
            self.categories.append(name)

    def by_image(self) -> dict[str, list[Annotation]]:
        out: dict[str, list[Annotation]] = {k: [] for k in self.images}
        for ann in self.annotations:
            out.setdefault(ann.image, []).append(ann)
        return out

    def problem(self, kind: str, detail: str, image: str = "", file: str | None = None) -> None:
        self.problems.append(Problem(kind, file or self.source, detail, image))
