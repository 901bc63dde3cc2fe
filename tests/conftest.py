"""Shared fixtures: an isolated store and cache per test session, and the tiny local model.

Tests that need a system tool say which Debian package provides it, and skip naming it when it
is missing (scripts/system-packages.sh installs them all; README "System requirements"):

    @pytest.mark.debian_package("sox", binary="sox")       # found on PATH
    @pytest.mark.debian_package("chromium", path="/usr/bin/chromium")
    @pytest.mark.debian_package("libsox-fmt-all")          # dpkg says it is installed

or, inside a fixture, a skip whose reason says "needs Debian package NAME ...; apt-get install
NAME" (what `missing_package_reason` writes). At the end of the run pytest lists the skipped
tests grouped by package. `PINGCE_TEST_HIDE_PACKAGES`
(comma-separated names) makes those packages count as missing, to check the skips.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import pytest

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def pingce_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pingce-cache")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pingce_cache: Path) -> None:
    """No test touches the user's ~/.cache/pingce or ~/.local/share/pingce."""
    monkeypatch.setenv("PINGCE_CACHE", str(pingce_cache))
    monkeypatch.setenv("PINGCE_DB", f"sqlite:///{tmp_path / 'pingce.db'}")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_model_dir(pingce_cache: Path) -> Path:
    """The demo model (tiny Qwen2 + locally trained byte-level BPE), built once per session."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    mp = pytest.MonkeyPatch()
    mp.setenv("PINGCE_CACHE", str(pingce_cache))
    try:
        from pingce.llm.demo_model import ensure_demo_model

        return ensure_demo_model()
    finally:
        mp.undo()


@pytest.fixture
def pingce_cli() -> CliRunner:
    """Run the real `python -m pingce.cli ARGS` in a subprocess (plain, wide output)."""

    def run(
        args: Sequence[str], cwd: Path, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "250"}
        return subprocess.run(
            [sys.executable, "-m", "pingce.cli", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


# ---- system packages: skip with the Debian package's name, list the skips at the end ----

# What the end summary reads in a reason that says "Debian package": the names after
# "apt-get install" (options such as -y skipped), else the list after "Debian package(s)".
INSTALL_HINT = re.compile(r"apt-get install(?: +-\S+)*((?: +[a-z0-9][a-z0-9+.-]*)+)")
_NAME = r"[a-z0-9][a-z0-9+.-]*[a-z0-9+]"
PACKAGE_LIST = re.compile(rf"Debian packages? ({_NAME}(?:(?:, | and ){_NAME})*)")


def missing_package_reason(missing: Sequence[tuple[str, str]]) -> str:
    """One line naming each missing Debian package (and why it counts as missing)."""
    names = [p for p, _ in missing]
    listed = ", ".join(f"{p} ({why})" if why else p for p, why in missing)
    plural = "s" if len(names) > 1 else ""
    return f"needs Debian package{plural} {listed}; apt-get install {' '.join(names)}"


@cache
def _dpkg_installed(package: str) -> bool:
    if shutil.which("dpkg-query") is None:
        return True  # not Debian: the binary/path checks are all we can do
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
    )
    return proc.returncode == 0 and "install ok installed" in proc.stdout


def package_missing(package: str, binary: str | None = None, path: str | None = None) -> str:
    """Why `package` counts as missing here ("" when it is present)."""
    hidden = {p.strip() for p in os.environ.get("PINGCE_TEST_HIDE_PACKAGES", "").split(",")}
    if package in hidden:
        return "hidden by PINGCE_TEST_HIDE_PACKAGES"
    if binary is not None and shutil.which(binary) is None:
        return f"no {binary} on PATH"
    if path is not None and not Path(path).exists():
        return f"no {path}"
    if binary is None and path is None and not _dpkg_installed(package):
        return "not installed"
    return ""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "debian_package(name, binary=None, path=None): skip, naming the package, when the "
        "binary is not on PATH, the path does not exist, or (neither given) dpkg lacks it",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    missing = []
    for mark in item.iter_markers("debian_package"):
        package = mark.args[0]
        why = package_missing(package, mark.kwargs.get("binary"), mark.kwargs.get("path"))
        if why and package not in {p for p, _ in missing}:
            missing.append((package, why))
    if missing:
        pytest.skip(missing_package_reason(missing))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    counts: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        if "Debian package" not in reason:
            continue
        match = INSTALL_HINT.search(reason)
        if match:
            counts.update(set(match.group(1).split()))
        elif match := PACKAGE_LIST.search(reason):
            counts.update(set(re.split(r", | and ", match.group(1))))
    if not counts:
        return
    terminalreporter.section("skipped for missing Debian packages")
    for package, n in sorted(counts.items()):
        terminalreporter.line(f"{package}: {n} test{'s' if n > 1 else ''} skipped")
    terminalreporter.line(
        "install them (as root): apt-get install --no-install-recommends "
        + " ".join(sorted(counts))
        + "   # or: bash scripts/system-packages.sh"
    )
