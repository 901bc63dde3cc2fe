"""The worst detection images, as ``boxes`` report charts with gold and predicted boxes.

`gallery_item` turns one detection record into a ``boxes`` chart (see the report's
schema.json): a JPEG thumbnail of the image (at most `THUMB_PX` on its longer side) as a
data: URI, the gold and predicted boxes in the image's own pixel coordinates with their
matching status (valid, low_overlap, mismatched, missing, extra), and the image's error
counts as the caption. `gallery_section` puts the worst images of a task into one report
section, so they appear in report.html (drawn by pingce.core.report.charts.boxes_svg) and
are named one line each in report.md. `gallery_html` draws the same charts into the
standalone gallery.html that ``pingce label`` writes next to the report.
"""

from __future__ import annotations

import base64
import io
import math
from html import escape
from pathlib import Path
from typing import Any

from pingce.core.report.charts import boxes_svg
from pingce.core.report.kit import BoxesChart, Section
from pingce.labeling.rows import LabelRow

THUMB_PX = 160  # longer side of an embedded thumbnail, px: about 5 kB of JPEG each
GALLERY_MAX = 24  # images per task at most, so the report stays small


def thumbnail_uri(
    path: str | None, max_side: int = THUMB_PX
) -> tuple[str | None, tuple[int, int] | None]:
    """A JPEG data: URI of the image shrunk to fit `max_side` px, and its original (w, h).

    (None, None) when there is no path or the file is gone or does not decode.
    """
    if not path or not Path(path).is_file():
        return None, None
    from PIL import Image

    try:
        with Image.open(path) as img:
            size = (img.width, img.height)
            thumb = img.convert("RGB")
            thumb.thumbnail((max_side, max_side))  # keeps the aspect ratio
            buf = io.BytesIO()
            thumb.save(buf, format="JPEG", quality=70)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None, None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii"), size


def match_statuses(
    match: dict[str, Any], low_overlap: float
) -> tuple[dict[int, str], dict[int, str]]:
    """Matching status of each gold and predicted box index (unlisted: missing / extra)."""
    gold: dict[int, str] = {}
    pred: dict[int, str] = {}
    for g, p, iou in match.get("valid", []):
        gold[g] = pred[p] = "valid" if iou >= low_overlap else "low_overlap"
    for g, p, _ in match.get("mismatched", []):
        gold[g] = pred[p] = "mismatched"
    return gold, pred


def _box(row: list[Any], status: str, with_score: bool) -> Any:
    """A schema box from a stored row (`pingce.labeling.rows`); None if not drawable."""
    r = LabelRow.of(row)
    if any(c is None or not math.isfinite(float(c)) for c in r.bbox):
        return None
    x, y, w, h = (float(c) for c in r.bbox)
    box: Any = {
        "x": x,
        "y": y,
        "w": max(0.0, w),
        "h": max(0.0, h),
        "label": str(r.label),
        "status": status,
    }
    score = r.score
    if with_score and score is not None and math.isfinite(float(score)):
        box["score"] = float(score)
    return box


def gallery_item(rec: dict[str, Any], low_overlap: float = 0.8) -> BoxesChart:
    """The ``boxes`` chart of one detection record.

    `low_overlap` is the task's IoU below which a valid pair is drawn as low overlap.
    """
    data = rec["data"]
    uri, size = thumbnail_uri(data.get("path"))
    gold_status, pred_status = match_statuses(data.get("match") or {}, low_overlap)
    gold = [
        b
        for i, r in enumerate(data["gold"])
        if LabelRow.of(r).is_box and (b := _box(r, gold_status.get(i, "missing"), False))
    ]
    pred = [
        b
        for i, r in enumerate(data["pred"])
        if LabelRow.of(r).is_box and (b := _box(r, pred_status.get(i, "extra"), True))
    ]
    width, height = data.get("width") or 0, data.get("height") or 0
    if not (width and height):
        # Labels without sizes (YOLO without --images): the file's size, else the boxes' extent.
        width, height = size or (
            max([1.0, *(b["x"] + b["w"] for b in gold + pred)]),
            max([1.0, *(b["y"] + b["h"] for b in gold + pred)]),
        )
    s = rec.get("scores", {})
    caption = (
        f"missing {s.get('missing', 0):g} · extra {s.get('extra', 0):g} · "
        f"wrong label {s.get('mismatched', 0):g}\nlow overlap {s.get('low_overlap', 0):g}"
    )
    if "image_f1" in s:
        caption += f" · image F1 {s['image_f1']:.3f}"
    return BoxesChart(
        title=str(data["image"]),
        image=uri,
        width=float(width),
        height=float(height),
        gold=gold,
        pred=pred,
        caption=caption,
    )


def gallery_section(spec: dict[str, Any], worst: list[dict[str, Any]], n_images: int) -> Section:
    """The report section of a detection task's worst images (`worst`: records, worst first).

    At most `GALLERY_MAX` images are drawn; the text says so when the task asked for more.
    """
    asked = int(spec.get("gallery", 6))
    shown = worst[:GALLERY_MAX]
    low = float(spec.get("low_overlap_threshold", 0.8))
    text = (
        f"The {len(shown)} of {n_images} images with the most missing + extra + wrong-label boxes, "
        "worst first. Gold boxes dashed, predictions solid; colours as in each legend. Thumbnails at "
        f"most {THUMB_PX} px; hover a box for its label, score and coordinates."
    )
    if asked > GALLERY_MAX:
        text += f" The task asked for {asked}; a report shows at most {GALLERY_MAX}."
    return Section(
        id=f"{spec['id']}-gallery",
        title=f"{spec['id']}: worst images",
        title_zh="问题最多的图像",
        text=text,
        charts=[gallery_item(r, low) for r in shown],
    )


def gallery_html(charts: list[dict[str, Any]], title: str) -> str:
    """A small offline page of ``boxes`` charts (the report's CSP: no scripts, data: images)."""
    svgs = "\n".join(f"<figure>{boxes_svg(c)}</figure>" for c in charts)
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">"
        f"<title>{escape(title)}</title><style>body{{font-family:sans-serif}}figure{{display:inline-block;margin:6px;vertical-align:top}}</style>"
        f"</head><body><h1>{escape(title)}</h1>\n{svgs}\n</body></html>"
    )
