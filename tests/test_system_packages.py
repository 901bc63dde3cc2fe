"""The Debian-package skips of tests/conftest.py: a test whose package is missing skips with a
one-line reason naming it, the end-of-run summary groups the skips by package, and nothing
fails. Checked in a child pytest on a copy of the conftest, with a package name that does not
exist, a binary hidden from PATH, and PINGCE_TEST_HIDE_PACKAGES."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CHILD = """
import pytest

@pytest.mark.debian_package("pingce-no-such-package", binary="pingce-no-such-binary")
def test_missing_binary():
    raise AssertionError("must not run")

@pytest.mark.debian_package("pingce-no-such-package", path="/nonexistent/pingce")
@pytest.mark.debian_package("python3", binary="python")
def test_missing_path():
    raise AssertionError("must not run")

@pytest.mark.debian_package("python3", binary="python")
def test_present():
    pass

@pytest.mark.debian_package("sox", binary="sox")
def test_sox():
    pass

def test_fixture_skip():
    pytest.skip("needs Debian package pingce-other (no server); apt-get install pingce-other")

def test_free_form_skip():
    pytest.skip("needs the pages (Debian packages pingce-a, pingce-b and pingce-c)")
"""


def _run(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    shutil.copy(Path(__file__).parent / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_child.py").write_text(CHILD, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_missing_packages_skip_and_are_summarised(tmp_path: Path) -> None:
    # PATH without any sox: an empty folder plus the folder of the interpreter
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = _run(tmp_path, {"PATH": f"{empty}{os.pathsep}{Path(sys.executable).parent}"})
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "1 passed, 5 skipped" in out
    assert (
        "needs Debian package pingce-no-such-package (no pingce-no-such-binary on PATH); "
        "apt-get install pingce-no-such-package" in out
    )
    assert "needs Debian package pingce-no-such-package (no /nonexistent/pingce)" in out
    assert "needs Debian package sox (no sox on PATH); apt-get install sox" in out
    summary = out.split("skipped for missing Debian packages", 1)[1]
    assert "pingce-no-such-package: 2 tests skipped" in summary
    assert "pingce-other: 1 test skipped" in summary and "sox: 1 test skipped" in summary
    assert "python3" not in summary
    for name in ("pingce-a", "pingce-b", "pingce-c"):
        assert f"{name}: 1 test skipped" in summary


def test_hidden_package_counts_as_missing(tmp_path: Path) -> None:
    proc = _run(tmp_path, {"PINGCE_TEST_HIDE_PACKAGES": "python3"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "needs Debian package python3 (hidden by PINGCE_TEST_HIDE_PACKAGES)" in proc.stdout
    assert "python3: 2 tests skipped" in proc.stdout
