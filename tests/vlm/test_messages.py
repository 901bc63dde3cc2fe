"""OpenAI chat content parts for images: the data URL decodes back to the file's bytes (checked
with base64 and PIL, independently of how it was built)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest

from pingce.core.errors import DataError
from pingce.vlm.messages import image_url, user_content


def test_local_file_becomes_a_data_url_and_urls_pass_through(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "p.jpg"
    Image.new("RGB", (8, 6), (170, 120, 60)).save(path)
    content = user_content("How many parcels?", [path, "https://example.org/a.png"])
    assert isinstance(content, list) and content[-1] == {
        "type": "text",
        "text": "How many parcels?",
    }
    url = content[0]["image_url"]["url"]
    head, _, payload = url.partition(",")
    assert head == "data:image/jpeg;base64"
    raw = base64.b64decode(payload)
    assert raw == path.read_bytes() and Image.open(io.BytesIO(raw)).size == (8, 6)
    assert content[1]["image_url"]["url"] == "https://example.org/a.png"
    assert user_content("text only", []) == "text only"


def test_bad_images_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("not an image")
    with pytest.raises(DataError, match="not a PNG, JPEG, GIF or WebP"):
        image_url(tmp_path / "x.txt")
    with pytest.raises(DataError, match="file not found"):
        image_url(tmp_path / "missing.png")
    assert image_url(b"\x89PNG\r\n\x1a\n").startswith("data:image/png;base64,")
