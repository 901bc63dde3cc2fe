"""Vision datasets pingce reads: ImageFolder (classification), MVTec AD layout (defects),
COCO (detection), mask folders (segmentation), and the built-in `builtin:digits` set.

Every sample carries the sha256 of its file(s), so a record key changes when an image does.
Images become float32 NCHW batches in [0, 1] (then normalised by the task's mean/std).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pingce.core.errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


@dataclass(frozen=True)
class Sample:
    id: str  # path relative to the dataset root
    path: Path | None
    label: int  # class index (classification), 0 good / 1 defective (defects)
    digest: str
    mask: Path | None = None  # ground-truth mask (defects, segmentation)
    kind: str = ""  # defect type / class name
    array: np.ndarray | None = None  # in-memory image (built-in sets), HWC uint8
    boxes: list[list[Any]] | None = None  # detection gold rows [label, x, y, w, h]


def file_digest(path: Path) -> str:
    from pingce.core.fingerprint import file_sha256

    return file_sha256(path)


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def image_folder(root: Path) -> tuple[list[str], list[Sample]]:
    """torchvision's ImageFolder: ROOT/<class>/<image>; classes sorted by name."""
    if not root.is_dir():
        raise DataError(
            f"dataset folder {root} does not exist", hint="an ImageFolder: ROOT/<class>/<image>"
        )
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(
            f"dataset folder {root} has no class folders",
            hint="an ImageFolder: ROOT/<class>/<image>",
        )
    samples = [
        Sample(str(p.relative_to(root)), p, ci, file_digest(p), kind=c)
        for ci, c in enumerate(classes)
        for p in _images(root / c)
    ]
    if not samples:
        raise DataError(f"dataset folder {root} has class folders but no images")
    return classes, samples


def mvtec(root: Path, split: str = "test") -> list[Sample]:
    """MVTec AD layout of one category: test/<good|defect>/x.png with
    ground_truth/<defect>/x_mask.png; `split='train'` gives train/good."""
    base = root / split
    if not base.is_dir():
        raise DataError(
            f"{root} has no {split}/ folder",
            hint="an MVTec AD category: train/good, test/<type>, ground_truth/<type>",
        )
    samples = []
    for kind_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        kind = kind_dir.name
        for p in _images(kind_dir):
            mask = None
            digest = file_digest(p)
            if kind != "good":
                mask = root / "ground_truth" / kind / f"{p.stem}_mask.png"
                if not mask.is_file():
                    raise DataError(
                        f"{p}: its mask {mask} is missing",
                        hint="MVTec AD names masks <image>_mask.png",
                    )
                digest += file_digest(mask)
            samples.append(
                Sample(str(p.relative_to(root)), p, int(kind != "good"), digest, mask, kind)
            )
    if not samples:
        raise DataError(f"{base} holds no images")
    return samples


def digits() -> tuple[list[str], list[Sample]]:
    """scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes), upscaled by 4."""
    from sklearn.datasets import load_digits

    d = load_digits()
    out = []
    for i, (img, y) in enumerate(zip(d.images, d.target, strict=True)):
        g = np.kron(np.round(img * 255 / 16).astype(np.uint8), np.ones((4, 4), dtype=np.uint8))
        arr = np.stack([g, g, g], axis=-1)
        out.append(
            Sample(
                f"digits/{i:04d}",
                None,
                int(y),
                hashlib.sha256(arr.tobytes()).hexdigest(),
                array=arr,
            )
        )
    return [str(c) for c in range(10)], out


