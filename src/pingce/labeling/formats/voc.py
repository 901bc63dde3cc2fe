"""Pascal VOC XML: one ``<annotation>`` file per image with ``<object><bndbox>`` corners.

Corners are read as ``x = xmin, width = xmax - xmin`` (the convention of CVAT, Datumaro and
most converters), so a round trip through VOC keeps boxes exact. A non-standard ``<score>``
child of ``<object>`` carries a prediction's confidence.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from pingce.core.errors import DataError
from pingce.labeling.model import Annotation, ImageInfo, LabelSet, image_key


def _num(node: ET.Element | None, tag: str) -> float | None:
    child = node.find(tag) if node is not None else None
    if child is None or child.text is None:
        return None
    return float(child.text.strip())


def read_voc(path: Path, classes: list[str] | None = None, **_: Any) -> LabelSet:
    folder = Path(path)
    files = sorted(folder.glob("*.xml")) if folder.is_dir() else [folder]
    if not files or not files[0].is_file():
        raise DataError(f"{folder}: no VOC .xml files found")
    out = LabelSet(source=str(folder), categories=list(classes or []))
    for f in files:
        try:
            root = ET.parse(f).getroot()
        except ET.ParseError as exc:
            out.problem("malformed", f"not valid XML ({exc})", file=str(f))
            continue
        name = (root.findtext("filename") or f.with_suffix(".jpg").name).strip()
        size = root.find("size")
        try:
            w, h = _num(size, "width"), _num(size, "height")
        except ValueError:
            w = h = None
        info = out.add_image(
            ImageInfo(image_key(name), name, int(w) if w else None, int(h) if h else None)
        )
        for n, obj in enumerate(root.findall("object")):
            label = (obj.findtext("name") or "").strip()
            box = obj.find("bndbox")
            try:
                x0, y0 = _num(box, "xmin"), _num(box, "ymin")
                x1, y1 = _num(box, "xmax"), _num(box, "ymax")
                score = _num(obj, "score")
            except ValueError:
                x0 = None
            if not label or None in (x0, y0, x1, y1):
                out.problem(
                    "malformed", f"object {n}: needs <name> and numeric <bndbox>", info.key, str(f)
                )
                continue
            if classes and label not in classes:
                out.problem(
                    "unknown_class",
                    f"object {n}: class {label!r} is not in the class list",
                    info.key,
                    str(f),
                )
                continue
            out.add_category(label)
            attrs = {"difficult": 1} if (obj.findtext("difficult") or "0").strip() == "1" else {}
            out.annotations.append(
                Annotation(
                    info.key,
                    label,
                    (x0, y0, x1 - x0, y1 - y0),
                    score,
                    id=f"{f.name}:{n}",  # type: ignore[operator]
                    attributes=attrs,
                )
            )
    return out


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.3f}"


def write_voc(ls: LabelSet, path: Path, **_: Any) -> list[Path]:
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    by_image = ls.by_image()
    written = []
    for key, info in ls.images.items():
        root = ET.Element("annotation")
        ET.SubElement(root, "filename").text = key
        size = ET.SubElement(root, "size")
        ET.SubElement(size, "width").text = str(info.width or 0)
        ET.SubElement(size, "height").text = str(info.height or 0)
        ET.SubElement(size, "depth").text = "3"
        for a in by_image.get(key, []):
            if a.bbox is None:
                continue
            obj = ET.SubElement(root, "object")
            ET.SubElement(obj, "name").text = a.label
            ET.SubElement(obj, "difficult").text = str(int(a.attributes.get("difficult", 0)))
            if a.score is not None:
                ET.SubElement(obj, "score").text = f"{a.score:.6f}"
            box = ET.SubElement(obj, "bndbox")
            x, y, w, h = a.bbox
            for tag, v in (("xmin", x), ("ymin", y), ("xmax", x + w), ("ymax", y + h)):
                ET.SubElement(box, tag).text = _fmt(v)
        ET.indent(root)
        target = folder / f"{Path(key).stem}.xml"
        ET.ElementTree(root).write(target, encoding="utf-8", xml_declaration=True)
        written.append(target)
    return written
