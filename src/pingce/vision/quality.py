"""Model quality tasks (classification, defects, segmentation): images -> model -> one record
per image.

A classification record keeps the image's true class and the model's class probabilities; a
defect record keeps the label, the image score and the anomaly map and mask at the task's
`map_size` (float32 / packed bits, zlib + base64), so every figure of the report, pixel AUROC
and AUPRO included, is recomputed from stored records. A segmentation record keeps the image's
class confusion matrix and boundary counts (at the ground-truth mask's resolution).
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

import numpy as np

from pingce.core.errors import ModelError
from pingce.core.execute import Outcome, WorkUnit
from pingce.vision.classification import to_probs
from pingce.vision.datasets import Sample, load_mask, load_rgb, resize, to_batch
from pingce.vision.runtime import VisionModel, first_output
from pingce.vision.tasks import ClassificationTask, DefectsTask, DetectionTask, SegmentationTask


def pack_map(arr: np.ndarray) -> str:
    return base64.b64encode(zlib.compress(arr.astype(np.float32).tobytes(), 6)).decode("ascii")


def unpack_map(text: str, size: int) -> np.ndarray:
    raw = zlib.decompress(base64.b64decode(text))
    return np.frombuffer(raw, dtype=np.float32).astype(np.float64).reshape(size, size)


def pack_mask(mask: np.ndarray) -> str:
    return base64.b64encode(zlib.compress(np.packbits(mask.astype(bool)).tobytes(), 6)).decode(
        "ascii"
    )


def unpack_mask(text: str, size: int) -> np.ndarray:
    bits = np.frombuffer(zlib.decompress(base64.b64decode(text)), dtype=np.uint8)
    return np.unpackbits(bits)[: size * size].reshape(size, size).astype(bool)


def _batch(units: list[WorkUnit], params: Any) -> np.ndarray:
    imgs = [resize(load_rgb(u.payload["sample"]), params.image_size) for u in units]
    return to_batch(imgs, list(params.mean), list(params.std))


def classification_chunk(
    units: list[WorkUnit], model: VisionModel, params: ClassificationTask, n_classes: int
) -> list[Outcome]:
    scores = np.asarray(
        first_output(model.predict(_batch(units, params)), ("prob", "logit")), dtype=np.float64
    )
    if scores.ndim == 0 or scores.shape[0] != len(units):
        raise ModelError(
            f"the model answered a batch of {len(units)} images with an output of shape {list(scores.shape)}"
        )
    scores = scores.reshape(len(units), -1)
    if scores.shape[1] != n_classes:
        raise ModelError(
            f"the model gives {scores.shape[1]} class scores per image; the task has {n_classes} classes",
            hint="set class_names in the task to the model's classes, in its output order",
        )
    if not np.isfinite(scores).all():
        raise ModelError("the model returned NaN or infinite class scores")
    probs = to_probs(scores)
    out = []
    for u, p in zip(units, probs, strict=True):
        s: Sample = u.payload["sample"]
        order = np.argsort(-p, kind="stable")
        out.append(
            Outcome(
                scores={
                    "vision_top1": float(order[0] == s.label),
                    "vision_top5": float(s.label in order[:5]),
                },
                data={"image": s.id, "label": s.label, "probs": [round(float(v), 7) for v in p]},
            )
        )
    return out


def _resize_map(m: np.ndarray, size: int) -> np.ndarray:
    if m.shape == (size, size):
        return m.astype(np.float64)
    from PIL import Image

    return np.asarray(
        Image.fromarray(m.astype(np.float32), mode="F").resize((size, size), Image.BILINEAR),
        dtype=np.float64,
    )


def defects_chunk(units: list[WorkUnit], model: VisionModel, params: DefectsTask) -> list[Outcome]:
    outputs = model.predict(_batch(units, params))
    n = len(units)
    maps = None
    score = None
    for key, val in outputs.items():
        v = np.asarray(val, dtype=np.float64)
        if v.ndim == 0 or v.shape[0] != n:
            raise ModelError(f"output {key!r} of shape {list(v.shape)} for a batch of {n} images")
        if v.ndim >= 3 and maps is None:
            maps = v.reshape(n, *v.shape[-2:]) if v.ndim == 3 or v.shape[1] == 1 else None
            if maps is None:
                raise ModelError(
                    f"output {key!r} has shape {v.shape}; an anomaly map is (N, H, W) or (N, 1, H, W)"
                )
        elif v.size == n and score is None:
            score = v.reshape(n)
    if maps is None:
        raise ModelError(
            "the model returned no anomaly map",
            hint="defect models output (N, H, W) or (N, 1, H, W) maps",
        )
    if not np.isfinite(maps).all() or (score is not None and not np.isfinite(score).all()):
        raise ModelError("the model returned NaN or infinite anomaly scores")
    if score is None:
        score = maps.reshape(n, -1).max(axis=1)
    out = []
    size = params.map_size
    for i, u in enumerate(units):
        s: Sample = u.payload["sample"]
        amap = _resize_map(maps[i], size)
        mask = resize(load_mask(s.mask, (size, size)), (size, size), nearest=True)
        out.append(
            Outcome(
                scores={},
                data={
                    "image": s.id,
                    "label": s.label,
                    "kind": s.kind,
                    "score": float(score[i]),
                    "map": pack_map(amap),
                    "mask": pack_mask(mask),
                    "size": size,
                },
            )
        )
    return out


def _class_mask(s: Sample) -> np.ndarray:
    """The ground-truth class map of a segmentation sample: an MVTec defect mask as 0/1, a
    masks/ PNG as its raw pixel values (class indices)."""
    if s.kind:  # MVTec layout: good or a defect type
        img = load_rgb(s)
        return load_mask(s.mask, img.shape[:2]).astype(np.int64)
    from PIL import Image

    with Image.open(s.mask) as im:
        return np.asarray(im if im.mode in ("L", "P", "I") else im.convert("L")).astype(np.int64)


def _nearest(pred: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if pred.shape == shape:
        return pred
    rows = (np.arange(shape[0]) * pred.shape[0] / shape[0]).astype(np.int64)
    cols = (np.arange(shape[1]) * pred.shape[1] / shape[1]).astype(np.int64)
    return pred[rows][:, cols]


def segmentation_chunk(
    units: list[WorkUnit], model: VisionModel, params: SegmentationTask, n_classes: int
) -> list[Outcome]:
    from pingce.vision.segmentation import boundary_counts, confusion

    out = np.asarray(first_output(model.predict(_batch(units, params)), ("mask", "seg", "logit")))
    n = len(units)
    if out.ndim == 4 and out.shape[0] == n:
        if out.shape[1] != n_classes:
            raise ModelError(
                f"the model gives {out.shape[1]} class channels; the task has {n_classes} classes",
                hint="set class_names in the task to the model's classes",
            )
        pred = out.argmax(axis=1)
    elif out.ndim == 3 and out.shape[0] == n:
        pred = np.rint(out).astype(np.int64)
        if pred.min() < 0 or pred.max() >= n_classes:
            raise ModelError(f"the model's class map holds classes outside 0..{n_classes - 1}")
    else:
        raise ModelError(
            f"segmentation output of shape {out.shape}; expected (N, C, H, W) scores or (N, H, W) classes"
        )
    results = []
    for i, u in enumerate(units):
        s: Sample = u.payload["sample"]
        gt = _class_mask(s)
        p = _nearest(pred[i], gt.shape)
        cm = confusion(gt, p, n_classes, params.ignore_index)
        gt_b = np.where(gt == params.ignore_index, -1, gt)
        bc = boundary_counts(gt_b, p, n_classes, params.boundary_tolerance_px)
        valid = gt != params.ignore_index
        acc = float((p[valid] == gt[valid]).mean()) if valid.any() else float("nan")
        results.append(
            Outcome(
                scores={"vision_pixel_accuracy": acc},
                data={"image": s.id, "confusion": cm.tolist(), "boundary": bc.tolist()},
            )
        )
    return results


def detection_chunk(
    units: list[WorkUnit], model: VisionModel, params: DetectionTask, classes: list[str]
) -> list[Outcome]:
    """Outputs `boxes` (N, K, 4) x0,y0,x1,y1 in input pixels, `scores` (N, K), `labels` (N, K)
    class indices; boxes with a negative score are padding."""
    outputs = model.predict(_batch(units, params))
    named = {k.lower(): np.asarray(v) for k, v in outputs.items()}
    try:
        boxes, scores, labels = (
            next(v for k, v in named.items() if name in k) for name in ("box", "score", "label")
        )
    except StopIteration:
        raise ModelError(
            f"detection outputs are named {sorted(outputs)}",
            hint="a detector outputs boxes (N,K,4), scores (N,K), labels (N,K)",
        ) from None
    n = len(units)
    if (
        boxes.shape[:1] != (n,)
        or boxes.shape[-1] != 4
        or scores.shape != boxes.shape[:2]
        or labels.shape != scores.shape
    ):
        raise ModelError(
            f"detection output shapes {boxes.shape}, {scores.shape}, {labels.shape}; expected (N,K,4), (N,K), (N,K)"
        )
    if not (np.isfinite(boxes).all() and np.isfinite(scores).all()):
        raise ModelError("the detector returned NaN or infinite boxes or scores")
    out = []
    in_h, in_w = params.image_size
    for i, u in enumerate(units):
        s: Sample = u.payload["sample"]
        h, w = load_rgb(s).shape[:2]
        sx, sy = w / in_w, h / in_h
        pred = []
        for b, sc, lab in zip(boxes[i], scores[i], labels[i], strict=True):
            if sc < 0:
                continue
            li = int(lab)
            if not 0 <= li < len(classes):
                raise ModelError(
                    f"the detector gave label {li}; the task has {len(classes)} classes"
                )
            x0, y0, x1, y1 = (float(v) for v in b)
            pred.append(
                [
                    classes[li],
                    x0 * sx,
                    y0 * sy,
                    max(0.0, x1 - x0) * sx,
                    max(0.0, y1 - y0) * sy,
                    float(sc),
                ]
            )
        out.append(
            Outcome(
                scores={},
                data={"image": s.id, "width": w, "height": h, "gold": s.boxes or [], "pred": pred},
            )
        )
    return out
