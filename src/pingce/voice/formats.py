"""Readers for detector score files and key (protocol) files, in the ASVspoof layouts.

Whitespace-separated columns, one trial per line, no header (except the `tsv` layout):

score files
  asvspoof2019  ``utt attack key score``         CM score file of the ASVspoof 2019 evaluation
                                                 package (evaluate_tDCF_asvspoof19.py reads
                                                 column 0 as utt id, 1 as attack/source, 2 as
                                                 key, 3 as score)
  asvspoof2021  ``trial score``                  submission format of ASVspoof 2021 LA/PA/DF
  asvspoof5     ``speaker utt score key``        ASVspoof 5 evaluation package, track 1
  tsv           header row naming ``utt`` and ``score`` (optionally ``key``, ``attack``,
                ``condition``, ``language``), tab-separated

key files
  asvspoof2019  ``speaker utt env attack key``   ASVspoof2019.{LA,PA}.cm.*.trl.txt; env is "-"
                                                 in LA and the acoustic environment in PA
  asvspoof2021  ``speaker trial codec transmission attack key trim subset [...]``
                                                 keys/{LA,PA,DF}/CM/trial_metadata.txt; DF adds
                                                 vocoder-type columns (column 8 on)
  asvspoof5     ``speaker utt gender codec codec_q codec_seed attack_tag attack_label key -``
                                                 ASVspoof5.{train,dev,eval}.track_1.tsv
  tsv           header row naming ``utt`` and ``key`` (optionally ``attack``, ``condition``,
                ``language``, ``speaker``)
  A 2019 or ASVspoof 5 score file can serve as its own key file (it carries the key).

Every problem is a one-line `DataError` naming the file, the line and what was expected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from pingce.core.errors import DataError
from pingce.voice.table import UNKNOWN, KeyRow, normalise_key

SCORE_LAYOUTS = ("auto", "asvspoof2019", "asvspoof2021", "asvspoof5", "tsv")
KEY_LAYOUTS = ("auto", "asvspoof2019", "asvspoof2021", "asvspoof5", "tsv")


@dataclass(frozen=True)
class ScoreLine:
    utt: str
    score: float
    line: int
    key: KeyRow | None = None  # layouts that carry the key (2019, ASVspoof 5, tsv with key)


def _lines(path: Path) -> list[tuple[int, list[str]]]:
    if not path.is_file():
        raise DataError(f"{path}: file does not exist", hint="check the path")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    rows = []
    for i, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        rows.append((i, stripped.split("\t") if "\t" in stripped else stripped.split()))
    if not rows:
        raise DataError(f"{path}: no trials (the file is empty)")
    return rows


def _float(path: Path, line: int, value: str, what: str = "score") -> float:
    try:
        return float(value)
    except ValueError:
        raise DataError(f"{path}: line {line}: {what} {value!r} is not a number") from None


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _key(path: Path, line: int, value: str) -> str:
    key = normalise_key(value)
    if key is None:
        raise DataError(
            f"{path}: line {line}: key {value!r} is neither bona fide nor spoof",
            hint="keys are 'bonafide' or 'spoof' (also genuine/real/fake)",
        )
    return key


def detect_score_layout(path: Path, rows: list[tuple[int, list[str]]]) -> str:
    line, first = rows[0]
    if "utt" in [c.strip().lower() for c in first] and "score" in [c.lower() for c in first]:
        return "tsv"
    if len(first) == 2:
        return "asvspoof2021"
    if len(first) == 4:
        if normalise_key(first[2]) and _is_float(first[3]):
            return "asvspoof2019"
        if _is_float(first[2]) and normalise_key(first[3]):
            return "asvspoof5"
    raise DataError(
        f"{path}: line {line}: cannot tell the score-file layout from {' '.join(first)!r}",
        hint="expected 'utt attack key score' (2019), 'trial score' (2021), "
        "'speaker utt score key' (ASVspoof 5) or a TSV with utt/score header; "
        "or pass --scores-format",
    )


def _check_width(path: Path, line: int, cols: list[str], n: int, layout: str) -> None:
    if len(cols) != n:
        raise DataError(
            f"{path}: line {line}: expected {n} columns ({layout}), got {len(cols)}",
        )


def read_scores(path: Path, layout: str = "auto") -> tuple[str, list[ScoreLine]]:
    """The layout used and one `ScoreLine` per trial, in file order."""
    rows = _lines(path)
    if layout == "auto":
        layout = detect_score_layout(path, rows)
    out: list[ScoreLine] = []
    if layout == "tsv":
        return layout, _read_tsv_scores(path, rows)
    for line, cols in rows:
        if layout == "asvspoof2019":
            _check_width(path, line, cols, 4, "utt attack key score")
            key = KeyRow(key=_key(path, line, cols[2]), attack=cols[1])
            out.append(ScoreLine(cols[0], _float(path, line, cols[3]), line, key))
        elif layout == "asvspoof2021":
            _check_width(path, line, cols, 2, "trial score")
            out.append(ScoreLine(cols[0], _float(path, line, cols[1]), line))
        elif layout == "asvspoof5":
            _check_width(path, line, cols, 4, "speaker utt score key")
            key = KeyRow(key=_key(path, line, cols[3]), speaker=cols[0])
            out.append(ScoreLine(cols[1], _float(path, line, cols[2]), line, key))
        else:
            raise DataError(f"unknown score layout {layout!r}", hint=", ".join(SCORE_LAYOUTS))
    return layout, out


def _header(path: Path, rows: list[tuple[int, list[str]]], needed: tuple[str, ...]) -> list[str]:
    header = [c.strip().lower() for c in rows[0][1]]
    for name in needed:
        if name not in header:
            raise DataError(
                f"{path}: TSV header has no {name!r} column", hint="header: " + ", ".join(header)
            )
    return header


def _tsv_records(path: Path, rows: list[tuple[int, list[str]]], needed: tuple[str, ...]):
    header = _header(path, rows, needed)
    for line, cols in rows[1:]:
        if len(cols) != len(header):
            raise DataError(f"{path}: line {line}: expected {len(header)} columns, got {len(cols)}")
        yield line, dict(zip(header, (c.strip() for c in cols), strict=True))


def _key_row(path: Path, line: int, rec: dict[str, str]) -> KeyRow:
    known = {"utt", "score", "key", "attack", "condition", "language", "speaker"}
    return KeyRow(
        key=_key(path, line, rec["key"]),
        attack=rec.get("attack") or UNKNOWN,
        condition=rec.get("condition") or UNKNOWN,
        language=rec.get("language") or UNKNOWN,
        speaker=rec.get("speaker") or UNKNOWN,
        extra={k: v for k, v in rec.items() if k not in known},
    )


def _read_tsv_scores(path: Path, rows: list[tuple[int, list[str]]]) -> list[ScoreLine]:
    out = []
    for line, rec in _tsv_records(path, rows, ("utt", "score")):
        key = _key_row(path, line, rec) if rec.get("key") else None
        out.append(ScoreLine(rec["utt"], _float(path, line, rec["score"]), line, key))
    return out


def detect_key_layout(path: Path, rows: list[tuple[int, list[str]]]) -> str:
    line, first = rows[0]
    lowered = [c.strip().lower() for c in first]
    if "utt" in lowered and "key" in lowered:
        return "tsv"
    if len(first) == 5 and normalise_key(first[4]):
        return "asvspoof2019"
    if len(first) >= 8 and normalise_key(first[5]):
        return "asvspoof2021"
    if len(first) == 10 and normalise_key(first[8]):
        return "asvspoof5"
    if len(first) == 4 and normalise_key(first[2]) and _is_float(first[3]):
        return "score-asvspoof2019"
    if len(first) == 4 and _is_float(first[2]) and normalise_key(first[3]):
        return "score-asvspoof5"
    raise DataError(
        f"{path}: line {line}: cannot tell the key-file layout from {' '.join(first)!r}",
        hint="expected an ASVspoof 2019/2021/5 protocol or a TSV with utt/key header; "
        "or pass --keys-format",
    )


def _asvspoof5_condition(codec: str, quality: str) -> str:
    if codec in {"-", ""}:
        return "none"
    return codec if quality in {"-", "", "0"} else f"{codec}-q{quality}"


def read_keys(path: Path, layout: str = "auto") -> tuple[str, dict[str, tuple[int, KeyRow]]]:
    """The layout used and {utt: (line, KeyRow)}; duplicate utterance ids are an error."""
    rows = _lines(path)
    if layout == "auto":
        layout = detect_key_layout(path, rows)
    if layout.startswith("score-"):
        _, scores = read_scores(path, layout.removeprefix("score-"))
        items = [(s.line, s.utt, s.key) for s in scores]
    elif layout == "tsv":
        items = [
            (ln, rec["utt"], _key_row(path, ln, rec))
            for ln, rec in _tsv_records(path, rows, ("utt", "key"))
        ]
    else:
        items = []
        for line, cols in rows:
            if layout == "asvspoof2019":
                _check_width(path, line, cols, 5, "speaker utt env attack key")
                row = KeyRow(
                    key=_key(path, line, cols[4]),
                    attack=cols[3],
                    condition=cols[2] if cols[2] != "-" else "none",
                    speaker=cols[0],
                )
                items.append((line, cols[1], row))
            elif layout == "asvspoof2021":
                if len(cols) < 8:
                    raise DataError(
                        f"{path}: line {line}: expected at least 8 columns (speaker trial codec "
                        f"transmission attack key trim subset), got {len(cols)}"
                    )
                extra = {"trim": cols[6], "subset": cols[7]}
                if len(cols) > 8:
                    extra["vocoder"] = cols[8]
                row = KeyRow(
                    key=_key(path, line, cols[5]),
                    attack=cols[4],
                    condition=f"{cols[2]}/{cols[3]}",
                    speaker=cols[0],
                    extra=extra,
                )
                items.append((line, cols[1], row))
            elif layout == "asvspoof5":
                _check_width(
                    path,
                    line,
                    cols,
                    10,
                    "speaker utt gender codec codec_q codec_seed attack_tag attack_label key -",
                )
                row = KeyRow(
                    key=_key(path, line, cols[8]),
                    attack=cols[7],
                    condition=_asvspoof5_condition(cols[3], cols[4]),
                    speaker=cols[0],
                    extra={"gender": cols[2], "attack_tag": cols[6]},
                )
                items.append((line, cols[1], row))
            else:
                raise DataError(f"unknown key layout {layout!r}", hint=", ".join(KEY_LAYOUTS))
    keys: dict[str, tuple[int, KeyRow]] = {}
    dups: list[str] = []
    for line, utt, row in items:
        if utt in keys:
            dups.append(utt)
        keys[utt] = (line, row)
    if dups:
        raise DataError(
            f"{path}: {len(dups)} duplicate utterance id(s) in the keys (first: {dups[0]!r})",
            hint="each utterance must appear once",
        )
    return layout, keys


def nonfinite(scores: list[ScoreLine]) -> list[ScoreLine]:
    return [s for s in scores if not math.isfinite(s.score)]
