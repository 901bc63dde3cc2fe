"""Trials as columns (numpy arrays), for score files of ASVspoof 5 size (~680k trials).

A `TrialTable` holds one entry per trial: utterance id, score, bona fide flag, and the
attack / condition / language as category codes into a list of names. Score and key files are
read column by column in chunks of lines, so a million trials take a few hundred MB and a few
seconds instead of a Python object per trial. The fast reader handles the whitespace ASVspoof
layouts; anything it does not expect (comments, tabs, a short line, a value that is not a
number or a key) hands over to the line-by-line readers of `pingce.voice.formats`, which name
the file, line and problem.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pingce.voice.table import BONAFIDE, KEY_ALIASES, SPOOF, UNKNOWN, Trial

CHUNK_LINES = 100_000


@dataclass
class Categorical:
    """A string column as codes into `names` (few distinct values, many trials)."""

    names: list[str]
    codes: np.ndarray  # int32

    @classmethod
    def from_values(cls, values: Any) -> Categorical:
        lookup: dict[str, int] = {}
        codes = np.fromiter((lookup.setdefault(v, len(lookup)) for v in values), dtype=np.int32)
        return cls(list(lookup), codes)

    @classmethod
    def constant(cls, value: str, n: int) -> Categorical:
        return cls([value], np.zeros(n, dtype=np.int32))

    def values(self) -> np.ndarray:
        """The column as an object array of strings."""
        return np.asarray(self.names, dtype=object)[self.codes]

    def take(self, idx: Any) -> Categorical:
        return Categorical(self.names, self.codes[idx])


@dataclass
class TrialTable:
    utt: list[str]
    score: np.ndarray  # float64
    bona: np.ndarray  # bool
    attack: Categorical
    condition: Categorical
    language: Categorical
    provenance: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.utt)

    def trial(self, i: int) -> Trial:
        return Trial(
            self.utt[i],
            float(self.score[i]),
            BONAFIDE if self.bona[i] else SPOOF,
            self.attack.names[self.attack.codes[i]],
            self.condition.names[self.condition.codes[i]],
            self.language.names[self.language.codes[i]],
        )

    def trials(self) -> list[Trial]:
        return [self.trial(i) for i in range(len(self))]

    @classmethod
    def from_trials(
        cls, trials: list[Trial], provenance: dict[str, Any] | None = None
    ) -> TrialTable:
        return cls(
            [t.utt for t in trials],
            np.fromiter((t.score for t in trials), dtype=float, count=len(trials)),
            np.fromiter((t.key == BONAFIDE for t in trials), dtype=bool, count=len(trials)),
            Categorical.from_values(t.attack for t in trials),
            Categorical.from_values(t.condition for t in trials),
            Categorical.from_values(t.language for t in trials),
            dict(provenance or {}),
        )

    def negated(self) -> TrialTable:
        return TrialTable(
            self.utt,
            -self.score,
            self.bona,
            self.attack,
            self.condition,
            self.language,
            self.provenance,
        )

    def block(self, start: int, stop: int) -> dict[str, Any]:
        """Trials [start, stop) as one JSON-ready record payload, each trial stored once and
        column-wise: ids joined by newlines (an id never holds one: it comes from one line),
        scores as little-endian float64 bytes (exact) and labels / category codes as bytes,
        all base64, so a block of 50,000 trials is a handful of JSON strings."""
        sl = slice(start, stop)
        return {
            "trials": stop - start,
            "utt": "\n".join(self.utt[sl]),
            "score_f8": _b64(self.score[sl].astype("<f8")),
            "bona_u1": _b64(self.bona[sl].astype(np.uint8)),
            "attack": _block_column(self.attack, sl),
            "condition": _block_column(self.condition, sl),
            "language": _block_column(self.language, sl),
        }

    def block_digest(self, start: int, stop: int) -> str:
        """Content hash of a block (resume key): ids, scores, keys and the three columns."""
        h = hashlib.sha256()
        sl = slice(start, stop)
        h.update("\x1f".join(self.utt[sl]).encode())
        h.update(np.ascontiguousarray(self.score[sl]).tobytes())
        h.update(np.ascontiguousarray(self.bona[sl]).tobytes())
        for col in (self.attack, self.condition, self.language):
            h.update("\x1f".join(col.names).encode())
            h.update(np.ascontiguousarray(col.codes[sl]).tobytes())
        return h.hexdigest()


def _b64(arr: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode("ascii")


def _unb64(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


def _block_column(col: Categorical, sl: slice) -> dict[str, Any]:
    codes = col.codes[sl]
    used = np.unique(codes)
    remap = np.zeros(len(col.names), dtype=np.int32)
    remap[used] = np.arange(used.size, dtype=np.int32)
    return {"names": [col.names[i] for i in used], "codes_i4": _b64(remap[codes].astype("<i4"))}


def table_from_blocks(blocks: list[dict[str, Any]]) -> TrialTable:
    """The trials of stored block records, in order."""
    utt: list[str] = []
    scores, bona = [], []
    cols: dict[str, list[np.ndarray]] = {"attack": [], "condition": [], "language": []}
    names: dict[str, dict[str, int]] = {"attack": {}, "condition": {}, "language": {}}
    for b in blocks:
        ids = b["utt"].split("\n") if b["trials"] else []
        score = _unb64(b["score_f8"], "<f8").astype(float)
        flags = _unb64(b["bona_u1"], "u1").astype(bool)
        if not (len(ids) == score.size == flags.size == b["trials"]):
            raise ValueError("a stored block of trials is inconsistent")
        utt.extend(ids)
        scores.append(score)
        bona.append(flags)
        for name in cols:
            lookup = names[name]
            local = np.asarray(
                [lookup.setdefault(v, len(lookup)) for v in b[name]["names"]], dtype=np.int32
            )
            codes = _unb64(b[name]["codes_i4"], "<i4")
            cols[name].append(local[codes] if local.size else np.zeros(0, np.int32))
    cat = {
        k: Categorical(list(names[k]), np.concatenate(v) if v else np.zeros(0, np.int32))
        for k, v in cols.items()
    }
    return TrialTable(
        utt,
        np.concatenate(scores) if scores else np.zeros(0),
        np.concatenate(bona) if bona else np.zeros(0, dtype=bool),
        cat["attack"],
        cat["condition"],
        cat["language"],
    )


# ---- the fast reader --------------------------------------------------------------------
class NotFast(Exception):
    """The file needs the line-by-line reader (which explains what is wrong, if anything)."""


def _chunks(path: Path) -> Iterator[list[list[str]]]:
    """Rows of whitespace-separated columns, CHUNK_LINES lines at a time."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NotFast from exc
    if "#" in text or "\t" in text:
        raise NotFast
    lines = text.splitlines()
    del text
    for start in range(0, len(lines), CHUNK_LINES):
        rows = [ln.split() for ln in lines[start : start + CHUNK_LINES]]
        yield [r for r in rows if r]


