"""Codec / channel conditions, applied alike to bona fide and spoof clips.

Each condition encodes the 16 kHz clip and decodes it back to 16 kHz (so the detector always
sees one rate), with sox or ffmpeg:
  none        no processing (ASVspoof 5's uncoded "-")
  alaw, ulaw  G.711 A-law / mu-law, 8 kHz
  g722        G.722 ADPCM, 16 kHz, 64 kbit/s
  gsm         GSM 06.10 full rate, 8 kHz
  amr-nb      AMR narrowband, 8 kHz, mode 7 (12.2 kbit/s)
  opus        Opus, 16 kbit/s
  mp3         MP3 (LAME), 32 kbit/s
  aac         AAC (ffmpeg native), 32 kbit/s
  noise-20db, noise-10db, noise-5db   white Gaussian noise at that SNR (seeded per clip)
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from pingce.core.errors import DataError

RATE = 16000
CODECS: dict[str, tuple[str, list[str], str]] = {
    # name: (tool, encode args placed before the output file, encoded file suffix)
    "alaw": ("ffmpeg", ["-ar", "8000", "-c:a", "pcm_alaw"], ".wav"),
    "ulaw": ("ffmpeg", ["-ar", "8000", "-c:a", "pcm_mulaw"], ".wav"),
    "g722": ("ffmpeg", ["-ar", "16000", "-c:a", "g722"], ".wav"),
    "gsm": ("sox", ["-r", "8000", "-c", "1"], ".gsm"),
    "amr-nb": ("sox", ["-r", "8000", "-c", "1", "-C", "7"], ".amr-nb"),
    "opus": ("ffmpeg", ["-c:a", "libopus", "-b:a", "16k"], ".ogg"),
    "mp3": ("ffmpeg", ["-c:a", "libmp3lame", "-b:a", "32k"], ".mp3"),
    "aac": ("ffmpeg", ["-c:a", "aac", "-b:a", "32k"], ".m4a"),
}
NOISE_SNR_DB = {"noise-20db": 20.0, "noise-10db": 10.0, "noise-5db": 5.0}
ALL_CONDITIONS = ["none", *CODECS, *NOISE_SNR_DB]


def parse_conditions(value: str) -> list[str]:
    if value.strip() == "all":
        return list(ALL_CONDITIONS)
    names = [("none" if c.strip() == "clean" else c.strip()) for c in value.split(",") if c.strip()]
    bad = [c for c in names if c not in ALL_CONDITIONS]
    if bad:
        raise DataError(
            f"unknown condition {bad[0]!r}", hint="one of: " + ", ".join(ALL_CONDITIONS)
        )
    return names


def _ffmpeg(args: list[str]) -> list[str]:
    # single-threaded and without metadata, so a seed gives identical bytes
    return [
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-y",
        "-threads",
        "1",
        *args[:-1],
        "-map_metadata",
        "-1",
        "-fflags",
        "+bitexact",
        "-flags:a",
        "+bitexact",
        args[-1],
    ]


def apply_condition(x: np.ndarray, name: str, seed: int) -> np.ndarray:
    """`x` (16 kHz float) after the condition's chain, back at 16 kHz."""
    import soundfile as sf

    if name == "none":
        return x.copy()
    if name in NOISE_SNR_DB:
        rng = np.random.default_rng(seed)
        p_signal = float(np.mean(x**2)) or 1e-12
        noise = rng.standard_normal(x.size) * np.sqrt(p_signal / 10 ** (NOISE_SNR_DB[name] / 10))
        return x + noise
    tool, enc_args, suffix = CODECS[name]
    with tempfile.TemporaryDirectory(prefix="pingce-codec-") as tmp:
        src, enc, dec = Path(tmp) / "in.wav", Path(tmp) / f"enc{suffix}", Path(tmp) / "out.wav"
        sf.write(str(src), np.clip(x, -1, 1), RATE, subtype="PCM_16")
        if tool == "sox":
            # -R: repeatable random numbers, -D: no dither, so a seed gives identical bytes
            cmds = [
                ["sox", "-R", str(src), *enc_args, str(enc)],
                ["sox", "-R", str(enc), "-D", "-r", str(RATE), "-b", "16", str(dec)],
            ]
        else:
            cmds = [
                _ffmpeg(["-i", str(src), *enc_args, str(enc)]),
                _ffmpeg(
                    ["-i", str(enc), "-ar", str(RATE), "-ac", "1", "-c:a", "pcm_s16le", str(dec)]
                ),
            ]
        for cmd in cmds:
            try:
                subprocess.run(cmd, check=True, capture_output=True, timeout=60)
            except FileNotFoundError:
                raise DataError(
                    f"condition {name}: {cmd[0]} is not installed", hint=f"apt-get install {cmd[0]}"
                ) from None
            except subprocess.CalledProcessError as exc:
                err = exc.stderr.decode("utf-8", "replace").strip().splitlines()
                raise DataError(
                    f"condition {name}: {cmd[0]} failed: {err[-1] if err else exc.returncode}"
                ) from None
        y, rate = sf.read(str(dec), dtype="float64", always_2d=True)
    assert rate == RATE
    return y.mean(axis=1)


def check_condition_tools(names: list[str]) -> None:
    """Fail before anything is written when a condition's codec tool is missing or cannot
    encode: each codec condition is run once on a tenth of a second of silence."""
    for name in names:
        if name in CODECS:
            apply_condition(np.zeros(RATE // 10), name, 0)
