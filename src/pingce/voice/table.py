"""One internal table of detector trials, whatever file layout they came from.

A trial is one utterance: its detector score (bona fide scores higher by convention), its key
(bona fide or spoof), the attack that produced it ("-" for bona fide), the codec/channel
condition it went through and its language ("-" when unknown).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BONAFIDE = "bonafide"
SPOOF = "spoof"
UNKNOWN = "-"

# Spellings of the two keys met in the wild (ASVspoof writes "bonafide"/"spoof", ADD and
# In-the-Wild write "genuine"/"real"/"fake"), all mapped onto ASVspoof's two words.
KEY_ALIASES = {
    "bonafide": BONAFIDE,
    "bona-fide": BONAFIDE,
    "bona_fide": BONAFIDE,
    "genuine": BONAFIDE,
    "real": BONAFIDE,
    "human": BONAFIDE,
    "spoof": SPOOF,
    "spoofed": SPOOF,
    "fake": SPOOF,
    "deepfake": SPOOF,
}


def normalise_key(value: str) -> str | None:
    """'bonafide' or 'spoof' for any known spelling (case-insensitive); None otherwise."""
    return KEY_ALIASES.get(value.strip().lower())


@dataclass(frozen=True)
class KeyRow:
    """What the key/protocol file says about one utterance."""

    key: str
    attack: str = UNKNOWN
    condition: str = UNKNOWN
    language: str = UNKNOWN
    speaker: str = UNKNOWN
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Trial:
    utt: str
    score: float
    key: str
    attack: str = UNKNOWN
    condition: str = UNKNOWN
    language: str = UNKNOWN

    @property
    def is_bonafide(self) -> bool:
        return self.key == BONAFIDE


def split_scores(trials: list[Trial]) -> tuple[np.ndarray, np.ndarray]:
    """(bona fide scores, spoof scores) as float arrays."""
    bona = np.array([t.score for t in trials if t.key == BONAFIDE], dtype=float)
    spoof = np.array([t.score for t in trials if t.key == SPOOF], dtype=float)
    return bona, spoof
