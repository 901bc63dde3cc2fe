"""Join a score file with its keys into trials, after the validity checks.

Checks, each a one-line `DataError` with counts: non-finite scores (NaN, inf), duplicate
utterance ids in the scores, scores without keys and keys without scores, a key in the score
file that contradicts the key file, fewer than 3 distinct score values (hard decisions, not
scores), and a class with no trials.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pingce.core.errors import DataError
from pingce.voice.formats import nonfinite, read_keys, read_scores
from pingce.voice.table import BONAFIDE, SPOOF, KeyRow, Trial

MIN_DISTINCT_SCORES = 3


@dataclass(frozen=True)
class TrialSet:
    trials: list[Trial]
    provenance: dict[str, Any]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
    n_bona = sum(t.key == BONAFIDE for t in trials)
    n_spoof = len(trials) - n_bona
    if n_bona == 0 or n_spoof == 0:
        raise DataError(
            f"{scores}: {n_bona} bona fide and {n_spoof} spoof trials; both classes are needed"
        )
    distinct = len({t.score for t in trials})
    if distinct < MIN_DISTINCT_SCORES:
        raise DataError(
            f"{scores}: only {distinct} distinct score value(s) over {len(trials)} trials",
            hint="give soft detector scores, not hard decisions",
        )
    provenance = {
        "scores": str(scores),
        "scores_layout": s_layout,
        "scores_sha256": _sha256(scores),
        "keys": str(keys) if keys else None,
        "keys_layout": k_layout,
        "keys_sha256": _sha256(keys) if keys else None,
        "n_bonafide": n_bona,
        "n_spoof": n_spoof,
    }
    return TrialSet(trials, provenance)
