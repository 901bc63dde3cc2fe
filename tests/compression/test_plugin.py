"""Registration of the compression and conversion standards (plugin.py): namespaced task types
in the core registry with the old names as aliases, built-in YAML suites that validate, and
one-line errors for a type of another standard."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pingce.core.errors import SpecError
from pingce.core.registry import load_plugins, task_types
from pingce.core.spec import load_suite, suite_from_dict

pytest.importorskip("onnx")


def test_task_types_are_namespaced_and_old_names_are_aliases() -> None:
    load_plugins()
    for std, kinds in (
        ("compression", ("size", "accuracy", "latency")),
        ("conversion", ("checks", "numerics", "shapes", "divergence", "performance", "zoo")),
    ):
        for kind in kinds:
            new, old = f"{std}.{kind}", f"{std}-{kind}"
            assert new in task_types.names()
            assert old not in task_types.names()  # an alias is not listed
            assert task_types.get(old) is task_types.get(new)


def test_builtin_suites_validate(tmp_path: Path) -> None:
    load_plugins()
    from pingce.core.registry import standards

    for name in ("compression/test", "conversion/verify", "conversion/zoo"):
        suite = load_suite(name)
        standards.get(suite.spec.standard).validate_suite(suite)
    # a suite written with the old type names still validates
    legacy = suite_from_dict(
        {
            "standard": "compression",
            "name": "old",
            "tasks": [{"id": "a", "type": "compression-size", "variant": "v"}],
        },
        "test",
        tmp_path,
    )
    standards.get("compression").validate_suite(legacy)
    foreign = {
        "standard": "compression",
        "name": "foreign",
        "tasks": [{"id": "a", "type": "conversion.checks"}],
    }
    with pytest.raises(SpecError, match="task a: unknown type 'conversion.checks'") as info:
        standards.get("compression").validate_suite(suite_from_dict(foreign, "test", tmp_path))
    assert "compression.size" in (info.value.hint or "")


def test_pingce_validate_accepts_the_builtin_suites() -> None:
    # compression/llm is an llm-standard suite (what `pingce compress llm` runs on both models)
    for name in ("compression/test", "compression/llm", "conversion/verify", "conversion/zoo"):
        proc = subprocess.run(
            [sys.executable, "-m", "pingce.cli", "validate", name],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
