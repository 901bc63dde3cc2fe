"""Shared fixtures: a small synthetic set with exact gold, written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def synth_set(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from pingce.labeling.synthetic import SynthConfig, write_synthetic

    return write_synthetic(
        tmp_path_factory.mktemp("synth"), SynthConfig(n_images=6, seed=3, text_lines=(1, 2))
    )
