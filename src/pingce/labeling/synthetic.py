"""Synthetic images with exact ground truth, for detection, classification and segmentation.

Each image is a textured, low-saturation background (smooth noise, grain and faint stripes)
with saturated shapes (circle, square, triangle) and dark text lines drawn without
anti-aliasing, so every label is exact: a shape's box is the tight box of its own pixels
(``x, y`` its first column/row, ``w, h`` its pixel extent), a text line's box is the tight box
of its ink. The segmentation mask holds the shape class per pixel (0 = background; text is
not a segmentation class). The image-level class is the class of the largest shape.
Everything is deterministic for a given seed (numpy's default_rng and Pillow's drawing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SHAPES = ("circle", "square", "triangle")
TEXT = "text"
SEG_CLASSES = ("background", *SHAPES)
WORDS = (
    "LABEL",
    "pingce",
    "Shape",
    "QUALITY",
    "data",
    "AUTO",
    "test",
    "Box",
    "2026",
    "index",
    "VISION",
    "sample",
    "GOLD",
    "check",
    "Model",
    "42",
    "frame",
    "CLASS",
    "point",
    "Image",
)


@dataclass(frozen=True)
class SynthConfig:
    n_images: int = 12
    width: int = 256
    height: int = 192
    seed: int = 0
    min_shapes: int = 1
    max_shapes: int = 4
    min_size: int = 14  # shape side in pixels
    max_size: int = 96
    text_lines: tuple[int, int] = (0, 2)  # min, max per image
    font_px: tuple[int, int] = (16, 22)
    # Difficulty: share of shapes drawn in pale (low-saturation) colours, and up to this many
    # saturated scribbles per image that are not objects (a detector's false positives).
    faint_rate: float = 0.0
    distractors: int = 0


@dataclass
class SynthObject:
    label: str
    bbox: tuple[int, int, int, int]  # x, y, w, h of its pixels
    text: str | None = None


@dataclass
class SynthImage:
    key: str
    rgb: np.ndarray  # (H, W, 3) uint8
    objects: list[SynthObject] = field(default_factory=list)
    mask: np.ndarray | None = None  # (H, W) class index into SEG_CLASSES
    image_class: str = ""


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    base = rng.uniform(150, 215)
    tint = rng.uniform(-8, 8, size=3)
    coarse = rng.normal(0, 14, size=(h // 32 + 2, w // 32 + 2))
    # Smooth noise: bilinear upsampling of a coarse grid.
    ys, xs = np.linspace(0, coarse.shape[0] - 1.001, h), np.linspace(0, coarse.shape[1] - 1.001, w)
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    smooth = (
        coarse[y0][:, x0] * (1 - fy) * (1 - fx)
        + coarse[y0 + 1][:, x0] * fy * (1 - fx)
        + coarse[y0][:, x0 + 1] * (1 - fy) * fx
        + coarse[y0 + 1][:, x0 + 1] * fy * fx
    )
    period = rng.uniform(6, 14)
    stripes = 5 * np.sin((np.arange(w)[None, :] + np.arange(h)[:, None] * 0.5) * 2 * np.pi / period)
    grain = rng.normal(0, 4, size=(h, w))
    grey = base + smooth + stripes + grain
    img = grey[:, :, None] + tint[None, None, :]
    return np.clip(img, 0, 255).astype(np.uint8)


def _colour(rng: np.random.Generator, faint: bool = False) -> tuple[int, int, int]:
    import colorsys

    sat = rng.uniform(0.2, 0.35) if faint else rng.uniform(0.75, 1.0)
    r, g, b = colorsys.hsv_to_rgb(rng.uniform(0, 1), sat, rng.uniform(0.55, 0.9))
    return int(r * 255), int(g * 255), int(b * 255)


def _free(
    box: tuple[int, int, int, int], taken: list[tuple[int, int, int, int]], gap: int = 4
) -> bool:
    x, y, w, h = box
    return all(
        x + w + gap <= tx or tx + tw + gap <= x or y + h + gap <= ty or ty + th + gap <= y
        for tx, ty, tw, th in taken
    )


def _tight(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def _shape_mask(
    label: str, h: int, w: int, x: int, y: int, s: int, rng: np.random.Generator
) -> np.ndarray:
    from PIL import Image, ImageDraw

    layer = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(layer)
    if label == "circle":
        draw.ellipse([x, y, x + s - 1, y + s - 1], fill=255)
    elif label == "square":
        draw.rectangle([x, y, x + s - 1, y + s - 1], fill=255)
    else:
        apex = x + int(rng.uniform(0.3, 0.7) * (s - 1))
        draw.polygon([(apex, y), (x, y + s - 1), (x + s - 1, y + s - 1)], fill=255)
    return np.asarray(layer) > 0


def _text_mask(word: str, h: int, w: int, x: int, y: int, px: int) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    layer = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(layer)
    draw.fontmode = "1"  # no anti-aliasing: ink pixels are exact
    draw.text((x, y), word, fill=255, font=ImageFont.load_default(size=px))
    return np.asarray(layer) > 0


def generate_image(cfg: SynthConfig, index: int) -> SynthImage:
    """Image `index` of the set (independent of the others, so sets of any size agree)."""
    rng = np.random.default_rng([cfg.seed, index])
    h, w = cfg.height, cfg.width
    rgb = _background(rng, h, w)
    seg = np.zeros((h, w), dtype=np.int32)
    out = SynthImage(key=f"synth_{cfg.seed}_{index:04d}.png", rgb=rgb, mask=seg)
    taken: list[tuple[int, int, int, int]] = []
    areas: list[tuple[int, str]] = []
    for _ in range(int(rng.integers(cfg.min_shapes, cfg.max_shapes + 1))):
        for _attempt in range(30):
            s = int(rng.integers(cfg.min_size, min(cfg.max_size, h - 2, w - 2) + 1))
            x, y = int(rng.integers(1, w - s)), int(rng.integers(1, h - s))
            if _free((x, y, s, s), taken):
                break
        else:
            continue
        label = SHAPES[int(rng.integers(len(SHAPES)))]
        m = _shape_mask(label, h, w, x, y, s, rng)
        rgb[m] = _colour(rng, faint=bool(rng.uniform() < cfg.faint_rate))
        seg[m] = SEG_CLASSES.index(label)
        box = _tight(m)
        taken.append((x, y, s, s))
        areas.append((int(m.sum()), label))
        out.objects.append(SynthObject(label, box))
    lo, hi = cfg.text_lines
    for _ in range(int(rng.integers(lo, hi + 1))):
        px = int(rng.integers(cfg.font_px[0], cfg.font_px[1] + 1))
        word = " ".join(
            WORDS[int(i)] for i in rng.integers(len(WORDS), size=int(rng.integers(1, 3)))
        )
        for _attempt in range(30):
            x, y = int(rng.integers(2, max(3, w // 2))), int(rng.integers(2, h - px - 4))
            m = _text_mask(word, h, w, x, y, px)
            if m.any():
                box = _tight(m)
                if box[0] + box[2] < w - 2 and _free(box, taken, gap=6):
                    break
        else:
            continue
        rgb[m] = np.asarray([int(v) for v in rng.integers(15, 60, size=3)], dtype=np.uint8)
        taken.append(box)
        out.objects.append(SynthObject(TEXT, box, word))
    for _ in range(int(rng.integers(0, cfg.distractors + 1))):
        _scribble(rgb, taken, rng)
    out.image_class = max(areas)[1] if areas else "none"
    return out


def _scribble(
    rgb: np.ndarray, taken: list[tuple[int, int, int, int]], rng: np.random.Generator
) -> None:
    """A saturated zig-zag line in free space: not an object, so any box on it is extra."""
    from PIL import Image, ImageDraw

    h, w = rgb.shape[:2]
    for _attempt in range(30):
        x, y = int(rng.integers(2, w - 40)), int(rng.integers(2, h - 30))
        if _free((x, y, 38, 28), taken):
            break
    else:
        return
    layer = Image.new("L", (w, h), 0)
    pts = [(x + 6 * i, y + (0 if i % 2 else 24)) for i in range(7)]
    ImageDraw.Draw(layer).line(pts, fill=255, width=3)
    rgb[np.asarray(layer) > 0] = _colour(rng)
    taken.append((x, y, 38, 28))


def generate(cfg: SynthConfig) -> list[SynthImage]:
    return [generate_image(cfg, i) for i in range(cfg.n_images)]


def gold_labels(images: list[SynthImage], kind: str = "detection"):  # noqa: ANN201
    """The exact labels as a `LabelSet` of the given kind."""
    from pingce.labeling.model import Annotation, ImageInfo, LabelSet

    if kind == "segmentation":
        ls = LabelSet(kind="segmentation", categories=list(SEG_CLASSES), source="synthetic")
    elif kind == "classification":
        ls = LabelSet(kind="classification", categories=list(SHAPES), source="synthetic")
    else:
        ls = LabelSet(kind="detection", categories=[*SHAPES, TEXT], source="synthetic")
    for im in images:
        h, w = im.rgb.shape[:2]
        ls.add_image(ImageInfo(im.key, im.key, w, h))
        if kind == "segmentation":
            ls.masks[im.key] = im.mask  # type: ignore[assignment]
        elif kind == "classification":
            ls.annotations.append(Annotation(im.key, im.image_class))
        else:
            for n, o in enumerate(im.objects):
                ls.annotations.append(
                    Annotation(im.key, o.label, tuple(map(float, o.bbox)), text=o.text, id=n)
                )  # type: ignore[arg-type]
    return ls


def write_synthetic(out_dir: Path, cfg: SynthConfig) -> dict[str, Path]:
    """Write images/ and the gold labels: detection COCO, classification CSV, PNG masks."""
    from PIL import Image

    from pingce.labeling.formats import write_labels

    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    images = generate(cfg)
    for im in images:
        Image.fromarray(im.rgb).save(out_dir / "images" / im.key)
    paths = {
        "images": out_dir / "images",
        "detection": out_dir / "gold" / "detection.coco.json",
        "classification": out_dir / "gold" / "classification.csv",
        "segmentation": out_dir / "gold" / "masks",
    }
    write_labels(gold_labels(images, "detection"), paths["detection"], "coco")
    write_labels(gold_labels(images, "classification"), paths["classification"], "csv")
    write_labels(gold_labels(images, "segmentation"), paths["segmentation"], "masks")
    return paths
