"""Gallery items: an image with its gold and predicted boxes, as data and as inline SVG.

An item is a dict (the shape proposed for a ``boxes`` report chart kind)::

    {"kind": "boxes", "title": str, "width": int, "height": int,
     "image": "data:image/jpeg;base64,..." | None,
     "boxes": [{"x", "y", "w", "h", "label", "role": "gold"|"pred",
                "status": "valid"|"low_overlap"|"mismatched"|"missing"|"extra"}]}

`boxes_svg` draws one: the downscaled image (when its file still exists), gold boxes dashed,
predicted boxes solid, coloured by status. Text is escaped; the only URI is the data: image,
which the report's Content-Security-Policy (``img-src data:``) allows.
"""

from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path
from typing import Any

COLOURS = {
    "valid": "#1f77b4",
    "low_overlap": "#17becf",
    "mismatched": "#ff7f0e",
    "missing": "#d62728",
    "extra": "#d62728",
}


def thumbnail_uri(path: str | None, max_side: int = 200) -> tuple[str | None, float]:
    """A JPEG data: URI of the image downscaled to `max_side` px, and the scale used."""
    if not path or not Path(path).is_file():
        return None, 1.0
    from PIL import Image

    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            scale = min(1.0, max_side / max(img.width, img.height))
            if scale < 1.0:
                img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))))  # fmt: skip
            buf = io.BytesIO()
            img.save(buf, format="JPEG", quality=70)
    except OSError:
        return None, 1.0
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii"), scale


def gallery_item(rec: dict[str, Any], max_side: int = 200) -> dict[str, Any]:
    """The gallery item of one detection record (boxes scaled to the thumbnail)."""
    data = rec["data"]
    w, h = data.get("width") or 0, data.get("height") or 0
    uri, scale = thumbnail_uri(data.get("path"), max_side)
    if uri is None and w and h:
        scale = min(1.0, max_side / max(w, h))
    m = data.get("match") or {}
    gold_status = {g: "valid" for g, _, _ in m.get("valid", [])}
    pred_status = {p: ("valid" if v >= 0.8 else "low_overlap") for _, p, v in m.get("valid", [])}
    for g, p, _ in m.get("mismatched", []):
        gold_status[g], pred_status[p] = "mismatched", "mismatched"
    boxes = []
    for role, rows, status, default in (("gold", data["gold"], gold_status, "missing"), ("pred", data["pred"], pred_status, "extra")):  # fmt: skip
        for i, r in enumerate(rows):
            if r[1] is None:
                continue
            boxes.append({"x": r[1] * scale, "y": r[2] * scale, "w": r[3] * scale, "h": r[4] * scale, "label": str(r[0]), "role": role, "status": status.get(i, default)})  # fmt: skip
    scores = rec.get("scores", {})
    title = f"{data['image']} · missing {scores.get('missing', 0):g}, extra {scores.get('extra', 0):g}, mismatched {scores.get('mismatched', 0):g}"  # fmt: skip
    return {"kind": "boxes", "title": title, "width": round(w * scale), "height": round(h * scale), "image": uri, "boxes": boxes}  # fmt: skip


def boxes_svg(item: dict[str, Any]) -> str:
    """One gallery item as a standalone inline SVG element."""
    w, h = max(1, int(item["width"])), max(1, int(item["height"]))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h + 16}" viewBox="0 0 {w} {h + 16}" role="img"><title>{escape(item["title"])}</title>']  # fmt: skip
    if item.get("image"):
        parts.append(f'<image href="{escape(item["image"])}" x="0" y="0" width="{w}" height="{h}"/>')  # fmt: skip
    else:
        parts.append(f'<rect x="0" y="0" width="{w}" height="{h}" fill="#eee"/>')
    for b in item["boxes"]:
        colour = COLOURS.get(b["status"], "#333")
        dash = ' stroke-dasharray="4 2"' if b["role"] == "gold" else ""
        colour = "#2ca02c" if b["role"] == "gold" and b["status"] == "valid" else colour
        parts.append(
            f'<rect x="{b["x"]:.1f}" y="{b["y"]:.1f}" width="{b["w"]:.1f}" height="{b["h"]:.1f}" fill="none" stroke="{colour}" stroke-width="1.5"{dash}>'  # fmt: skip
            f"<title>{escape(b['role'])} {escape(b['label'])}: {escape(b['status'])}</title></rect>"
        )
    parts.append(f'<text x="2" y="{h + 12}" font-size="10" font-family="sans-serif">{escape(item["title"][:60])}</text></svg>')  # fmt: skip
    return "".join(parts)


def gallery_html(items: list[dict[str, Any]], title: str) -> str:
    """A small offline page of gallery SVGs (same CSP as the report: no scripts, data: images)."""
    svgs = "\n".join(f"<figure>{boxes_svg(i)}</figure>" for i in items)
    legend = "gold: dashed (green matched, red missing); predicted: solid (blue valid, cyan low overlap, orange wrong label, red extra)"  # fmt: skip
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">"  # fmt: skip
        f"<title>{escape(title)}</title><style>body{{font-family:sans-serif}}figure{{display:inline-block;margin:6px}}</style>"  # fmt: skip
        f"</head><body><h1>{escape(title)}</h1><p>{escape(legend)}</p>\n{svgs}\n</body></html>"
    )
