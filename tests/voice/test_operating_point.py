"""Operating-point metrics, hard decisions, t-DCF weights, the reversed-scores advice, the
console summary and build-testset's up-front checks (issue 24).

References: scikit-learn's accuracy/precision/recall/F1 on the same decisions, hand counts,
and the ASVspoof t-DCF weight formulas (C1, C2 > 0) written out in the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from pingce.core.store import open_store
from pingce.voice import metrics as vm
from pingce.voice.cli import run_evaluation


def _file(path: Path, scores: np.ndarray, bona: np.ndarray) -> Path:
    path.write_text(
        "".join(
            f"SPK U{i:05d} {float(s)!r} {'bonafide' if b else 'spoof'}\n"
            for i, (s, b) in enumerate(zip(scores, bona, strict=True))
        )
    )
    return path


def _data(n: int = 600, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    bona = rng.random(n) < 0.35
    return np.where(bona, rng.normal(1.0, 1.0, n), rng.normal(-1.0, 1.0, n)), bona


def _sklearn(scores: np.ndarray, bona: np.ndarray, threshold: float) -> dict[str, float]:
    y_true = np.where(bona, "bonafide", "spoof")
    y_pred = np.where(scores < threshold, "spoof", "bonafide")
    kw = {"pos_label": "spoof"}
    return {
        "voice_accuracy": accuracy_score(y_true, y_pred),
        "voice_precision": precision_score(y_true, y_pred, **kw),
        "voice_recall": recall_score(y_true, y_pred, **kw),
        "voice_f1": f1_score(y_true, y_pred, **kw),
    }


def test_threshold_mode_matches_sklearn_with_cis(tmp_path: Path) -> None:
    scores, bona = _data()
    _file(tmp_path / "s.txt", scores, bona)
    store = open_store(os.environ["PINGCE_DB"])
    task = {"id": "cm", "type": "voice-scores", "title": "CM", "threshold": 0.25}
    rid = run_evaluation(
        f"scores:{tmp_path / 's.txt'}", task, {"seed": 1}, store=store, base_dir=tmp_path
    )
    res = store.get_run(rid).results
    m = res["tasks"][0]["metrics"]
    for name, ref in _sklearn(scores, bona, 0.25).items():
        assert m[name]["value"] == pytest.approx(ref), name
        assert m[name]["ci_low"] <= m[name]["value"] <= m[name]["ci_high"], name
    assert m["voice_eer"]["value"] == pytest.approx(vm.eer(scores[bona], scores[~bona])[0])
    section = next(s for s in res["sections"] if s["id"] == "voice-operating-point")
    tp = int(((scores < 0.25) & ~bona).sum())
    assert section["table"]["rows"][0][1] == tp


def test_hard_decisions_are_evaluable_in_decisions_mode(tmp_path: Path, pingce_cli) -> None:
    """A system that emits 0/1 decisions (2 distinct values) was an error; with --decisions
    it gets accuracy/precision/recall/F1 (sklearn on the same decisions)."""
    scores, bona = _data(seed=9)
    dec = (scores >= 0).astype(float)
    _file(tmp_path / "d.txt", dec, bona)
    plain = pingce_cli(
        ["voice", "evaluate", "--scores", "d.txt", "--report-dir", "rep", "-q"], tmp_path
    )
    assert plain.returncode == 2 and "--decisions" in plain.stderr
    res = pingce_cli(
        ["voice", "evaluate", "--scores", "d.txt", "--decisions", "--report-dir", "rep", "-q"],
        tmp_path,
    )
    assert res.returncode == 0, res.stderr
    (doc_path,) = list((tmp_path / "rep").glob("*/report.json"))
    doc = json.loads(doc_path.read_text())
    m = doc["tasks"][0]["metrics"]
    assert doc["tasks"][0]["primary_metric"] == "voice_accuracy"
    for name, ref in _sklearn(dec, bona, 0.5).items():
        assert m[name]["value"] == pytest.approx(ref), name
    assert "voice_eer" not in m
    assert any("hard decisions" in n for n in doc["notes"])
    # the console shows the main indicators, not only the primary one
    assert "voice_precision" in res.stdout and "voice_f1" in res.stdout
    bad = dec.copy()
    bad[3] = 0.7
    _file(tmp_path / "bad.txt", bad, bona)
    res = pingce_cli(["voice", "evaluate", "--scores", "bad.txt", "--decisions", "-q"], tmp_path)
    assert res.returncode == 2 and "must be 1 (bona fide) or 0 (spoof)" in res.stderr
    assert len(res.stderr.strip().splitlines()) <= 2 and "Traceback" not in res.stderr


def test_console_shows_more_than_eer(tmp_path: Path, pingce_cli) -> None:
    scores, bona = _data(seed=2)
    _file(tmp_path / "s.txt", scores, bona)
    res = pingce_cli(
        ["voice", "evaluate", "--scores", "s.txt", "--report-dir", "rep", "-q"], tmp_path
    )
    assert res.returncode == 0, res.stderr
    for name in ("voice_eer", "voice_min_dcf", "voice_act_dcf", "voice_cllr", "voice_min_tdcf"):
        assert name in res.stdout, name


@pytest.mark.parametrize("rates", ["1,1,0", "0,1,0.5", "0.1,0.2,1"])
def test_non_positive_tdcf_weights_are_a_one_line_error(
    tmp_path: Path, pingce_cli, rates: str
) -> None:
    """C1 = Ptar (Cmiss_cm - Cmiss_asv Pmiss_asv) - Pnon Cfa_asv Pfa_asv and
    C2 = Cfa_cm Pspoof (1 - Pmiss_spoof_asv) (ASVspoof 2019): each of these rates makes one
    of them <= 0; the indicator used to vanish while the note still described it."""
    scores, bona = _data(seed=3)
    _file(tmp_path / "s.txt", scores, bona)
    pfa, pmiss, pmiss_spoof = (float(v) for v in rates.split(","))
    c1 = 0.95 * 0.99 * (1 - pmiss) - 0.95 * 0.01 * 10 * pfa
    c2 = 10 * 0.05 * (1 - pmiss_spoof)
    assert c1 <= 0 or c2 <= 0
    res = pingce_cli(
        ["voice", "evaluate", "--scores", "s.txt", "--asv-rates", rates, "-q"], tmp_path
    )
    assert res.returncode == 2 and res.stderr.startswith("error: --asv-rates")
    assert "not positive" in res.stderr and "Traceback" not in res.stderr


def test_reversed_note_for_a_system_does_not_advise_negate() -> None:
    """--system refuses --negate, so the note for a system run must not advise it."""
    from pingce.voice.standard import VoiceStandard

    rng = np.random.default_rng(0)
    recs = []
    for i in range(60):
        b = i % 2 == 0
        s = float(rng.normal(-1.0 if b else 1.0, 0.5))  # spoof scored higher: reversed
        recs.append(
            {
                "task": "cm",
                "key": f"k{i}",
                "sample_id": f"U{i}",
                "position": i,
                "scores": {},
                "data": {
                    "key": "bonafide" if b else "spoof",
                    "attack": "-" if b else "A01",
                    "condition": "none",
                    "language": "-",
                    "file": f"U{i}.wav",
                    "score": s,
                    "latency_ms": 1.0,
                    "seconds": 1.0,
                    "clipped": False,
                },
            }
        )
    for kind in ("voice-system", "voice-scores"):
        suite = {"tasks": [{"id": "cm", "type": kind}]}
        notes = VoiceStandard()._summarize(suite, {"options": {}}, recs)["notes"]
        (note,) = [n for n in notes if "look reversed" in n]
        assert ("--negate" in note) == (kind == "voice-scores"), note


def test_build_testset_checks_codec_tools_before_writing(tmp_path: Path) -> None:
    """With ffmpeg missing (an empty PATH), asking for an ffmpeg condition fails before the
    output folder exists; it used to fail half-way and leave a partial set."""
    empty = tmp_path / "bin"
    empty.mkdir()
    out = tmp_path / "set"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pingce.cli",
            "voice",
            "build-testset",
            "--out",
            str(out),
            "--attacks",
            "griffin-lim",
            "--conditions",
            "clean,mp3",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": str(empty)},
    )
    assert proc.returncode == 2, proc.stderr
    assert "mp3" in proc.stderr and "ffmpeg" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_system_decisions_that_are_not_0_or_1_are_counted() -> None:
    """A hard-decision system's outputs are not checked when read: the report counts the
    ones that are not 0/1 (read at 0.5) instead of passing them over; hand-made records."""
    from pingce.voice.standard import VoiceStandard

    outs = [1.0, 0.0, 1.0, 0.0, 0.7, 0.0, 1.0, 0.0]
    recs = [
        {
            "task": "cm",
            "key": f"k{i}",
            "sample_id": f"U{i}",
            "position": i,
            "scores": {},
            "data": {
                "key": "bonafide" if i % 2 == 0 else "spoof",
                "attack": "-" if i % 2 == 0 else "A01",
                "condition": "none",
                "language": "-",
                "file": f"U{i}.wav",
                "score": s,
                "latency_ms": 1.0,
                "seconds": 1.0,
                "clipped": False,
            },
        }
        for i, s in enumerate(outs)
    ]
    res = VoiceStandard()._summarize(
        {"tasks": [{"id": "cm", "type": "voice-system", "decisions": True}]}, {"options": {}}, recs
    )
    assert any("1 of 8 outputs are not 0/1" in n for n in res["notes"])
    # U4 (bona fide, 0.7) counts as accepted: all 8 correct
    assert res["tasks"][0]["metrics"]["voice_accuracy"]["value"] == 1.0
