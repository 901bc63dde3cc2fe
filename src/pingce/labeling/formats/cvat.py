"""CVAT XML ("CVAT for images 1.1"): ``<image>`` elements holding ``<box>``, ``<polygon>`` and
``<tag>`` children; a ``text`` attribute on a box carries a transcription.

Boxes are ``xtl, ytl, xbr, ybr`` corners (``width = xbr - xtl``); polygons ``points="x,y;x,y"``;
tags are image-level (classification) labels.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from pingce.core.errors import DataError
from pingce.labeling.model import Annotation, ImageInfo, LabelSet, image_keys


def read_cvat(path: Path, **_: Any) -> LabelSet:
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise DataError(f"{path}: file does not exist") from None
    except ET.ParseError as exc:
        raise DataError(f"{path}: not valid XML ({exc})") from None
    if root.tag != "annotations":
        raise DataError(f"{path}: expected CVAT XML with an <annotations> root, found <{root.tag}>")
    out = LabelSet(source=str(path))
    for label in root.iter("label"):
        name = label.findtext("name")
        if name:
            out.add_category(name.strip())
    known = set(out.categories)
    elements = list(root.iter("image"))
    keys = image_keys([img.get("name", "") for img in elements], f"{path}: <image>")
    for img, key in zip(elements, keys, strict=True):
        name = img.get("name", "")
        try:
            w, h = int(float(img.get("width", ""))), int(float(img.get("height", "")))
        except ValueError:
            w = h = None  # type: ignore[assignment]
        if not (w and h):  # 0x0 is how a size-less writer says "unknown"
            w = h = None  # type: ignore[assignment]
        info = out.add_image(ImageInfo(key, name, w, h, img.get("id")))
        for n, el in enumerate(img):
            label = el.get("label", "")
            if known and label not in known:
                out.problem(
                    "unknown_class", f"<{el.tag}> {n}: label {label!r} is not in <labels>", info.key
                )
                continue
            out.add_category(label)
            attrs = {a.get("name", ""): (a.text or "") for a in el.findall("attribute")}
            text = attrs.pop("text", None)
            score = float(el.get("score")) if el.get("score") is not None else None  # type: ignore[arg-type]
            try:
                ann = _shape(el, info.key, label, score, text, attrs, n)
            except (TypeError, ValueError):
                out.problem("malformed", f"<{el.tag}> {n}: bad coordinates", info.key)
                continue
            if ann is not None:
                out.annotations.append(ann)
    if out.annotations and all(a.bbox is None and a.segmentation is None for a in out.annotations):
        out.kind = "classification"
    return out


def _shape(
    el: ET.Element,
    key: str,
    label: str,
    score: float | None,
    text: str | None,
    attrs: dict[str, Any],
    n: int,
) -> Annotation | None:
    if el.tag == "box":
        x0, y0 = float(el.get("xtl")), float(el.get("ytl"))  # type: ignore[arg-type]
        x1, y1 = float(el.get("xbr")), float(el.get("ybr"))  # type: ignore[arg-type]
        return Annotation(key, label, (x0, y0, x1 - x0, y1 - y0), score, None, text, n, attrs)
    if el.tag == "polygon":
        pts = [float(v) for p in el.get("points", "").split(";") for v in p.split(",")]
        xs, ys = pts[0::2], pts[1::2]
        bbox = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        return Annotation(key, label, bbox, score, [pts], text, n, attrs)
    if el.tag == "tag":
        return Annotation(key, label, None, score, None, text, n, attrs)
    return None


def _fmt(v: float) -> str:
    return f"{v:.2f}"


def write_cvat(ls: LabelSet, path: Path, **_: Any) -> list[Path]:
    from pingce.labeling.formats.labelstudio import refuse_lossy

    refuse_lossy(ls, "CVAT")
    sizeless = [i.file_name for i in ls.images.values() if not (i.width and i.height)]
    if sizeless:
        raise DataError(
            f"CVAT XML needs every image's width and height; {len(sizeless)} image(s) have none, e.g. {sizeless[0]!r}",
            hint="pass --images DIR so the sizes are read from the image files",
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    labels = ET.SubElement(ET.SubElement(ET.SubElement(root, "meta"), "task"), "labels")
    for c in ls.categories:
        ET.SubElement(ET.SubElement(labels, "label"), "name").text = c
    by_image = ls.by_image()
    for n, (key, info) in enumerate(ls.images.items()):
        img = ET.SubElement(
            root,
            "image",
            id=str(n),
            name=info.file_name,
            width=str(info.width or 0),
            height=str(info.height or 0),
        )
        for a in by_image.get(key, []):
            extra = {"score": f"{a.score:.6f}"} if a.score is not None else {}
            if isinstance(a.segmentation, list) and a.segmentation:
                pts = a.segmentation[0]
                points = ";".join(
                    f"{_fmt(pts[i])},{_fmt(pts[i + 1])}" for i in range(0, len(pts), 2)
                )
                el = ET.SubElement(img, "polygon", label=a.label, points=points, **extra)
            elif a.bbox is not None:
                x, y, w, h = a.bbox
                el = ET.SubElement(
                    img,
                    "box",
                    label=a.label,
                    xtl=_fmt(x),
                    ytl=_fmt(y),
                    xbr=_fmt(x + w),
                    ybr=_fmt(y + h),
                    occluded="0",
                    **extra,
                )
            else:
                el = ET.SubElement(img, "tag", label=a.label, **extra)
            for k, v in a.attributes.items():
                ET.SubElement(el, "attribute", name=str(k)).text = str(v)
            if a.text is not None:
                ET.SubElement(el, "attribute", name="text").text = a.text
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return [path]
