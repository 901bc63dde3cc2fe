"""How a vision record looks in the dashboard, by task kind:

- classification: the image id, its label and the top predicted classes with probabilities;
- defects: the image's label and anomaly score, and the defect mask's extent drawn as a gold
  box over the image's size (the stored mask, decoded with a bounded decompression);
- detection: gold and predicted boxes ([label, x, y, w, h, score]) over the image's size;
- segmentation and the rest: the record's fields.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Mapping
from typing import Any

from pingce.core.sample_view import (
    Block,
    Box,
    Fields,
    Picture,
    SampleView,
    Table,
    flatten,
    get_list,
    get_str,
    number,
)

COLUMNS = ("Image", "Label", "Result")
TOP_K = 5
_BIG = ("map", "mask", "probs", "confusion", "boundary", "gold", "pred")


def _mask_box(text: Any, size: int) -> tuple[float, float, float, float] | None:
    """The bounding box of a packed-bit defect mask (zlib + base64), or None. At most
    size*size/8 bytes are inflated, so a hostile record cannot exhaust memory."""
    if not isinstance(text, str) or not 0 < size <= 4096:
        return None
    import numpy as np

    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.b64decode(text, validate=True), (size * size + 7) // 8)
    except (binascii.Error, ValueError, zlib.error):
        return None
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8))[: size * size]
    if bits.size != size * size or not bits.any():
        return None
    ys, xs = np.nonzero(bits.reshape(size, size))
    return float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)  # fmt: skip


def _boxes(rows: list[Any], role: str) -> list[Box]:
    out = []
    for row in rows:
        if isinstance(row, list) and len(row) >= 5:
            coords = [number(c) for c in row[1:5]]
            if all(c is not None for c in coords):
                x, y, w, h = (float(c) for c in coords)  # type: ignore[arg-type]
                score = number(row[5]) if len(row) > 5 else None
                status = "missing" if role == "gold" else "extra"
                out.append(Box(x, y, w, h, str(row[0]), role, status, score))  # type: ignore[arg-type]
    return out


def view(data: Mapping[str, Any], scores: Mapping[str, Any]) -> SampleView:
    image = get_str(data, "image")
    blocks: list[Block] = []
    label = data.get("label")
    result = None
    probs = [number(p) for p in get_list(data, "probs")]
    if probs and all(p is not None for p in probs):
        ranked = sorted(range(len(probs)), key=lambda i: -probs[i])[:TOP_K]  # type: ignore[operator]
        rows = tuple((i, probs[i], "label" if i == label else "") for i in ranked)
        kinds = tuple("match" if i == label else "" for i in ranked)
        blocks.append(
            Table(f"top {len(ranked)} classes", ("class", "probability", ""), rows, kinds)
        )
        result = f"top-1 class {ranked[0]}"
    size = data.get("size")
    if isinstance(size, int) and "mask" in data:
        box = _mask_box(data.get("mask"), size)
        boxes = [Box(*box, get_str(data, "kind") or "defect", "gold", "missing")] if box else []
        blocks.append(Picture(image or "image", size, size, tuple(boxes)))
        score = number(data.get("score"))
        result = None if score is None else f"anomaly score {score:.4g}"
    gold, pred = _boxes(get_list(data, "gold"), "gold"), _boxes(get_list(data, "pred"), "pred")
    if gold or pred:
        w = number(data.get("width")) or max([1.0, *(b.x + b.w for b in gold + pred)])
        h = number(data.get("height")) or max([1.0, *(b.y + b.h for b in gold + pred)])
        blocks.append(Picture(image or "image", int(w), int(h), tuple(gold + pred)))
        result = f"{len(gold)} gold · {len(pred)} predicted"
    rest = {k: v for k, v in data.items() if k not in _BIG}
    if rest:
        blocks.append(Fields("record", tuple(flatten(rest))))
    if scores:
        blocks.append(Fields("scores", tuple(scores.items())))
    return SampleView((image, None if label is None else str(label), result), tuple(blocks))
