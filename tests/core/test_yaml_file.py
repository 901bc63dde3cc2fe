"""Bounded YAML loading (pingce.core.yaml_file), checked against PyYAML's own safe_load."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pingce.core.errors import SpecError
from pingce.core.spec import builtin_suites_dir
from pingce.core.yaml_file import parse_yaml, read_yaml


def laughs(levels: int) -> str:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def test_every_builtin_suite_reads_as_safe_load_reads_it() -> None:
    """Reference: yaml.safe_load. The bounds change nothing for real suites."""
    suites = sorted(builtin_suites_dir().rglob("*.yaml"))
    assert suites
    for path in suites:
        assert read_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8")), path


def test_shared_anchors_within_the_bound_still_work() -> None:
    text = laughs(4)  # 9**4 = 6,561 leaves: a legitimate use of anchors
    assert parse_yaml(text, "s") == yaml.safe_load(text)


def test_billion_laughs_fails_fast() -> None:
    text = laughs(9)  # 9**9 = 387 million leaves from a few hundred bytes
    assert len(text.encode()) < 600
    with pytest.raises(SpecError, match=r"^s: YAML document expands to more than"):
        parse_yaml(text, "s")


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(SpecError, match="refers to itself"):
        parse_yaml("a: &a [1, *a]\n", "s")


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(SpecError, match="nested"):
        parse_yaml("a: " + "[" * 300 + "]" * 300 + "\n", "s")


def test_size_cap_and_encoding(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" + b"#" * 2000 + b"\n")
    with pytest.raises(SpecError, match="too large"):
        read_yaml(big, max_bytes=1000)
    assert read_yaml(big) == {"a": 1}
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("a: café\n".encode("latin-1"))
    with pytest.raises(
        SpecError, match=r"latin1.yaml: not UTF-8 text \(invalid byte at offset 6\)"
    ):
        read_yaml(latin1)
    with pytest.raises(SpecError, match="no such file"):
        read_yaml(tmp_path / "missing.yaml")
    with pytest.raises(SpecError, match=r"malformed YAML at line 1, column 9"):
        parse_yaml("a: [1, 2", "s")
