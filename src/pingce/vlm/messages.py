"""OpenAI-style chat content for a question about images: `image_url` parts (local files and
bytes become base64 data URLs, http(s) and data URLs pass through) followed by the text."""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pingce.core.errors import DataError

_MAGIC = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif", b"RIFF": "image/webp"}  # fmt: skip


def _mime(raw: bytes, name: str = "") -> str:
    for magic, mime in _MAGIC.items():
        if raw.startswith(magic):
            return mime
    guessed = mimetypes.guess_type(name)[0] if name else None
    if guessed and guessed.startswith("image/"):
        return guessed
    raise DataError(f"image {name or 'bytes'}: not a PNG, JPEG, GIF or WebP file")


def image_url(spec: str | Path | bytes) -> str:
    """The `image_url.url` for one image: a data URL for a local file or bytes, the URL itself
    for http(s) and data URLs."""
    if isinstance(spec, str) and spec.startswith(("http://", "https://", "data:image/")):
        return spec
    if isinstance(spec, bytes):
        raw, name = spec, ""
    else:
        try:
            raw, name = Path(spec).read_bytes(), str(spec)
        except (FileNotFoundError, IsADirectoryError):
            raise DataError(f"image {spec}: file not found") from None
    return f"data:{_mime(raw, name)};base64,{base64.b64encode(raw).decode('ascii')}"


def user_content(text: str, images: Sequence[str | Path | bytes]) -> list[dict[str, Any]] | str:
    """The `content` of one user message: the plain `text` without images (what text-only
    servers expect), else one `image_url` part per image and then the text part."""
    if not images:
        return text
    parts: list[dict[str, Any]] = [{"type": "image_url", "image_url": {"url": image_url(i)}} for i in images]  # fmt: skip
    parts.append({"type": "text", "text": text})
    return parts
