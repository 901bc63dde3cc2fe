"""`pingce compare` on two voice runs over the same trials: per-indicator paired deltas with
CIs again (a regression since trials are stored in blocks, which left nothing to pair)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pingce.core.compare import compare_runs_with_coverage
from pingce.core.store import open_store
from pingce.voice import metrics as vm
from pingce.voice.cli import run_evaluation

N = 120


def _scores(path: Path, shift: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    bona = np.arange(N) % 3 == 0
    scores = np.where(bona, 1.0 + shift, -1.0) + rng.normal(0.0, 1.0, N)
    path.write_text(
        "".join(
            f"U{i:04d} {'-' if b else 'A01'} {'bonafide' if b else 'spoof'} {s:.6f}\n"
            for i, (s, b) in enumerate(zip(scores, bona, strict=True))
        )
    )
    return np.round(scores, 6), bona


def test_two_voice_runs_compare_with_paired_eer_deltas(tmp_path: Path, pingce_cli) -> None:
    """Reference: voice.metrics.eer on each file's trials (the paired values cover every trial,
    so they equal each run's own EER)."""
    a_scores, bona = _scores(tmp_path / "a.txt", 0.0, 1)
    b_scores, _ = _scores(tmp_path / "b.txt", 1.5, 1)  # the same trials, better separated
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    task = {"id": "cm", "type": "voice.scores"}
    ids = [
        run_evaluation(f"scores:{tmp_path / f}", task, {"seed": 1}, store=store, base_dir=tmp_path)
        for f in ("a.txt", "b.txt")
    ]
    a, b = (store.get_run(i) for i in ids)
    deltas, coverage = compare_runs_with_coverage(store, a, b)
    by_metric = {d.metric: d for d in deltas}
    assert {"voice_eer", "voice_min_dcf", "voice_cllr", "voice_min_cllr"} <= set(by_metric)
    eer = by_metric["voice_eer"]
    assert eer.task == "cm" and eer.n == N and eer.method != "mcnemar"
    assert eer.value_a == pytest.approx(vm.eer(a_scores[bona], a_scores[~bona])[0])
    assert eer.value_b == pytest.approx(vm.eer(b_scores[bona], b_scores[~bona])[0])
    assert eer.delta == pytest.approx(eer.value_b - eer.value_a)
    assert eer.ci_low is not None and eer.ci_low <= eer.delta <= eer.ci_high
    assert eer.delta < 0 and eer.direction == "lower"
    (cov,) = coverage
    assert (cov.task, cov.n_a, cov.n_b, cov.n_paired) == ("cm", N, N, N)
    # the command prints the same rows and writes them as JSON
    out = tmp_path / "d.json"
    res = pingce_cli(
        ["compare", ids[0], ids[1], "--db", str(tmp_path / "s.db"), "--json", str(out)], tmp_path
    )
    assert res.returncode == 0, res.stderr
    assert "voice_eer" in res.stdout
    rows = {d["metric"]: d for d in json.loads(out.read_text())}
    assert rows["voice_eer"]["delta"] == pytest.approx(eer.delta)


def test_pair_statistics_read_lists_and_arrays_alike() -> None:
    """The registered statistics take [score, is_bona_fide] pairs as a list (core's paired
    bootstrap) or as an (n, 2) array (`on_array`); reference: voice.metrics on the classes."""
    from pingce.voice.catalogue import VOICE_METRICS

    rng = np.random.default_rng(4)
    bona, spoof = rng.normal(1, 1, 30), rng.normal(-1, 1, 50)
    arr = np.column_stack([np.r_[bona, spoof], np.r_[np.ones(30), np.zeros(50)]])
    for m in VOICE_METRICS:
        assert m.statistic(arr.tolist()) == pytest.approx(m.statistic.on_array(arr))
    eer = next(m for m in VOICE_METRICS if m.name == "voice_eer")
    assert eer.statistic(arr.tolist()) == pytest.approx(vm.eer(bona, spoof)[0])
    assert np.isnan(eer.statistic([[0.3, 1.0]]))  # one class only: no EER
