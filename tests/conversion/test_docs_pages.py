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


def test_documented_commands_quote_shell_metacharacters() -> None:
    """A `?` or `&` outside quotes in a documented `pingce ...` command is eaten by the shell
    (`&` backgrounds the command and cuts the model reference short; `?` globs)."""
    import re

    bad = []
    for page in sorted(DOCS.parent.rglob("*.md")):
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            cmd = line.strip().removeprefix("$ ")
            if not cmd.startswith("pingce "):
                continue
            bare = re.sub(r"'[^']*'|\"[^\"]*\"", "", cmd.split(" #", 1)[0])
            if re.search(r"[?&]", bare):
                bad.append(f"{page.relative_to(DOCS.parent)}:{n}: {cmd}")
    assert not bad, "unquoted ? or & in documented commands:\n" + "\n".join(bad)
