"""The docs must list every indicator a standard declares (so users can trust the page)."""

from pathlib import Path

from pingce.core.registry import standards

DOCS = Path(__file__).resolve().parents[1] / "docs" / "standards"


def test_every_llm_indicator_is_documented() -> None:
    pages = "".join(
        (DOCS / name).read_text(encoding="utf-8")
        for name in ("llm.md", "llm-benchmarks.md", "llm-served.md")
    )
    missing = [ind.id for ind in standards.get("llm").indicators() if f"`{ind.id}`" not in pages]
    assert not missing, f"docs/standards/llm*.md lack indicators: {missing}"
