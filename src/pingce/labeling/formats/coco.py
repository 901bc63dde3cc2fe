"""COCO JSON: a dataset file (images, annotations, categories) or a results list.

A results list (``[{"image_id", "category_id", "bbox", "score"}, ...]``) names images and
categories by the ids of a dataset file, so reading one needs that dataset (`reference`).
Segmentations may be polygons or RLE (compressed or uncompressed), as pycocotools reads them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pingce.core.errors import DataError
from pingce.labeling.model import Annotation, ImageInfo, LabelSet, image_keys


def _load_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: file does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None


def read_coco(path: Path, reference: LabelSet | None = None, **_: Any) -> LabelSet:
    data = _load_json(path)
    if isinstance(data, list):
        return _read_results(path, data, reference)
    if not isinstance(data, dict) or "annotations" not in data or "images" not in data:
        raise DataError(f"{path}: expected a COCO dataset with 'images' and 'annotations'")
    out = LabelSet(source=str(path))
    cats: dict[Any, str] = {}
    for c in data.get("categories", []):
        cats[c["id"]] = str(c["name"])
        out.add_category(str(c["name"]))
        out.category_ids[str(c["name"])] = c["id"]
    ids: dict[Any, str] = {}
    names = [str(img.get("file_name", img.get("id"))) for img in data["images"]]
    for img, name, key in zip(
        data["images"], names, image_keys(names, f"{path}: images"), strict=True
    ):
        info = ImageInfo(key, name, img.get("width"), img.get("height"), img.get("id"))
        ids[img.get("id")] = out.add_image(info).key
    for i, a in enumerate(data["annotations"]):
        _add_annotation(out, a, i, ids, cats)
    if any(a.segmentation is not None and a.bbox is None for a in out.annotations):
        out.kind = "segmentation"
    return out


def _add_annotation(
    out: LabelSet, a: dict[str, Any], i: int, ids: dict[Any, str], cats: dict[Any, str]
) -> None:
    where = f"annotations[{i}]"
    key = ids.get(a.get("image_id"))
    if key is None:
        out.problem("unknown_image_id", f"{where}: image_id {a.get('image_id')!r} is not in images")
        return
    label = cats.get(a.get("category_id"))
    if label is None:
        out.problem(
            "unknown_class", f"{where}: category_id {a.get('category_id')!r} is not a category", key
        )
        return
    bbox = a.get("bbox")
    if bbox is not None:
        if not (isinstance(bbox, list) and len(bbox) == 4):
            out.problem("malformed", f"{where}: bbox must be [x, y, width, height]", key)
            return
        bbox = tuple(float(v) for v in bbox)
    seg = a.get("segmentation") or None
    attrs = dict(a.get("attributes") or {})
    if a.get("iscrowd"):
        attrs["iscrowd"] = 1
    area = a.get("area")
    out.annotations.append(
        Annotation(
            image=key,
            label=label,
            bbox=bbox,  # type: ignore[arg-type]
            score=float(a["score"]) if a.get("score") is not None else None,
            segmentation=seg,
            text=a.get("text") if a.get("text") is not None else attrs.pop("text", None),
            id=a.get("id", i),
            attributes=attrs,
            coco_area=float(area) if isinstance(area, int | float) and area >= 0 else None,
        )
    )


def _read_results(path: Path, data: list[Any], reference: LabelSet | None) -> LabelSet:
    if reference is None or not reference.images:
        raise DataError(
            f"{path}: a COCO results list names images by id only",
            hint="give the gold COCO dataset file so its image and category ids can be used",
        )
    out = LabelSet(
        source=str(path),
        categories=list(reference.categories),
        category_ids=dict(reference.category_ids),
    )
    ids = {info.id: key for key, info in reference.images.items()}
    for key, info in reference.images.items():
        out.add_image(ImageInfo(key, info.file_name, info.width, info.height, info.id))
    cats = _category_ids(reference)
    for i, a in enumerate(data):
        if not isinstance(a, dict):
            out.problem("malformed", f"[{i}]: expected an object")
            continue
        _add_annotation(out, a, i, ids, cats)
    return out


def _category_ids(ls: LabelSet) -> dict[Any, str]:
    """Category id -> name: the source's own ids, else 1-based positions in `categories`."""
    if ls.category_ids:
        return {cid: name for name, cid in ls.category_ids.items()}
    return {i + 1: name for i, name in enumerate(ls.categories)}


def coco_dict(ls: LabelSet) -> dict[str, Any]:
    """The label set as a COCO dataset dict (ids: images 1.., categories 1.., annotations 1..)."""
    img_ids = {key: n for n, key in enumerate(ls.images, start=1)}
    cat_ids = {name: n for n, name in enumerate(ls.categories, start=1)}
    images = [
        {"id": img_ids[k], "file_name": i.file_name, "width": i.width, "height": i.height}
        for k, i in ls.images.items()
    ]
    anns = []
    for n, a in enumerate(ls.annotations, start=1):
        if a.image not in img_ids or a.label not in cat_ids:
            continue
        item: dict[str, Any] = {
            "id": n,
            "image_id": img_ids[a.image],
            "category_id": cat_ids[a.label],
            "iscrowd": int(a.attributes.get("iscrowd", 0)),
        }
        if a.bbox is not None:
            item["bbox"] = [float(v) for v in a.bbox]
            item["area"] = float(a.area)
        if a.coco_area is not None:  # the source's own area (a mask's) survives a round trip
            item["area"] = float(a.coco_area)
        if a.segmentation is not None:
            item["segmentation"] = a.segmentation
            if isinstance(a.segmentation, dict) and "area" not in item:
                from pycocotools import mask as mask_utils

                item["area"] = float(mask_utils.area(_rle_bytes(a.segmentation)))
        if a.score is not None:
            item["score"] = float(a.score)
        if a.text is not None:
            item["text"] = a.text
        attrs = {k: v for k, v in a.attributes.items() if k != "iscrowd"}
        if attrs:
            item["attributes"] = attrs
        anns.append(item)
    cats = [{"id": cat_ids[c], "name": c, "supercategory": ""} for c in ls.categories]
    return {"images": images, "annotations": anns, "categories": cats}


def _rle_bytes(rle: dict[str, Any]) -> dict[str, Any]:
    counts = rle["counts"]
    return {"size": rle["size"], "counts": counts.encode() if isinstance(counts, str) else counts}


def write_coco(ls: LabelSet, path: Path, **_: Any) -> list[Path]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(coco_dict(ls), ensure_ascii=False), encoding="utf-8")
    return [path]
