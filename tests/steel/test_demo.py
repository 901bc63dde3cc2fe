"""The demo's baselines: trained offline on the training period, loadable as trusted pickles."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pingce.core.registry import demos
from pingce.core.spec import parse_subject
from pingce.steel import plugin
from pingce.steel.demo import train_baselines
from pingce.steel.generator import TARGETS


def test_baselines_train_and_predict(tmp_path: Path, heats) -> None:  # type: ignore[no-untyped-def]
    paths = train_baselines(tmp_path, heats=300, seed=1)
    assert set(paths) == {"linear", "gbm"}
    from pingce.steel.models import open_model

    frame = heats.dropna().head(20)
    for path in paths.values():
        preds = open_model(parse_subject(f"pickle:{path}"), {"trust_pickle": True}).predict(frame)
        assert set(preds) == set(TARGETS)
        assert all(np.isfinite(v).all() for v in preds.values())
    assert demos.get("80-steel") is plugin.run_steel_demo  # imports the demo module on use
