"""Reading audio for a detector under test, with a clear verdict on bad files.

`check_audio` returns the waveform (float64, mono, in [-1, 1]) or a `BadAudio` reason:
corrupt (the decoder fails), empty (no samples or shorter than 10 ms), wrong sample rate
(not the rate the test declares). Clipping is recorded as a flag, not an error: clipped
speech is still speech a deployed detector must score.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MIN_SECONDS = 0.01
CLIP_LEVEL = 0.999  # |x| at or above this is taken as full scale
CLIP_FRACTION = 0.001  # flagged when more than 0.1% of samples sit at full scale


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # float64, mono, [-1, 1]
    sample_rate: int
    clipped: bool

    @property
    def seconds(self) -> float:
        return self.samples.size / self.sample_rate


@dataclass(frozen=True)
class BadAudio:
    kind: str  # "missing" | "corrupt" | "empty" | "wrong-rate"
    message: str


def clipped_fraction(x: np.ndarray) -> float:
    return float(np.mean(np.abs(x) >= CLIP_LEVEL)) if x.size else 0.0


def check_audio(path: Path, expected_rate: int | None) -> Audio | BadAudio:
    import soundfile as sf

    if not path.is_file():
        return BadAudio("missing", f"{path.name}: file does not exist")
    try:
        data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    except Exception as exc:  # soundfile raises LibsndfileError/RuntimeError/TypeError
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return BadAudio("corrupt", f"{path.name}: cannot decode ({reason[:160]})")
    x = data.mean(axis=1)
    if x.size < MIN_SECONDS * rate:
        return BadAudio(
            "empty", f"{path.name}: {x.size} samples ({x.size / rate:.3f} s), no speech to score"
        )
    if expected_rate is not None and rate != expected_rate:
        return BadAudio(
            "wrong-rate", f"{path.name}: sample rate {rate} Hz, expected {expected_rate} Hz"
        )
    return Audio(x, int(rate), clipped_fraction(x) > CLIP_FRACTION)
