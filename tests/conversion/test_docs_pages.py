"""The standard pages list every indicator the standards declare."""

from pathlib import Path

import pytest

from pingce.core.registry import standards

DOCS = Path(__file__).resolve().parents[2] / "docs" / "standards"


@pytest.mark.parametrize("sid", ["conversion", "compression"])
def test_every_indicator_is_documented(sid: str) -> None:
    page = (DOCS / f"{sid}.md").read_text(encoding="utf-8")
    missing = [i.id for i in standards.get(sid).indicators() if f"`{i.id}`" not in page]
    assert not missing, f"docs/standards/{sid}.md lacks {missing}"
