"""Score files at ASVspoof 5 scale (issue 24): the bootstrap resamples index vectors over
arrays, each trial is stored once, and the column reader agrees with the line reader.

References: the step-curve EER / minDCF of `pingce.voice.metrics` (hand-checked against the
ASVspoof reference semantics in test_metrics.py) on each expanded resample, and the list path
of `pingce.core.stats.estimate` with the registered [score, label] statistics. Timing belongs
to benchmarks/voice_scale.py, not here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from pingce.core.stats import estimate, estimates_indexed
from pingce.core.store import open_store
from pingce.voice import metrics as vm
from pingce.voice.indicators import BY_NAME, eer_min_dcf_resampler
from pingce.voice.trials import load_table


def test_weighted_det_equals_the_step_curve_on_every_resample() -> None:
    """Random resamples with tied scores and repeated trials: EER and minDCF from counts over
    the once-sorted trials equal those of the expanded, re-sorted resample."""
    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(400):
        n = int(rng.integers(2, 200))
        scores = np.round(rng.normal(0, 1, n), int(rng.integers(0, 3)))
        bona = rng.random(n) < 0.4
        order = vm.reference_order(scores, bona)
        idx = rng.integers(0, n, n)
        e, d = vm.weighted_eer_min_dcf(bona[order], np.bincount(idx, minlength=n)[order])
        b, s = scores[idx][bona[idx]], scores[idx][~bona[idx]]
        if b.size == 0 or s.size == 0:
            assert np.isnan(e) and np.isnan(d)
            continue
        assert e == pytest.approx(vm.eer(b, s)[0], abs=1e-12)
        assert d == pytest.approx(vm.min_dcf(b, s)[0], abs=1e-9)
        checked += 1
    assert checked > 300


def test_array_bootstrap_reproduces_the_list_bootstrap() -> None:
    """The report's EER/minDCF CIs (index vectors over arrays) equal the former path: a
    Python list of [score, label] pairs per resample through the registered statistics."""
    rng = np.random.default_rng(8)
    n = 400
    bona = rng.random(n) < 0.3
    scores = np.where(bona, rng.normal(1.0, 1.0, n), rng.normal(-1.0, 1.0, n)).round(2)
    pairs = [[float(s), 1.0 if b else 0.0] for s, b in zip(scores, bona, strict=True)]
    ours = estimates_indexed(n, eer_min_dcf_resampler(scores, bona), n_resamples=200, seed=1234)
    for est, name in zip(ours, ("voice_eer", "voice_min_dcf"), strict=True):
        ref = estimate(pairs, BY_NAME[name].statistic, n_resamples=200, seed=1234)
        assert est.value == pytest.approx(ref.value, abs=1e-12)
        assert (est.ci_low, est.ci_high) == pytest.approx((ref.ci_low, ref.ci_high), abs=1e-9)
        assert est.stderr == pytest.approx(ref.stderr, abs=1e-9)


def _score_file(path: Path, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    bona = rng.random(n) < 0.2
    scores = np.where(bona, rng.normal(1.5, 1.0, n), rng.normal(-1.0, 1.2, n))
    attacks = [f"A{1 + i % 4:02d}" for i in range(n)]
    path.write_text(
        "".join(
            f"T{i:06d} {'-' if b else attacks[i]} {'bonafide' if b else 'spoof'} {float(s)!r}\n"
            for i, (b, s) in enumerate(zip(bona, scores, strict=True))
        )
    )
    return scores, bona


def test_each_trial_is_stored_once_in_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A score file becomes one record per block of trials (not one per trial with the pair
    copied under every metric name); the report recomputed from them equals the metrics on
    the raw arrays, and a second run resumes every block."""
    from pingce.voice import tasks
    from pingce.voice.cli import run_evaluation

    monkeypatch.setattr(tasks, "BLOCK", 700)
    scores, bona = _score_file(tmp_path / "cm.txt", 2500)
    store = open_store(os.environ["PINGCE_DB"])
    task = {"id": "cm", "type": "voice-scores", "title": "CM"}
    rid = run_evaluation(
        f"scores:{tmp_path / 'cm.txt'}", task, {"seed": 3}, store=store, base_dir=tmp_path
    )
    recs = store.records(rid)
    assert len(recs) == 4  # 700 + 700 + 700 + 400 trials
    assert all(r.scores == {} for r in recs)  # no [score, label] pair per metric name
    assert sum(r.data["trials"] for r in recs) == 2500
    m = store.get_run(rid).results["tasks"][0]["metrics"]
    b, s = scores[bona], scores[~bona]
    assert m["voice_eer"]["value"] == pytest.approx(vm.eer(b, s)[0])
    assert m["voice_min_cllr"]["value"] == pytest.approx(vm.min_cllr(b, s))
    assert m["voice_eer"]["ci_low"] <= m["voice_eer"]["value"] <= m["voice_eer"]["ci_high"]
    groups = store.get_run(rid).results["extra"]["cm"]["groups"]
    a01 = next(g for g in groups if g["value"] == "A01")
    spoof_a01 = np.array([s for i, s in enumerate(scores) if not bona[i] and i % 4 == 0])
    assert a01["metrics"]["eer"] == pytest.approx(vm.eer(b, spoof_a01)[0])
    again = run_evaluation(
        f"scores:{tmp_path / 'cm.txt'}", task, {"seed": 3}, store=store, base_dir=tmp_path
    )
    assert store.get_run(again).results["tasks"][0]["metrics"]["voice_eer"] == m["voice_eer"]


def test_column_reader_equals_line_reader(tmp_path: Path) -> None:
    """The fast column reader (plain layouts) and the line reader (here forced by a comment
    line) give the same trials; a key file joins the same way."""
    _score_file(tmp_path / "cm.txt", 300, seed=2)
    text = (tmp_path / "cm.txt").read_text()
    (tmp_path / "cm_comment.txt").write_text(
        "# a comment sends this file to the line reader\n" + text
    )
    fast = load_table(tmp_path / "cm.txt")
    slow = load_table(tmp_path / "cm_comment.txt")
    assert fast.trials() == slow.trials()
    # ASVspoof 5 protocol as the key file, 2021 'trial score' as the score file
    lines = text.splitlines()
    proto = tmp_path / "proto.tsv"
    proto.write_text(
        "".join(
            f"SPK {ln.split()[0]} F mp3 2 0 AT {ln.split()[1] if ln.split()[2] == 'spoof' else '-'} {ln.split()[2]} -\n"
            for ln in lines
        )
    )
    sub = tmp_path / "sub.txt"
    sub.write_text("".join(f"{ln.split()[0]} {ln.split()[3]}\n" for ln in lines))
    fast = load_table(sub, proto)
    (tmp_path / "sub_comment.txt").write_text("# comment\n" + sub.read_text())
    slow = load_table(tmp_path / "sub_comment.txt", proto)
    assert fast.trials() == slow.trials()
    assert {t.condition for t in fast.trials()} == {"mp3-q2"}
