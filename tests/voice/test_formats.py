"""Score/key readers for the ASVspoof 2019, 2021 and 5 layouts, and the validity checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from pingce.core.errors import DataError
from pingce.voice.formats import read_keys, read_scores
from pingce.voice.trials import load_trials

TRIALS = [  # utt, key, attack, score
    ("LA_E_1", "bonafide", "-", 2.5),
    ("LA_E_2", "spoof", "A07", -1.0),
    ("LA_E_3", "spoof", "A08", 0.5),
    ("LA_E_4", "bonafide", "-", 1.5),
    ("LA_E_5", "spoof", "A07", -3.0),
]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_asvspoof2019_score_file_carries_keys(tmp_path: Path) -> None:
    f = _write(tmp_path / "cm.txt", [f"{u} {a} {k} {s}" for u, k, a, s in TRIALS])
    ts = load_trials(f)
    assert ts.provenance["scores_layout"] == "asvspoof2019"
    assert [(t.utt, t.key, t.attack, t.score) for t in ts.trials] == [
        (u, k, a, s) for u, k, a, s in TRIALS
    ]


def test_asvspoof2019_protocol_as_keys(tmp_path: Path) -> None:
    scores = _write(tmp_path / "s.txt", [f"{u} {s}" for u, _, _, s in TRIALS])
    keys = _write(
        tmp_path / "ASVspoof2019.LA.cm.eval.trl.txt",
        [f"LA_0039 {u} - {a} {k}" for u, k, a, _ in TRIALS],
    )
    layout, rows = read_keys(keys)
    assert layout == "asvspoof2019" and rows["LA_E_2"][1].attack == "A07"
    ts = load_trials(scores, keys)
    assert ts.provenance["scores_layout"] == "asvspoof2021"  # 'trial score' lines
    assert {t.condition for t in ts.trials} == {"none"}


def test_asvspoof2021_metadata_conditions_and_vocoder(tmp_path: Path) -> None:
    scores = _write(tmp_path / "score.txt", [f"{u} {s}" for u, _, _, s in TRIALS])
    la = _write(
        tmp_path / "la.txt",
        [f"LA_0009 {u} alaw ita_tx {a} {k} notrim eval" for u, k, a, _ in TRIALS],
    )
    df = _write(
        tmp_path / "df.txt",
        [
            f"LA_0043 {u} mp3m4a asvspoof {a} {k} notrim eval traditional_vocoder - - - -"
            for u, k, a, _ in TRIALS
        ],
    )
    for keys, cond in ((la, "alaw/ita_tx"), (df, "mp3m4a/asvspoof")):
        layout, rows = read_keys(keys)
        assert layout == "asvspoof2021"
        ts = load_trials(scores, keys)
        assert {t.condition for t in ts.trials} == {cond}
    assert read_keys(df)[1]["LA_E_1"][1].extra["vocoder"] == "traditional_vocoder"


def test_asvspoof5_score_and_protocol(tmp_path: Path) -> None:
    scores = _write(tmp_path / "s5.txt", [f"E_0001 {u} {s} {k}" for u, k, _, s in TRIALS])
    assert read_scores(scores)[0] == "asvspoof5"
    proto = _write(
        tmp_path / "ASVspoof5.eval.track_1.tsv",
        [
            f"E_0001 {u} F C05 3 - {'-' if k == 'bonafide' else 'AT1'} {'bonafide' if k == 'bonafide' else a} {k} -"
            for u, k, a, _ in TRIALS
        ],
    )
    ts = load_trials(scores, proto)
    assert {t.condition for t in ts.trials} == {"C05-q3"}
    assert [t.attack for t in ts.trials if t.key == "spoof"] == ["A07", "A08", "A07"]


def test_tsv_layout_with_language(tmp_path: Path) -> None:
    keys = _write(
        tmp_path / "meta.tsv",
        ["utt\tkey\tattack\tcondition\tlanguage"]
        + [f"{u}\t{k}\t{a}\tnone\tfr" for u, k, a, _ in TRIALS],
    )
    scores = _write(tmp_path / "s.tsv", ["utt\tscore"] + [f"{u}\t{s}" for u, _, _, s in TRIALS])
    ts = load_trials(scores, keys)
    assert {t.language for t in ts.trials} == {"fr"}


@pytest.mark.parametrize(
    ("lines", "keys", "message"),
    [
        (["a bonafide nan 1"], None, "cannot tell the score-file layout"),
        (
            [f"{u} {a} {k} {'nan' if u == 'LA_E_3' else s}" for u, k, a, s in TRIALS],
            None,
            "1 score(s) are NaN or infinite (first: line 3",
        ),
        (
            [f"{u} {a} {k} {s}" for u, k, a, s in TRIALS]
            + ["LA_E_1 - bonafide 0.3", "LA_E_2 A07 spoof 0.1"],
            None,
            "2 duplicate utterance id(s)",
        ),
        (
            [f"{u} {a} {k} {1.0 if k == 'bonafide' else 0.0}" for u, k, a, _ in TRIALS],
            None,
            "only 2 distinct score value(s) over 5 trials",
        ),
        ([f"{u} - bonafide {s}" for u, _, _, s in TRIALS], None, "5 bona fide and 0 spoof trials"),
        (
            [f"{u} {s}" for u, _, _, s in TRIALS],
            None,
            "5 trial(s) carry no key and no key file was given",
        ),
        (
            [f"{u} {s}" for u, _, _, s in TRIALS[:3]] + ["LA_E_9 0.1"],
            "keys",
            "1 scored utterance(s) have no key (first: 'LA_E_9'); 2 keyed utterance(s) have no score",
        ),
        (
            ["LA_E_1 - bonafide 2.5", "LA_E_2 A07 spoof -1 extra"],
            None,
            "line 2: expected 4 columns",
        ),
        (["LA_E_1 - maybe 2.5"], None, "cannot tell the score-file layout"),
    ],
)
def test_validity_checks_are_one_line_errors_with_counts(
    tmp_path: Path, lines: list[str], keys: str | None, message: str
) -> None:
    scores = _write(tmp_path / "s.txt", lines)
    key_file = (
        _write(tmp_path / "k.txt", [f"LA_0039 {u} - {a} {k}" for u, k, a, _ in TRIALS])
        if keys
        else None
    )
    with pytest.raises(DataError) as err:
        load_trials(scores, key_file)
    assert message in err.value.one_line()
    assert "\n" not in err.value.one_line()


def test_key_clash_between_score_file_and_keys(tmp_path: Path) -> None:
    scores = _write(tmp_path / "s.txt", [f"{u} {a} {k} {s}" for u, k, a, s in TRIALS])
    flipped = _write(
        tmp_path / "k.txt",
        [f"LA_0039 {u} - {a} {'spoof' if u == 'LA_E_1' else k}" for u, k, a, _ in TRIALS],
    )
    with pytest.raises(DataError, match="1 utterance"):
        load_trials(scores, flipped)


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_trials(tmp_path / "nope.txt")
    with pytest.raises(DataError, match="no trials"):
        load_trials(_write(tmp_path / "e.txt", ["# only a comment"]))