def coco(ann_file: Path, images_dir: Path | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """(class names, images) from a COCO detection file; each image {id, file, width, height,
    gold: [[label, x, y, w, h], ...]} (crowd boxes left out)."""
    try:
        data = json.loads(ann_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{ann_file}: not a readable COCO JSON file ({exc})") from None
    if not isinstance(data, dict) or not all(
        k in data for k in ("images", "annotations", "categories")
    ):
        raise DataError(f"{ann_file}: expected COCO keys images, annotations, categories")
    names = {c["id"]: str(c["name"]) for c in data["categories"]}
    images = {
        im["id"]: {
            "id": im["id"],
            "file": im.get("file_name", ""),
            "width": im.get("width", 0),
            "height": im.get("height", 0),
            "gold": [],
        }
        for im in data["images"]
    }
    for a in data["annotations"]:
        if a.get("iscrowd"):
            continue
        if a.get("image_id") not in images or a.get("category_id") not in names:
            raise DataError(
                f"{ann_file}: annotation {a.get('id')} names an unknown image or category"
            )
        images[a["image_id"]]["gold"].append([names[a["category_id"]], *map(float, a["bbox"])])
    return [names[k] for k in sorted(names)], list(images.values())


def load_rgb(sample: Sample) -> np.ndarray:
    """HWC uint8 RGB."""
    if sample.array is not None:
        return sample.array
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(sample.path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise DataError(f"{sample.path}: not a readable image ({exc})") from None


def load_mask(path: Path | None, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool mask (nonzero = defect); all False for a good image."""
    if path is None:
        return np.zeros(shape, dtype=bool)
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L")) > 127


def resize(arr: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """Resize an HWC uint8 image or an HW mask to (H, W)."""
    if arr.shape[:2] == tuple(size):
        return arr
    from PIL import Image

    im = Image.fromarray(arr.astype(np.uint8) if arr.dtype != bool else arr.astype(np.uint8) * 255)
    im = im.resize((size[1], size[0]), Image.NEAREST if nearest else Image.BILINEAR)
    out = np.asarray(im)
    return out > 127 if arr.dtype == bool else out


def to_batch(images: list[np.ndarray], mean: list[float], std: list[float]) -> np.ndarray:
    """float32 (N, 3, H, W): (x/255 - mean) / std per channel."""
    x = np.stack(images).astype(np.float32) / 255.0
    x = (x - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def yolo(root: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """A YOLO detection set: ROOT/images/x.png, ROOT/labels/x.txt (`class cx cy w h`, all
    normalised to 0..1), class names in ROOT/classes.txt (one per line)."""
    names_file = root / "classes.txt"
    if not names_file.is_file() or not (root / "images").is_dir():
        raise DataError(f"{root}: a YOLO set has images/, labels/ and classes.txt")
    names = [n.strip() for n in names_file.read_text(encoding="utf-8").splitlines() if n.strip()]
    out = []
    for p in _images(root / "images"):
        from PIL import Image

        with Image.open(p) as im:
            w, h = im.size
        rows = []
        lab = root / "labels" / f"{p.stem}.txt"
        lines = lab.read_text(encoding="utf-8").splitlines() if lab.is_file() else []
        for n, line in enumerate(lines, start=1):
            parts = line.split()
            if not parts:
                continue
            try:
                c, cx, cy, bw, bh = int(parts[0]), *(float(v) for v in parts[1:5])
            except (ValueError, IndexError):
                raise DataError(f"{lab}:{n}: expected 'class cx cy w h'") from None
            if not 0 <= c < len(names) or len(parts) != 5:
                raise DataError(
                    f"{lab}:{n}: class {parts[0]} is not in classes.txt (or extra fields)"
                )
            rows.append([names[c], (cx - bw / 2) * w, (cy - bh / 2) * h, bw * w, bh * h])
        out.append(
            {
                "id": len(out),
                "file": str(p.relative_to(root)),
                "width": w,
                "height": h,
                "gold": rows,
            }
        )
    return names, out


def voc(root: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """A Pascal VOC set: ROOT/Annotations/x.xml naming ROOT/JPEGImages/<filename>; boxes
    x = xmin, w = xmax - xmin (as torchvision reads them); `difficult` objects are left out."""
    import xml.etree.ElementTree as ET

    ann_dir = root / "Annotations"
    if not ann_dir.is_dir():
        raise DataError(f"{root}: a VOC set has Annotations/ and JPEGImages/")
    out, names = [], []
    for xml in sorted(ann_dir.glob("*.xml")):
        try:
            tree = ET.parse(xml).getroot()
            file = tree.findtext("filename") or f"{xml.stem}.jpg"
            w = int(float(tree.findtext("size/width") or 0))
            h = int(float(tree.findtext("size/height") or 0))
            rows = []
            for obj in tree.iter("object"):
                if (obj.findtext("difficult") or "0").strip() == "1":
                    continue
                name = (obj.findtext("name") or "").strip()
                x0, y0, x1, y1 = (
                    float(obj.findtext(f"bndbox/{k}") or "nan")
                    for k in ("xmin", "ymin", "xmax", "ymax")
                )
                if not all(np.isfinite([x0, y0, x1, y1])) or not name:
                    raise ValueError("an object without a name or a complete bndbox")
                names.append(name)
                rows.append([name, x0, y0, x1 - x0, y1 - y0])
        except (ET.ParseError, ValueError) as exc:
            raise DataError(f"{xml}: not a VOC annotation ({exc})") from None
        out.append(
            {
                "id": len(out),
                "file": str(Path("JPEGImages") / file),
                "width": w,
                "height": h,
                "gold": rows,
            }
        )
    if not out:
        raise DataError(f"{ann_dir} holds no .xml annotations")
    return sorted(set(names)), out


VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v"}


def video_frames(path: Path, limit: int) -> list[Sample]:
    """Up to `limit` frames of a video file (OpenCV), as unlabelled in-memory samples."""
    import cv2

    if not path.is_file():
        raise DataError(f"video {path} does not exist")
    cap = cv2.VideoCapture(str(path))
    out: list[Sample] = []
    try:
        while len(out) < limit:
            ok, frame = cap.read()
            if not ok:
                break
            rgb = np.ascontiguousarray(frame[:, :, ::-1])
            out.append(
                Sample(
                    f"{path.name}#{len(out)}",
                    None,
                    0,
                    hashlib.sha256(rgb.tobytes()).hexdigest(),
                    array=rgb,
                )
            )
    finally:
        cap.release()
    if not out:
        raise DataError(
            f"{path}: OpenCV reads no frames from it",
            hint="a video file OpenCV can decode (mp4, avi, ...)",
        )
    return out


def hf_images(path: Path, split: str | None = None) -> tuple[list[str], list[Sample]]:
    """An image-classification set saved by Hugging Face `datasets` (`save_to_disk`): an
    `image` column and a `label` column (a ClassLabel gives the class names). Read locally."""
    import io

    try:
        from datasets import DatasetDict, load_from_disk
    except ImportError:
        raise DataError(
            "hf: datasets need the `datasets` package", hint="pip install 'pingce[llm]'"
        ) from None
    if not path.is_dir():
        raise DataError(
            f"hf dataset folder {path} does not exist",
            hint="a folder written by datasets' save_to_disk",
        )
    try:
        ds = load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as exc:
        raise DataError(f"{path}: not a saved Hugging Face dataset ({exc})") from None
    if isinstance(ds, DatasetDict):
        name = split or ("test" if "test" in ds else next(iter(ds)))
        if name not in ds:
            raise DataError(f"{path}: no split {name!r}; it has {', '.join(ds)}")
        ds = ds[name]
    cols = set(ds.column_names)
    img_col = "image" if "image" in cols else "img" if "img" in cols else None
    lab_col = "label" if "label" in cols else "labels" if "labels" in cols else None
    if img_col is None or lab_col is None:
        raise DataError(
            f"{path}: expected an image column (image/img) and a label column (label/labels); it has {sorted(cols)}"
        )
    feature = ds.features[lab_col]
    n_cls = int(max(ds[lab_col])) + 1 if len(ds) else 0
    names = list(getattr(feature, "names", None) or [str(i) for i in range(n_cls)])
    out = []
    for i, row in enumerate(ds):
        img = row[img_col]
        buf = io.BytesIO()
        img.convert("RGB").save(buf, format="PNG")
        arr = np.asarray(img.convert("RGB"))
        out.append(
            Sample(
                f"{path.name}/{i}",
                None,
                int(row[lab_col]),
                hashlib.sha256(buf.getvalue()).hexdigest(),
                array=arr,
            )
        )
    return names, out
