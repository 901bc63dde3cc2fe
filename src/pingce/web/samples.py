"""A stored record as the sample browser shows it: the standard's own view of it (see
`pingce.core.sample_view`), its scores, and whether it failed by its standard's rules.

Each standard says how its samples look (llm: prompt/output/extracted/reference and the
options; labeling: the image with its boxes; voice: the trials; data: the document and the
rules that rejected it; kg: gold and predicted triples aligned; perf, compression,
conversion: the check's rows). Nothing here marks text safe: the templates escape it all,
and images are drawn by the report's own SVG code.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pingce.core.report.render import format_number, is_number
from pingce.core.sample_failure import FailRule, sample_failed
from pingce.core.sample_view import (
    GENERIC,
    Block,
    Fields,
    Picture,
    Sound,
    Table,
    Text,
    Viewer,
    render_safely,
    viewer_for,
)
from pingce.core.store import RecordRow

IMAGE_MAX_BYTES = 20 * 1024 * 1024  # larger files are not read for a thumbnail
AUDIO_MAX_BYTES = 5 * 1024 * 1024  # larger files are not embedded in the page
THUMB_PX = 640
AUDIO_TYPES = {".wav": "audio/wav", ".flac": "audio/flac", ".mp3": "audio/mpeg", ".ogg": "audio/ogg"}  # fmt: skip


@dataclass
class SampleView:
    record_id: int
    run_id: str
    task: str
    sample_id: str
    position: int
    summary: tuple[str | None, ...]  # one short text per column of the viewer
    blocks: tuple[Block, ...]
    scores: list[tuple[str, str]]  # numeric scores, formatted, by name
    raw_scores: dict[str, Any]
    failed: bool

    @property
    def output(self) -> str | None:
        """The short text shown beside another run's record (the second column)."""
        return self.summary[1] if len(self.summary) > 1 else self.summary[0]


def viewer_of(standard_id: str | None) -> Viewer:
    """The sample viewer of a run's standard (the generic one when it is not installed)."""
    from pingce.core.registry import standards

    if not standard_id or standard_id not in standards:
        return GENERIC
    return viewer_for(standards.get(standard_id))


def sample_view(row: RecordRow, rules: Sequence[FailRule], viewer: Viewer = GENERIC) -> SampleView:
    """`row` for the templates; `rules`: its run's standard's failure rules."""
    scores = row.scores if isinstance(row.scores, dict) else {}
    numeric = {k: v for k, v in scores.items() if is_number(v)}
    view = render_safely(viewer, row.data or {}, scores)
    return SampleView(
        record_id=row.id,
        run_id=row.run_id,
        task=row.task,
        sample_id=row.sample_id,
        position=row.position,
        summary=view.summary,
        blocks=view.blocks,
        scores=[(k, format_number(v)) for k, v in sorted(numeric.items())],
        raw_scores=numeric,
        failed=sample_failed(numeric, rules),
    )


# ---- blocks as template data --------------------------------------------------------------
def block_kind(block: Block) -> str:
    return {Text: "text", Fields: "fields", Table: "table", Picture: "picture", Sound: "sound"}[type(block)]  # fmt: skip


def _inside(path: str | None, root: Path | None) -> Path | None:
    """`path` resolved, when it is a regular file under `root` (symlinks resolved first)."""
    if not path or root is None:
        return None
    try:
        resolved = Path(path).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None
    if not resolved.is_file() or not resolved.is_relative_to(root):
        return None
    return resolved


def image_uri(path: str | None, root: Path | None) -> str | None:
    """A JPEG data: URI of the image at `path` (shrunk to THUMB_PX), only when the file lies
    under the media folder and decodes as an image; else None (the boxes are drawn on a blank
    canvas). The store is untrusted: it must not make the dashboard read any other file."""
    found = _inside(path, root)
    if found is None or found.stat().st_size > IMAGE_MAX_BYTES:
        return None
    from PIL import Image

    try:
        with Image.open(found) as img:
            img = img.convert("RGB")
            img.thumbnail((THUMB_PX, THUMB_PX))
            buf = io.BytesIO()
            img.save(buf, format="JPEG", quality=80)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def audio_uri(path: str | None, root: Path | None) -> str | None:
    """A data: URI of an audio file under the media folder (WAV, FLAC, MP3, Ogg), else None."""
    found = _inside(path, root)
    if found is None or found.suffix.lower() not in AUDIO_TYPES:
        return None
    if found.stat().st_size > AUDIO_MAX_BYTES:
        return None
    data = base64.b64encode(found.read_bytes()).decode("ascii")
    return f"data:{AUDIO_TYPES[found.suffix.lower()]};base64,{data}"


def picture_svg(picture: Picture, root: Path | None) -> str:
    """The picture as the report's `boxes` chart SVG (every string escaped there)."""
    from pingce.core.report.charts import boxes_svg

    def box(b: Any) -> dict[str, Any]:
        out = {"x": b.x, "y": b.y, "w": b.w, "h": b.h, "label": b.label, "status": b.status}
        if b.score is not None:
            out["score"] = b.score
        return out

    chart = {
        "kind": "boxes",
        "title": picture.label,
        "image": image_uri(picture.path, root),
        "width": float(max(1, picture.width)),
        "height": float(max(1, picture.height)),
        "gold": [box(b) for b in picture.boxes if b.role == "gold"],
        "pred": [box(b) for b in picture.boxes if b.role == "pred"],
        "caption": "",
    }
    return boxes_svg(chart, max_side=480)
