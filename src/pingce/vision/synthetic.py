"""A built-in, seeded industrial-defect set: textured surfaces with scratches, spots and
cracks, each with its exact pixel mask, written in the MVTec AD folder layout.

    ROOT/<category>/train/good/000.png
    ROOT/<category>/test/good/000.png
    ROOT/<category>/test/<defect>/000.png
    ROOT/<category>/ground_truth/<defect>/000_mask.png

A surface is a sum of oriented sinusoids (brushed metal / woven fabric) plus fine noise; a
defect is drawn by rasterising its shape into a boolean mask first and then darkening or
brightening exactly the masked pixels, so the mask is the defect, pixel for pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFECTS = ("scratch", "spot", "crack")


@dataclass(frozen=True)
class DefectSetConfig:
    category: str = "surface"
    size: int = 64
    n_train: int = 12
    n_test_good: int = 6
    n_test_per_defect: int = 4
    seed: int = 0


def texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """(size, size) float surface in [0, 1]."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    img = np.full((size, size), 0.5)
    for k in range(3):
        angle = 0.3 + k * 1.1 + rng.normal(scale=0.05)
        freq = (0.15, 0.4, 0.9)[k]
        img += (0.08 / (k + 1)) * np.sin(
            freq * (np.cos(angle) * xx + np.sin(angle) * yy) + rng.uniform(0, 6.28)
        )
    img += rng.normal(scale=0.02, size=img.shape)
    return np.clip(img, 0.0, 1.0)


def _line_mask(size: int, p0: np.ndarray, p1: np.ndarray, width: float) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    d = p1 - p0
    t = np.clip(((xx - p0[0]) * d[0] + (yy - p0[1]) * d[1]) / max(float(d @ d), 1e-9), 0, 1)
    dist = np.hypot(xx - (p0[0] + t * d[0]), yy - (p0[1] + t * d[1]))
    return dist <= width / 2


def defect_mask(rng: np.random.Generator, kind: str, size: int) -> np.ndarray:
    """The boolean mask of one defect of `kind` (never empty, never the whole image)."""
    m = np.zeros((size, size), dtype=bool)
    margin = size // 8
    if kind == "scratch":
        p0 = rng.uniform(margin, size - margin, 2)
        ang = rng.uniform(0, np.pi)
        length = rng.uniform(size * 0.3, size * 0.6)
        p1 = np.clip(p0 + length * np.array([np.cos(ang), np.sin(ang)]), 0, size - 1)
        m |= _line_mask(size, p0, p1, width=1.6)
    elif kind == "spot":
        c = rng.uniform(margin, size - margin, 2)
        r = rng.uniform(size * 0.05, size * 0.1)
        yy, xx = np.mgrid[0:size, 0:size]
        m |= (xx - c[0]) ** 2 + (yy - c[1]) ** 2 <= r * r
    elif kind == "crack":
        p = rng.uniform(margin, size - margin, 2)
        ang = rng.uniform(0, 2 * np.pi)
        for _ in range(6):
            ang += rng.normal(scale=0.6)
            q = np.clip(
                p + rng.uniform(3, size / 8) * np.array([np.cos(ang), np.sin(ang)]), 0, size - 1
            )
            m |= _line_mask(size, p, q, width=1.2)
            p = q
    else:
        raise ValueError(f"unknown defect kind {kind!r}; expected one of {DEFECTS}")
    if not m.any():
        c = size // 2
        m[c - 1 : c + 2, c - 1 : c + 2] = True
    return m


def apply_defect(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sign = -1.0 if rng.random() < 0.7 else 1.0
    out = img.copy()
    out[mask] = np.clip(out[mask] + sign * rng.uniform(0.25, 0.4), 0.0, 1.0)
    return out


def _to_png(path: Path, arr: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def write_defect_set(root: Path, cfg: DefectSetConfig = DefectSetConfig()) -> Path:
    """Write the set under `root/<category>` (root must be empty or absent); returns that
    category folder."""
    root = Path(root)
    cat = root / cfg.category
    if cat.exists() and any(cat.iterdir()):
        raise FileExistsError(
            f"{cat} exists and is not empty; pingce writes only into a new folder"
        )
    rng = np.random.default_rng(cfg.seed)

    def rgb(x: np.ndarray) -> np.ndarray:
        g = np.round(x * 255).astype(np.uint8)
        return np.stack([g, g, g], axis=-1)

    for i in range(cfg.n_train):
        _to_png(cat / "train" / "good" / f"{i:03d}.png", rgb(texture(rng, cfg.size)))
    for i in range(cfg.n_test_good):
        _to_png(cat / "test" / "good" / f"{i:03d}.png", rgb(texture(rng, cfg.size)))
    for kind in DEFECTS:
        for i in range(cfg.n_test_per_defect):
            base = texture(rng, cfg.size)
            mask = defect_mask(rng, kind, cfg.size)
            _to_png(cat / "test" / kind / f"{i:03d}.png", rgb(apply_defect(base, mask, rng)))
            _to_png(cat / "ground_truth" / kind / f"{i:03d}_mask.png", mask.astype(np.uint8) * 255)
    return cat
