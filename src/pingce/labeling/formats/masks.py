"""Segmentation masks: a folder of PNGs (pixel value = class index into ``classes.txt``,
0 usually the background) or COCO JSON with per-class RLE segmentations (pycocotools).

Masks are matched to images by file stem (``cat.png`` labels ``cat.jpg``), through the
images folder or the reference (gold) label set when given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from pingce.core.errors import DataError
from pingce.labeling.images import index_images
from pingce.labeling.model import ImageInfo, LabelSet


def _stem_keys(images_dir: Path | None, reference: LabelSet | None) -> dict[str, str]:
    keys = {Path(k).stem: k for k in index_images(images_dir)}
    if reference is not None:
        for k in reference.images:
            keys.setdefault(Path(k).stem, k)
    return keys


def read_png_masks(
    path: Path,
    images_dir: Path | None = None,
    reference: LabelSet | None = None,
    classes: list[str] | None = None,
    **_: Any,
) -> LabelSet:
    from PIL import Image

    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"{folder}: PNG masks must be a folder of .png files")
    txt = folder / "classes.txt"
    if classes is None and txt.is_file():
        classes = [ln.strip() for ln in txt.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not classes:
        raise DataError(f"{folder}: no classes.txt (one class per line; line 1 is index 0)")
    out = LabelSet(kind="segmentation", source=str(folder), categories=list(classes))
    keys = _stem_keys(images_dir, reference)
    for png in sorted(folder.glob("*.png")):
        key = keys.get(png.stem, png.name)
        try:
            with Image.open(png) as img:
                arr = np.asarray(img)
        except OSError as exc:
            out.problem("corrupt_image", f"cannot decode mask: {exc}", key, str(png))
            continue
        if arr.ndim != 2:
            out.problem(
                "malformed",
                f"mask has shape {arr.shape}; expected one channel of class indices",
                key,
                str(png),
            )
            continue
        bad = np.unique(arr[arr >= len(classes)])
        if bad.size:
            out.problem(
                "unknown_class", f"pixel values {bad.tolist()[:5]} have no class", key, str(png)
            )
        out.add_image(ImageInfo(key, key, int(arr.shape[1]), int(arr.shape[0])))
        out.masks[key] = arr.astype(np.int32)
    for stem, key in keys.items():
        if key not in out.images and reference is not None and key in reference.images:
            out.problem("image_not_in_pred", f"no mask {stem}.png", key)
    return out


def write_png_masks(ls: LabelSet, path: Path, **_: Any) -> list[Path]:
    from PIL import Image

    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "classes.txt").write_text("".join(f"{c}\n" for c in ls.categories), encoding="utf-8")
    written = [folder / "classes.txt"]
    dtype = np.uint8 if len(ls.categories) <= 256 else np.uint16
    for key, mask in semantic_masks(ls).items():
        target = folder / f"{Path(key).stem}.png"
        Image.fromarray(mask.astype(dtype)).save(target)
        written.append(target)
    return written


def semantic_masks(ls: LabelSet) -> dict[str, np.ndarray]:
    """Class-index masks per image: the set's own masks, or its polygons/RLEs rasterised.

    Later annotations paint over earlier ones where they overlap; class index = position in
    `categories`, so give the background category index 0 when there is one.
    """
    if ls.masks:
        return dict(ls.masks)
    from pycocotools import mask as mask_utils

    index = {c: i for i, c in enumerate(ls.categories)}
    out: dict[str, np.ndarray] = {}
    for key, info in ls.images.items():
        if info.width is None or info.height is None:
            continue
        out[key] = np.zeros((info.height, info.width), dtype=np.int32)
    for a in ls.annotations:
        if a.segmentation is None or a.image not in out or a.label not in index:
            continue
        h, w = out[a.image].shape
        seg = a.segmentation
        if isinstance(seg, list):
            rle = mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
        elif isinstance(seg.get("counts"), list):
            rle = mask_utils.frPyObjects(seg, h, w)
        else:
            counts = seg["counts"]
            rle = {
                "size": seg["size"],
                "counts": counts.encode() if isinstance(counts, str) else counts,
            }
        m = mask_utils.decode(rle).astype(bool)
        out[a.image][m] = index[a.label]
    return out


def read_coco_rle(path: Path, **kwargs: Any) -> LabelSet:
    from pingce.labeling.formats.coco import read_coco

    ls = read_coco(path, **kwargs)
    ls.kind = "segmentation"
    ls.masks = semantic_masks(ls)
    ls.annotations = []
    return ls


def write_coco_rle(ls: LabelSet, path: Path, background: str | None = None, **_: Any) -> list[Path]:
    """One RLE annotation per (image, class present), the background class left out."""
    from pycocotools import mask as mask_utils

    from pingce.labeling.formats.coco import coco_dict

    bg = background if background is not None else (ls.categories[0] if ls.categories else None)
    data = coco_dict(LabelSet(kind="segmentation", images=ls.images, categories=ls.categories))
    img_ids = {k: n for n, k in enumerate(ls.images, start=1)}
    anns = []
    for key, mask in semantic_masks(ls).items():
        for idx in np.unique(mask).tolist():
            if idx >= len(ls.categories) or ls.categories[idx] == bg:
                continue
            rle = mask_utils.encode(np.asfortranarray((mask == idx).astype(np.uint8)))
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": img_ids[key],
                    "category_id": idx + 1,
                    "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()},
                    "area": float(mask_utils.area(rle)),
                    "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                    "iscrowd": 0,
                }
            )
    data["annotations"] = anns
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return [path]
