"""Confound removal: make bona fide and spoof clips differ only in how they were made.

Without it a detector (or a metric) learns the recording chain, not spoofing: klettres clips
are 44.1 kHz Ogg Vorbis, espeak-ng writes 22.05 kHz, flite 16 kHz, festival HTS 32 kHz, and
TTS leaves digital silence where microphones leave a noise floor. Every clip, whatever its
class, goes through the same steps:
  1. mono, resampled to 16 kHz (polyphase, scipy.signal.resample_poly);
  2. band-limited to 60-7000 Hz (8th-order Butterworth, zero phase), below every source's
     Nyquist, so bandwidth carries no class information;
  3. leading/trailing silence trimmed (20 ms frames more than 40 dB under the loudest frame),
     with 30 ms kept either side;
  4. loudness normalised: RMS over the active frames set to -26 dBFS, peaks kept under -1 dBFS;
  5. a -70 dBFS white noise floor added (seeded), so no clip has digital silence.
"""

from __future__ import annotations

from math import gcd

import numpy as np
from scipy.signal import butter, resample_poly, sosfiltfilt

RATE = 16000
BAND_HZ = (60.0, 7000.0)
TRIM_DB = 40.0
PAD_S = 0.03
TARGET_DBFS = -26.0
PEAK_MAX = 10 ** (-1 / 20)
NOISE_FLOOR_DBFS = -70.0
FRAME_S = 0.02


def resample(x: np.ndarray, rate: int, target: int = RATE) -> np.ndarray:
    if rate == target:
        return x.astype(np.float64)
    g = gcd(rate, target)
    return resample_poly(x, target // g, rate // g)


def band_limit(x: np.ndarray, rate: int = RATE) -> np.ndarray:
    sos = butter(8, BAND_HZ, btype="bandpass", fs=rate, output="sos")
    return sosfiltfilt(sos, x)


def _frame_db(x: np.ndarray, frame: int) -> np.ndarray:
    n = max(1, x.size // frame)
    frames = x[: n * frame].reshape(n, frame) if x.size >= frame else x.reshape(1, -1)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)


def trim_silence(x: np.ndarray, rate: int = RATE) -> np.ndarray:
    frame = int(FRAME_S * rate)
    db = _frame_db(x, frame)
    active = np.flatnonzero(db > db.max() - TRIM_DB)
    if active.size == 0:
        return x
    pad = int(PAD_S * rate)
    start = max(0, active[0] * frame - pad)
    end = min(x.size, (active[-1] + 1) * frame + pad)
    return x[start:end]


def normalise_loudness(x: np.ndarray, rate: int = RATE) -> np.ndarray:
    frame = int(FRAME_S * rate)
    db = _frame_db(x, frame)
    n = db.size
    frames = x[: n * frame].reshape(n, frame) if x.size >= frame else x.reshape(1, -1)
    active = frames[db > db.max() - TRIM_DB]
    rms = float(np.sqrt(np.mean(active**2))) or 1e-12
    y = x * (10 ** (TARGET_DBFS / 20) / rms)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    return y * (PEAK_MAX / peak) if peak > PEAK_MAX else y


def add_noise_floor(x: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return x + rng.standard_normal(x.size) * 10 ** (NOISE_FLOOR_DBFS / 20)


def equalise(x: np.ndarray, rate: int, seed: int) -> np.ndarray:
    """Steps 1-5 above, in order."""
    y = band_limit(resample(x, rate))
    y = trim_silence(y)
    y = normalise_loudness(y)
    return add_noise_floor(y, seed)