def _keys(values: Any) -> np.ndarray:
    """Bona fide flags of key spellings; NotFast on an unknown spelling."""
    arr = np.asarray(list(values))
    out = np.zeros(arr.size, dtype=bool)
    for v in np.unique(arr).tolist():
        k = KEY_ALIASES.get(str(v).lower())
        if k is None:
            raise NotFast
        if k == BONAFIDE:
            out |= arr == v
    return out


def _tokens(path: Path, width: int) -> list[str]:
    """Every whitespace-separated token of a file whose non-empty lines all have exactly
    `width` columns (checked on the bytes, without a Python object per line)."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NotFast from exc
    if "#" in text or "\t" in text:
        raise NotFast
    b = np.frombuffer(raw, dtype=np.uint8)
    space = (b == 32) | (b == 13) | (b == 11) | (b == 12)
    newline = b == 10
    sep = space | newline
    starts = ~sep
    starts[1:] &= sep[:-1]
    del space, sep
    line_of_token = np.searchsorted(np.flatnonzero(newline), np.flatnonzero(starts))
    per_line = np.bincount(line_of_token)
    if per_line.size == 0 or not np.all((per_line == 0) | (per_line == width)):
        raise NotFast
    tokens = text.split()
    if len(tokens) != int(per_line.sum()):  # other Unicode whitespace: the careful reader
        raise NotFast
    return tokens


@dataclass
class _Columns:
    utt: list[str] = field(default_factory=list)
    score: list[np.ndarray] = field(default_factory=list)
    bona: list[np.ndarray] = field(default_factory=list)
    attack: list[str] = field(default_factory=list)
    condition: list[str] = field(default_factory=list)


# layout -> (width, utt, score, key, attack) column positions (None: not in the file)
SCORE_COLUMNS = {
    "asvspoof2019": (4, 0, 3, 2, 1),
    "asvspoof2021": (2, 0, 1, None, None),
    "asvspoof5": (4, 1, 2, 3, None),
}


def fast_score_columns(
    path: Path, layout: str
) -> tuple[list[str], np.ndarray, np.ndarray | None, list[str] | None]:
    """(utt, score, bona or None, attack or None) of a whitespace score file; NotFast when
    the file needs the line-by-line reader."""
    if layout not in SCORE_COLUMNS:
        raise NotFast
    width, iu, isc, ik, ia = SCORE_COLUMNS[layout]
    tokens = _tokens(path, width)
    try:
        score = np.asarray(tokens[isc::width], dtype=float)
    except ValueError as exc:
        raise NotFast from exc
    return (
        tokens[iu::width],
        score,
        _keys(tokens[ik::width]) if ik is not None else None,
        tokens[ia::width] if ia is not None else None,
    )


def _condition_2019(env: str) -> str:
    return env if env != "-" else "none"


def fast_key_columns(path: Path, layout: str) -> tuple[list[str], np.ndarray, list[str], list[str]]:
    """(utt, bona, attack, condition) of a whitespace key file in an ASVspoof layout."""
    from pingce.voice.formats import _asvspoof5_condition

    if layout == "asvspoof2019":
        t = _tokens(path, 5)
        return t[1::5], _keys(t[4::5]), t[3::5], [_condition_2019(v) for v in t[2::5]]
    if layout == "asvspoof5":
        t = _tokens(path, 10)
        return (
            t[1::10],
            _keys(t[8::10]),
            t[7::10],
            [_asvspoof5_condition(c, q) for c, q in zip(t[3::10], t[4::10], strict=True)],
        )
    c = _Columns()
    for rows in _chunks(path):
        if layout == "asvspoof2021":
            if any(len(r) < 8 for r in rows):
                raise NotFast
            c.utt.extend(r[1] for r in rows)
            c.bona.append(_keys(r[5] for r in rows))
            c.attack.extend(r[4] for r in rows)
            c.condition.extend(f"{r[2]}/{r[3]}" for r in rows)
        else:
            raise NotFast
    if not c.utt:
        raise NotFast
    return c.utt, np.concatenate(c.bona), c.attack, c.condition


def spoof_attacks(attack: list[str] | None, bona: np.ndarray) -> Categorical:
    """The attack column with "-" for every bona fide trial (as `load_trials` writes it)."""
    if attack is None:
        return Categorical.constant(UNKNOWN, bona.size)
    col = Categorical.from_values(attack)
    if bona.any():
        if UNKNOWN not in col.names:
            col.names.append(UNKNOWN)
        col.codes[bona] = col.names.index(UNKNOWN)
    return col
