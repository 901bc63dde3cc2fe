"""YOLO txt: one ``<stem>.txt`` per image, lines ``class cx cy w h [score]`` normalised to 0..1.

Class names come from ``classes.txt`` (one per line) or a ``data.yaml`` ``names`` entry in
the folder or its parent. Coordinates are fractions of the image size, so reading needs the
image sizes: from the images folder, or from a reference label set (the gold) that has them.
An image without a txt file has no objects (YOLO's convention).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pingce.core.errors import DataError
from pingce.labeling.images import image_size, index_images
from pingce.labeling.model import Annotation, ImageInfo, LabelSet


def _read_classes(folder: Path) -> list[str]:
    for base in (folder, folder.parent):
        txt = base / "classes.txt"
        if txt.is_file():
            return [ln.strip() for ln in txt.read_text(encoding="utf-8").splitlines() if ln.strip()]
        for name in ("data.yaml", "dataset.yaml"):
            cfg = base / name
            if cfg.is_file():
                names = (yaml.safe_load(cfg.read_text(encoding="utf-8")) or {}).get("names")
                if isinstance(names, dict):
                    return [str(names[k]) for k in sorted(names)]
                if isinstance(names, list):
                    return [str(n) for n in names]
    raise DataError(
        f"{folder}: no classes.txt or data.yaml with 'names' next to the YOLO labels",
        hint="write the class names, one per line, to classes.txt in the labels folder",
    )


def read_yolo(
    path: Path,
    images_dir: Path | None = None,
    reference: LabelSet | None = None,
    classes: list[str] | None = None,
    **_: Any,
) -> LabelSet:
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"{folder}: YOLO labels must be a folder of .txt files")
    names = classes or _read_classes(folder)
    out = LabelSet(source=str(folder), categories=list(names))
    # Which image each txt belongs to: by stem, from the images folder or the reference set.
    by_stem: dict[str, ImageInfo] = {}
    for key, p in index_images(images_dir).items():
        size = image_size(p)
        by_stem[Path(key).stem] = ImageInfo(key, key, *(size or (None, None)))
    if reference is not None:
        for key, info in reference.images.items():
            by_stem.setdefault(Path(key).stem, ImageInfo(key, key, info.width, info.height))
    if not by_stem:
        raise DataError(
            f"{folder}: YOLO coordinates are fractions of the image size",
            hint="pass the images folder (--images DIR) so sizes and file names are known",
        )
    for info in by_stem.values():
        out.add_image(ImageInfo(info.key, info.file_name, info.width, info.height))
    for txt in sorted(folder.glob("*.txt")):
        if txt.name == "classes.txt":
            continue
        info = by_stem.get(txt.stem)
        if info is None:
            out.problem(
                "image_missing", f"no image named {txt.stem}.* for these labels", file=str(txt)
            )
            continue
        _read_file(out, txt, info, names)
    return out


def _read_file(out: LabelSet, txt: Path, info: ImageInfo, names: list[str]) -> None:
    for n, line in enumerate(txt.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        where = f"line {n}"
        try:
            cls = int(parts[0])
            vals = [float(v) for v in parts[1:]]
        except ValueError:
            out.problem(
                "malformed", f"{where}: expected 'class cx cy w h [score]'", info.key, str(txt)
            )
            continue
        if len(vals) not in (4, 5):
            out.problem(
                "malformed",
                f"{where}: {len(vals)} numbers after the class (polygons are not read as boxes)",
                info.key,
                str(txt),
            )
            continue
        if not 0 <= cls < len(names):
            out.problem(
                "unknown_class",
                f"{where}: class id {cls} (classes 0..{len(names) - 1})",
                info.key,
                str(txt),
            )
            continue
        if info.width is None or info.height is None:
            out.problem("image_missing", f"size of {info.key} unknown", info.key, str(txt))
            continue
        cx, cy, w, h = (
            vals[0] * info.width,
            vals[1] * info.height,
            vals[2] * info.width,
            vals[3] * info.height,
        )
        out.annotations.append(
            Annotation(
                image=info.key,
                label=names[cls],
                bbox=(cx - w / 2, cy - h / 2, w, h),
                score=vals[4] if len(vals) == 5 else None,
                id=f"{txt.name}:{n}",
            )
        )


def write_yolo(ls: LabelSet, path: Path, **_: Any) -> list[Path]:
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    index = {c: i for i, c in enumerate(ls.categories)}
    (folder / "classes.txt").write_text("".join(f"{c}\n" for c in ls.categories), encoding="utf-8")
    written = [folder / "classes.txt"]
    by_image = ls.by_image()
    for key, info in ls.images.items():
        if info.width is None or info.height is None:
            raise DataError(f"cannot write YOLO labels for {key}: its size is unknown")
        lines = []
        for a in by_image.get(key, []):
            if a.bbox is None or a.label not in index:
                continue
            x, y, w, h = a.bbox
            vals = [
                (x + w / 2) / info.width,
                (y + h / 2) / info.height,
                w / info.width,
                h / info.height,
            ]
            row = f"{index[a.label]} " + " ".join(f"{v:.6f}" for v in vals)
            if a.score is not None:
                row += f" {a.score:.6f}"
            lines.append(row + "\n")
        target = folder / f"{Path(key).stem}.txt"
        target.write_text("".join(lines), encoding="utf-8")
        written.append(target)
    return written
