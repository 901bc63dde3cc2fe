"""Shared fixtures: an isolated store and cache per test session, and the tiny local model."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
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
