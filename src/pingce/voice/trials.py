"""Join a score file with its keys into trials, after the validity checks.

Checks, each a one-line `DataError` with counts: non-finite scores (NaN, inf), duplicate
utterance ids in the scores, scores without keys and keys without scores, a key in the score
file that contradicts the key file, fewer than 3 distinct score values (hard decisions, not
scores), and a class with no trials.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pingce.core.errors import DataError
from pingce.core.fingerprint import file_sha256
from pingce.voice.columns import (
    Categorical,
    NotFast,
    TrialTable,
    fast_key_columns,
    fast_score_columns,
    spoof_attacks,
)
from pingce.voice.formats import (
    detect_key_layout,
    detect_score_layout,
    nonfinite,
    read_keys,
    read_scores,
)
from pingce.voice.table import SPOOF, KeyRow, Trial

MIN_DISTINCT_SCORES = 3


@dataclass(frozen=True)
class TrialSet:
    trials: list[Trial]
    provenance: dict[str, Any]


def _sha256(path: Path) -> str:
    return file_sha256(path)


def _first(items: list[str], n: int = 1) -> str:
    return ", ".join(repr(x) for x in items[:n])


def load_trials(
    scores: Path,
    keys: Path | None = None,
    *,
    scores_format: str = "auto",
    keys_format: str = "auto",
) -> TrialSet:
    """Read, check and join; the trials keep the score file's order."""
    table = load_table(scores, keys, scores_format=scores_format, keys_format=keys_format)
    return TrialSet(table.trials(), table.provenance)


def load_table(
    scores: Path,
    keys: Path | None = None,
    *,
    scores_format: str = "auto",
    keys_format: str = "auto",
    min_distinct: int = MIN_DISTINCT_SCORES,
) -> TrialTable:
    """`load_trials` as columns: the fast column reader where the files are plain ASVspoof
    layouts and every check passes, else the line-by-line reader, whose errors name the file,
    line and problem. `min_distinct` 1 accepts hard decisions (the decisions mode)."""
    try:
        table = _fast_table(scores, keys, scores_format, keys_format)
    except NotFast:
        table = _slow_table(scores, keys, scores_format, keys_format)
    n_bona = int(table.bona.sum())
    n_spoof = len(table) - n_bona
    if n_bona == 0 or n_spoof == 0:
        raise DataError(
            f"{scores}: {n_bona} bona fide and {n_spoof} spoof trials; both classes are needed"
        )
    distinct = int(np.unique(table.score).size)
    if distinct < min_distinct:
        raise DataError(
            f"{scores}: only {distinct} distinct score value(s) over {len(table)} trials",
            hint="give soft detector scores, not hard decisions "
            "(or evaluate the decisions as they are with --decisions)",
        )
    table.provenance.update(
        {
            "scores": str(scores),
            "scores_sha256": _sha256(scores),
            "keys": str(keys) if keys else None,
            "keys_sha256": _sha256(keys) if keys else None,
            "n_bonafide": n_bona,
            "n_spoof": n_spoof,
        }
    )
    return table


def _first_row(path: Path) -> list[tuple[int, list[str]]]:
    """The first trial line, for layout detection (the whole file is read later)."""
    if not path.is_file():
        raise NotFast
    with open(path, encoding="utf-8", errors="replace") as f:
        for i, raw in enumerate(f, start=1):
            stripped = raw.strip()
            if stripped and not stripped.startswith("#"):
                return [(i, stripped.split("\t") if "\t" in stripped else stripped.split())]
    raise NotFast


