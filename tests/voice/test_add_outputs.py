"""`pingce voice evaluate-add`: ADD 2023 localisation and attribution outputs through the
shared pipeline (store, records, report), checked against hand-computed values and
scikit-learn's f1_score."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score

from pingce.core.reporting import build_report_doc
from pingce.core.store import open_store
from pingce.voice.cli import run_evaluation


def _pingce(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pingce.cli", "voice", "evaluate-add", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


REF = """utt start end label
# utterance A: fake in the middle second; B: all real; C: fake 0-0.5 s; D: all fake
A 0 1 real
A 1 2 fake
A 2 3 real
B 0 2 real
C 0 0.5 spoof
C 0.5 1 bonafide
D 0 1 fake
"""
PRED = """A 0 1.5 fake
A 1.5 3 real
B 0 0.5 real
B 0.5 1 fake
C 0 1 real
D 0 0.25 fake
"""


def test_localisation_hand_computed_through_cli(tmp_path: Path) -> None:
    (tmp_path / "ref.txt").write_text(REF)
    (tmp_path / "pred.txt").write_text(PRED)
    res = _pingce(
        ["--pred", "pred.txt", "--ref", "ref.txt", "--task", "localisation"]
        + ["--report-dir", "rep", "-q"],
        tmp_path,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads(next((tmp_path / "rep").glob("*/report.json")).read_text())
    m = doc["tasks"][0]["metrics"]
    # by hand, 10 ms frames, fake positive:
    # A: ref fake 1-2 s, pred fake 0-1.5 s -> tp 50, fp 100, fn 50; decision right (both fake)
    # B: ref real, pred fake 0.5-1 s       -> fp 50;               decision wrong
    # C: ref fake 0-0.5 s, pred all real   -> fn 50;               decision wrong
    # D: ref fake 0-1 s, pred fake 0-0.25  -> tp 25, fn 75;        decision right
    tp, fp, fn = 75, 150, 175
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert m["voice_add_segment_f1"]["value"] == pytest.approx(f1)  # 150/475
    assert m["voice_add_sentence_accuracy"]["value"] == pytest.approx(0.5)
    assert m["voice_add_track2_score"]["value"] == pytest.approx(0.3 * 0.5 + 0.7 * f1)
    assert m["voice_add_segment_f1"]["n"] == 4
    frames = next(s for s in doc["sections"] if s["id"].startswith("voice-add-frames"))
    assert frames["table"]["rows"][0][:3] == [tp, fp, fn]
    assert "voice_add_track2_score" in res.stdout


def test_attribution_macro_f1_matches_sklearn(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    true = rng.integers(0, 7, 300).astype(str)
    pred = np.where(rng.random(300) < 0.6, true, rng.integers(0, 8, 300).astype(str))
    f = tmp_path / "attr.txt"
    f.write_text(
        "utt pred true\n"
        + "".join(f"U{i} {p} {t}\n" for i, (p, t) in enumerate(zip(pred, true, strict=True)))
    )
    store = open_store(f"sqlite:///{tmp_path / 'add.db'}")
    task = {"id": "attr", "type": "voice-add-attribution"}
    run_id = run_evaluation(f"scores:{f}", task, {"seed": 1}, store=store, base_dir=tmp_path)
    doc = build_report_doc(store, store.get_run(run_id))
    row = doc["tasks"][0]["metrics"]["voice_add_macro_f1"]
    # independent reference: scikit-learn's macro F1 over the union of labels (class 7 is
    # predicted but never true: F1 0, as zero_division=0)
    assert row["value"] == pytest.approx(f1_score(true, pred, average="macro", zero_division=0))
    assert row["ci_low"] <= row["value"] <= row["ci_high"]
    classes = next(s for s in doc["sections"] if s["id"].startswith("voice-add-classes"))
    by_class = {r[0]: r[4] for r in classes["table"]["rows"]}
    labels = sorted(set(true) | set(pred))
    ref = f1_score(true, pred, average=None, labels=labels, zero_division=0)
    assert [by_class[c] for c in labels] == pytest.approx(list(ref), abs=1e-4)
    # the same file again resumes from stored records: same number
    run2 = run_evaluation(f"scores:{f}", task, {"seed": 1}, store=store, base_dir=tmp_path)
    assert build_report_doc(store, store.get_run(run2))["tasks"][0]["metrics"][
        "voice_add_macro_f1"
    ]["value"] == pytest.approx(row["value"])


@pytest.mark.parametrize(
    ("pred", "ref", "task", "message"),
    [
        ("A 0 1 maybe\n", REF, "localisation", "line 1: LABEL must be real or fake"),
        ("A 0 x fake\n", REF, "localisation", "START and END must be seconds"),
        ("A 1 0.5 fake\n", REF, "localisation", "need 0 <= START < END"),
        ("A 0 1 fake\n", REF, "localisation", "3 reference utterance(s) have no predicted segment"),
        (PRED + "Z 0 1 real\n", REF, "localisation", "not in the reference"),
        ("u1 1\n", None, "attribution", "expected 3 columns"),
        ("u1 1 1\nu1 2 2\n", None, "attribution", "utterance u1 already on line 1"),
        ("u1 1 1\n", None, "detection", "--task must be localisation or attribution"),
        (PRED, None, "localisation", "needs --ref"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    pred: str,
    ref: str | None,
    task: str,
    message: str,
) -> None:
    from pingce.cli import main

    (tmp_path / "pred.txt").write_text(pred)
    args = ["--pred", "pred.txt", "--task", task, "-q"]
    if ref is not None:
        (tmp_path / "ref.txt").write_text(ref)
        args += ["--ref", "ref.txt"]
    # in-process (the real entry point, as the console script runs it) to keep the test fast
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["pingce", "voice", "evaluate-add", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    out = capsys.readouterr()
    lines = [ln for ln in (out.out + out.err).splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0], lines
