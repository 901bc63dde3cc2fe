"""How a labeling record looks in the dashboard: the image with gold (dashed) and predicted
(solid) boxes coloured by matching status, a row per box, and the image's own metrics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pingce.core.sample_view import (
    Block,
    Box,
    Fields,
    Picture,
    SampleView,
    Table,
    get_dict,
    get_list,
    get_str,
    number,
)
from pingce.labeling.gallery import match_statuses

COLUMNS = ("Image", "Boxes", "Matching")
_KIND = {
    "valid": "match",
    "low_overlap": "match",
    "mismatched": "fail",
    "missing": "missed",
    "extra": "extra",
}


def _box(row: Any, role: str, status: str) -> Box | None:
    if not isinstance(row, list) or len(row) < 5:
        return None
    coords = [number(c) for c in row[1:5]]
    if any(c is None for c in coords):
        return None
    x, y, w, h = (float(c) for c in coords)  # type: ignore[arg-type]
    score = number(row[5]) if len(row) > 5 else None
    return Box(x, y, max(0.0, w), max(0.0, h), str(row[0]), role, status, score)  # type: ignore[arg-type]


def view(data: Mapping[str, Any], scores: Mapping[str, Any]) -> SampleView:
    match = get_dict(data, "match")
    # The gallery's own matching-status rule; a malformed match falls back to the generic view.
    gold_st, pred_st = match_statuses(dict(match), 0.8)
    boxes: list[Box] = []
    rows, kinds = [], []
    for role, key, st, default in (
        ("gold", "gold", gold_st, "missing"),
        ("pred", "pred", pred_st, "extra"),
    ):
        for i, row in enumerate(get_list(data, key)):
            status = st.get(i, default)
            box = _box(row, role, status)
            if box is not None:
                boxes.append(box)
            label = row[0] if isinstance(row, list) and row else None
            text = row[6] if isinstance(row, list) and len(row) > 6 else None
            coords = [number(c) for c in row[1:5]] if isinstance(row, list) else []
            rows.append(
                (
                    role,
                    i,
                    label,
                    status,
                    *(coords + [None] * (4 - len(coords)))[:4],
                    box.score if box else None,
                    text,
                )
            )
            kinds.append(_KIND.get(status, ""))
    width = number(data.get("width")) or max([1.0, *(b.x + b.w for b in boxes)])
    height = number(data.get("height")) or max([1.0, *(b.y + b.h for b in boxes)])
    image = get_str(data, "image")
    blocks: list[Block] = [
        Picture(image or "image", int(width), int(height), tuple(boxes), get_str(data, "path")),
        Table(
            "boxes",
            ("role", "#", "label", "status", "x", "y", "w", "h", "score", "text"),
            tuple(rows),
            tuple(kinds),
        ),
    ]
    metrics = tuple((k, v) for k, v in scores.items())
    if metrics:
        blocks.append(Fields("image metrics", metrics))
    problems = get_list(data, "problems")
    if problems:
        blocks.append(Fields("problems", tuple((str(i + 1), p) for i, p in enumerate(problems))))
    n_gold, n_pred = len(get_list(data, "gold")), len(get_list(data, "pred"))
    counts = ", ".join(
        f"{k} {scores[k]:g}"
        for k in ("valid", "missing", "extra", "mismatched")
        if number(scores.get(k)) is not None
    )
    return SampleView((image, f"{n_gold} gold · {n_pred} predicted", counts or None), tuple(blocks))
