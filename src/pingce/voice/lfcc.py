"""Linear-frequency cepstral coefficients (LFCC) with deltas, as in the ASVspoof baselines.

x -> pre-emphasis (0.97) -> 20 ms Hamming frames every 10 ms -> |FFT|^2 (512 points) ->
20 triangular filters spaced linearly from 0 Hz to Nyquist -> log -> DCT-II (orthonormal),
first 20 coefficients (c0 included) -> Δ and ΔΔ by the HTK regression formula over ±2
frames: d_t = Σ_n n (c_{t+n} - c_{t-n}) / (2 Σ_n n²), edges padded by repetition.
Output: (frames, 60) float64.

LFCC describes the short-time *magnitude* spectrum only: phase, and anything a vocoder keeps
intact in the magnitude (copy synthesis re-using the original magnitude, e.g. Griffin-Lim),
is invisible to it.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import dct, rfft

N_FILTERS = 20
N_CEPS = 20
FRAME_S = 0.02
HOP_S = 0.01
N_FFT = 512
DELTA_WIDTH = 2


def linear_filterbank(rate: int, n_fft: int = N_FFT, n_filters: int = N_FILTERS) -> np.ndarray:
    """(n_filters, n_fft // 2 + 1) triangular filters with linearly spaced centres."""
    freqs = np.linspace(0, rate / 2, n_fft // 2 + 1)
    edges = np.linspace(0, rate / 2, n_filters + 2)
    fb = np.zeros((n_filters, freqs.size))
    for i in range(n_filters):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        rise = (freqs - lo) / (mid - lo)
        fall = (hi - freqs) / (hi - mid)
        fb[i] = np.clip(np.minimum(rise, fall), 0, None)
    return fb


def delta(feat: np.ndarray, width: int = DELTA_WIDTH) -> np.ndarray:
    """HTK regression deltas along time (axis 0)."""
    padded = np.pad(feat, ((width, width), (0, 0)), mode="edge")
    denom = 2 * sum(n * n for n in range(1, width + 1))
    t = feat.shape[0]
    out = np.zeros_like(feat)
    for n in range(1, width + 1):
        out += n * (padded[width + n : width + n + t] - padded[width - n : width - n + t])
    return out / denom


def lfcc(x: np.ndarray, rate: int) -> np.ndarray:
    """LFCC + Δ + ΔΔ, shape (frames, 3 * N_CEPS)."""
    x = np.asarray(x, dtype=np.float64)
    x = np.append(x[:1], x[1:] - 0.97 * x[:-1]) if x.size else x
    frame, hop = int(FRAME_S * rate), int(HOP_S * rate)
    if x.size < frame:
        x = np.pad(x, (0, frame - x.size))
    n = 1 + (x.size - frame) // hop
    idx = np.arange(frame)[None, :] + hop * np.arange(n)[:, None]
    frames = x[idx] * np.hamming(frame)
    power = np.abs(rfft(frames, n=N_FFT, axis=1)) ** 2
    energies = power @ linear_filterbank(rate).T
    ceps = dct(np.log(energies + 1e-10), type=2, norm="ortho", axis=1)[:, :N_CEPS]
    d1 = delta(ceps)
    return np.hstack([ceps, d1, delta(d1)])
