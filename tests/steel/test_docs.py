"""docs/standards/steel.md lists every indicator the steel standard declares."""

from __future__ import annotations

from pathlib import Path

from pingce.core.registry import standards

PAGE = Path(__file__).resolve().parents[2] / "docs" / "standards" / "steel.md"


def test_every_steel_indicator_is_documented() -> None:
    text = PAGE.read_text(encoding="utf-8")
    missing = [i.id for i in standards.get("steel").indicators() if f"`{i.id}`" not in text]
    assert not missing, f"docs/standards/steel.md lacks {missing}"
    for suite in (
        "llm/sector/steel",
        "kg/steel-extraction",
        "steel/bof-endpoint",
        "steel/process-data",
    ):
        assert suite in text
