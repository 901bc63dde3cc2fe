"""Shared steel fixtures: generated heats and baselines trained on their training period."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from sklearn.linear_model import LinearRegression

from pingce.steel.generator import FEATURES, TARGETS, HeatConfig, generate_heats, time_split

HEATS, SEED = 300, 1


@pytest.fixture(scope="session")
def heats():  # type: ignore[no-untyped-def]
    """The heats the suites generate with {heats: 300, seed: 1}."""
    return generate_heats(HeatConfig(heats=HEATS, seed=SEED))


@pytest.fixture(scope="session")
def linear_models(heats):  # type: ignore[no-untyped-def]
    """{target: LinearRegression} fitted on the clean training period (first 70 % by time)."""
    frame = heats.drop_duplicates("heat_id").dropna(subset=[*FEATURES, *TARGETS])
    frame = frame[(frame["hm_temp_c"] > 1250) & (frame["oxygen_nm3"] > 0)]
    train, _test, _ = time_split(frame, 0.3)
    return {t: LinearRegression().fit(train[list(FEATURES)], train[t]) for t in TARGETS}


@pytest.fixture()
def linear_pickle(tmp_path: Path, linear_models) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "linear.pkl"
    path.write_bytes(pickle.dumps(linear_models))
    return path
