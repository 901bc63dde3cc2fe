"""Shared fixtures: an isolated store and cache per test session, and the tiny local model."""

from __future__ import annotations

from pathlib import Path

import pytest


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
