"""Image files: listing a folder, reading sizes, and telling corrupt files apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def list_images(folder: Path) -> list[Path]:
    """Image files directly in `folder` and below, sorted by relative path."""
    return sorted(
        p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )


def index_images(folder: Path | None) -> dict[str, Path]:
    """Image key -> path for every image under `folder` (empty without one): its file name,
    or its relative path where another image under `folder` has the same file name."""
    from pingce.labeling.model import image_key

    if folder is None:
        return {}
    paths = list_images(folder)
    names: dict[str, int] = {}
    for p in paths:
        names[image_key(p.name)] = names.get(image_key(p.name), 0) + 1
    return {
        image_key(p.name) if names[image_key(p.name)] == 1 else p.relative_to(folder).as_posix(): p
        for p in paths
    }


def find_image(files: dict[str, Path], key: str) -> Path | None:
    """The file of an image key: exact, else the longest trailing part of a path key that
    names a file (``data/cam1/0001.jpg`` finds ``cam1/0001.jpg`` under the images folder)."""
    if key in files:
        return files[key]
    parts = key.split("/")
    for i in range(1, len(parts)):
        hit = files.get("/".join(parts[i:]))
        if hit is not None:
            return hit
    return None


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) in pixels from the file header; None if the file cannot be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return int(img.width), int(img.height)
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def load_rgb(path: Path) -> np.ndarray:
    """The image as an (H, W, 3) uint8 RGB array; OSError/ValueError if it is corrupt."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()  # decodes every byte, so truncated files fail here
            return np.asarray(img.convert("RGB"))
    except UnidentifiedImageError as exc:
        raise ValueError(f"not an image: {exc}") from None


def image_problem(path: Path) -> str | None:
    """Why an image file cannot be used (missing, unreadable, truncated), or None if it decodes."""
    if not path.is_file():
        return "file does not exist"
    try:
        load_rgb(path)
    except (OSError, ValueError, SyntaxError) as exc:
        return f"cannot decode: {exc}"
    return None