def _fast_table(
    scores: Path, keys: Path | None, scores_format: str, keys_format: str
) -> TrialTable:
    try:
        s_layout = (
            scores_format
            if scores_format != "auto"
            else detect_score_layout(scores, _first_row(scores))
        )
    except DataError as exc:
        raise NotFast from exc
    utt, score, bona, attack = fast_score_columns(scores, s_layout)
    n = len(utt)
    if not np.isfinite(score).all() or len(set(utt)) != n:
        raise NotFast
    condition = Categorical.constant("-", n)
    k_layout = None
    if keys is not None:
        try:
            k_layout = (
                keys_format if keys_format != "auto" else detect_key_layout(keys, _first_row(keys))
            )
        except DataError as exc:
            raise NotFast from exc
        if k_layout.startswith("score-"):
            k_utt, _, k_bona, k_attack = fast_score_columns(keys, k_layout.removeprefix("score-"))
            if k_bona is None:
                raise NotFast
            k_cond: list[str] | None = None
        else:
            k_utt, k_bona, k_attack, k_cond = fast_key_columns(keys, k_layout)  # type: ignore[assignment]
        index = {u: i for i, u in enumerate(k_utt)}
        if len(index) != len(k_utt) or len(index) != n:
            raise NotFast
        try:
            pos = np.fromiter((index[u] for u in utt), dtype=np.int64, count=n)
        except KeyError as exc:
            raise NotFast from exc
        if bona is not None and (bona != k_bona[pos]).any():
            raise NotFast
        bona = k_bona[pos]
        attack_col = spoof_attacks(k_attack, k_bona).take(pos)
        if k_cond is not None:
            condition = Categorical.from_values(k_cond).take(pos)
    else:
        if bona is None:
            raise NotFast
        attack_col = spoof_attacks(attack, bona)
    return TrialTable(
        utt,
        score,
        bona,
        attack_col,
        condition,
        Categorical.constant("-", n),
        {"scores_layout": s_layout, "keys_layout": k_layout},
    )


def _slow_table(
    scores: Path, keys: Path | None, scores_format: str, keys_format: str
) -> TrialTable:
    s_layout, lines = read_scores(scores, scores_format)
    bad = nonfinite(lines)
    if bad:
        raise DataError(
            f"{scores}: {len(bad)} score(s) are NaN or infinite "
            f"(first: line {bad[0].line}, utt {bad[0].utt!r})",
            hint="a detector must output a finite score for every trial",
        )
    seen: dict[str, int] = {}
    dups = []
    for s in lines:
        if s.utt in seen:
            dups.append(s.utt)
        seen[s.utt] = s.line
    if dups:
        raise DataError(
            f"{scores}: {len(dups)} duplicate utterance id(s) (first: {dups[0]!r})",
            hint="each trial must be scored once",
        )
    key_map: dict[str, KeyRow]
    k_layout = None
    if keys is not None:
        k_layout, raw = read_keys(keys, keys_format)
        key_map = {u: row for u, (_, row) in raw.items()}
        missing = [s.utt for s in lines if s.utt not in key_map]
        unscored = [u for u in key_map if u not in seen]
        if missing or unscored:
            parts = []
            if missing:
                parts.append(
                    f"{len(missing)} scored utterance(s) have no key (first: {_first(missing)})"
                )
            if unscored:
                parts.append(
                    f"{len(unscored)} keyed utterance(s) have no score (first: {_first(unscored)})"
                )
            raise DataError(
                f"{scores} vs {keys}: " + "; ".join(parts),
                hint="score every trial of the protocol, and only those",
            )
        clash = [s.utt for s in lines if s.key is not None and s.key.key != key_map[s.utt].key]
        if clash:
            raise DataError(
                f"{scores} vs {keys}: {len(clash)} utterance(s) have a different key in the "
                f"score file (first: {clash[0]!r})"
            )
    else:
        unkeyed = [s.utt for s in lines if s.key is None]
        if unkeyed:
            raise DataError(
                f"{scores}: {len(unkeyed)} trial(s) carry no key and no key file was given",
                hint="pass --keys PROTOCOL (the 2021 layout 'trial score' needs one)",
            )
        key_map = {s.utt: s.key for s in lines if s.key is not None}
    trials = []
    for s in lines:
        row = key_map[s.utt]
        attack = row.attack if row.key == SPOOF else "-"
        trials.append(Trial(s.utt, s.score, row.key, attack, row.condition, row.language))
    return TrialTable.from_trials(trials, {"scores_layout": s_layout, "keys_layout": k_layout})
