"""`pingce voice evaluate --scores --keys` end to end: real subprocess, store, report files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pingce.voice import metrics as vm


@pytest.fixture
def score_pair(tmp_path: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    rows = []
    bona, spoof = [], []
    for i in range(120):
        is_bona = i % 3 == 0
        cond = ["none", "mp3", "alaw"][i % 4 % 3]
        attack = "-" if is_bona else f"A0{1 + i % 2}"
        s = float(rng.normal(1.5 if is_bona else -1.0, 1.0 + (cond != "none")))
        (bona if is_bona else spoof).append(s)
        rows.append((f"U{i:04d}", s, "bonafide" if is_bona else "spoof", attack, cond))
    scores = tmp_path / "scores.txt"
    scores.write_text("".join(f"SPK {u} {s!r} {k}\n" for u, s, k, _, _ in rows))
    keys = tmp_path / "protocol.txt"
    keys.write_text(
        "".join(
            f"SPK {u} - {'-' if c == 'none' else c} - - - {'bonafide' if k == 'bonafide' else a} {k} -\n"
            for u, _, k, a, c in rows
        )
    )
    return scores, keys, np.array(bona), np.array(spoof)


def test_evaluate_writes_report_with_metrics_sections_and_cis(
    tmp_path: Path, score_pair, pingce_cli
) -> None:
    scores, keys, bona, spoof = score_pair
    res = pingce_cli(
        [
            "voice",
            "evaluate",
            "--scores",
            str(scores),
            "--keys",
            str(keys),
            "--report-dir",
            str(tmp_path / "rep"),
            "-q",
        ],
        tmp_path,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    (doc_path,) = list((tmp_path / "rep").glob("*/report.json"))
    doc = json.loads(doc_path.read_text())
    m = doc["tasks"][0]["metrics"]
    # the stored-record recomputation equals the metric functions on the raw arrays
    assert m["voice_eer"]["value"] == pytest.approx(vm.eer(bona, spoof)[0])
    assert m["voice_min_dcf"]["value"] == pytest.approx(vm.min_dcf(bona, spoof)[0])
    assert m["voice_act_dcf"]["value"] == pytest.approx(vm.act_dcf(bona, spoof)[0])
    assert m["voice_min_cllr"]["value"] == pytest.approx(vm.min_cllr(bona, spoof))
    assert m["voice_min_tdcf"]["value"] == pytest.approx(
        vm.min_tdcf(bona, spoof, vm.ASVSPOOF5_ASV)[0]
    )
    lo, hi = m["voice_eer"]["ci_low"], m["voice_eer"]["ci_high"]
    assert lo < m["voice_eer"]["value"] < hi
    assert m["voice_min_dcf"]["ci_low"] is not None
    ids = {s["id"] for s in doc["sections"]}
    assert {"voice-breakdown", "voice-det", "voice-heatmap", "voice-robustness"} <= ids
    det = next(s for s in doc["sections"] if s["id"] == "voice-det")["charts"][0]
    assert det["x_scale"] == "probit" and {s["name"] for s in det["series"]} == {
        "pooled",
        "none",
        "mp3",
        "alaw",
    }
    heat = next(s for s in doc["sections"] if s["id"] == "voice-heatmap")["charts"][0]
    assert heat["rows"] == ["A01", "A02"] and heat["columns"] == ["alaw", "mp3", "none"]
    assert not any("look reversed" in n for n in doc["notes"])


def test_reversed_scores_are_reported_not_flipped(tmp_path: Path, score_pair, pingce_cli) -> None:
    scores, keys, bona, spoof = score_pair
    flipped = tmp_path / "flipped.txt"
    flipped.write_text(
        "".join(
            f"{a} {b} {-float(c)!r} {d}\n"
            for a, b, c, d in (ln.split() for ln in scores.read_text().splitlines())
        )
    )
    res = pingce_cli(
        [
            "voice",
            "evaluate",
            "--scores",
            str(flipped),
            "--keys",
            str(keys),
            "--report-dir",
            str(tmp_path / "rep"),
            "-q",
        ],
        tmp_path,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads(next((tmp_path / "rep").glob("*/report.json")).read_text())
    assert doc["tasks"][0]["metrics"]["voice_eer"]["value"] == pytest.approx(
        vm.eer(-bona, -spoof)[0]
    )
    assert any("look reversed" in n for n in doc["notes"])
    # --negate is the user's explicit word: then the metrics equal the original file's
    res = pingce_cli(
        [
            "voice",
            "evaluate",
            "--scores",
            str(flipped),
            "--keys",
            str(keys),
            "--negate",
            "--report-dir",
            str(tmp_path / "rep2"),
            "-q",
        ],
        tmp_path,
    )
    doc = json.loads(next((tmp_path / "rep2").glob("*/report.json")).read_text())
    assert doc["tasks"][0]["metrics"]["voice_eer"]["value"] == pytest.approx(vm.eer(bona, spoof)[0])


def test_bad_score_file_is_one_line_exit_2(tmp_path: Path, score_pair, pingce_cli) -> None:
    scores, keys, _, _ = score_pair
    text = scores.read_text().splitlines()
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(text[:-5]) + "\n")  # five keyed trials without a score
    res = pingce_cli(
        ["voice", "evaluate", "--scores", str(bad), "--keys", str(keys), "-q"], tmp_path
    )
    assert res.returncode == 2
    lines = [ln for ln in (res.stdout + res.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1 and "5 keyed utterance(s) have no score" in lines[0]
