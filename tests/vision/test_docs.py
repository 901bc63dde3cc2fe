"""docs/standards/vision.md lists every indicator the vision standard declares, and every
built-in vision suite loads and validates."""

from __future__ import annotations

from pathlib import Path

from pingce.core.registry import standards
from pingce.core.spec import load_suite

PAGE = Path(__file__).resolve().parents[2] / "docs" / "standards" / "vision.md"
SUITES = (
    "vision/classification",
    "vision/defects",
    "vision/continual",
    "vision/framestream",
    "vision/conformance",
)


def test_every_vision_indicator_is_documented() -> None:
    text = PAGE.read_text(encoding="utf-8")
    missing = [i.id for i in standards.get("vision").indicators() if f"`{i.id}`" not in text]
    assert not missing, f"docs/standards/vision.md lacks {missing}"


def test_builtin_suites_validate() -> None:
    for name in SUITES:
        suite = load_suite(name)
        assert suite.spec.standard == "vision"
        assert f"`{name}`" in PAGE.read_text(encoding="utf-8")
