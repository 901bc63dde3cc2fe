"""LFCC front end (hand-checkable properties), every codec/noise condition, audio checks, docs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pingce.voice.audio import BadAudio, check_audio
from pingce.voice.lfcc import delta, lfcc, linear_filterbank
from pingce.voice.testset.conditions import (
    ALL_CONDITIONS,
    CODECS,
    NOISE_SNR_DB,
    apply_condition,
)
from pingce.voice.testset.confounds import equalise


def test_delta_of_a_ramp_is_its_slope() -> None:
    # HTK regression on c_t = 3t: sum n(3(t+n) - 3(t-n)) / (2 sum n^2) = 3 away from the edges
    feat = (3.0 * np.arange(20.0))[:, None]
    assert np.allclose(delta(feat)[2:-2], 3.0)


def test_filterbank_is_linear_and_peaks_at_centres() -> None:
    fb = linear_filterbank(16000)
    assert fb.shape == (20, 257)
    centres = np.linspace(0, 8000, 22)[1:-1]
    freqs = np.linspace(0, 8000, 257)
    assert np.allclose(freqs[fb.argmax(axis=1)], centres, atol=8000 / 256)


def test_lfcc_shape_and_tone_energy() -> None:
    t = np.arange(16000) / 16000
    x = 0.5 * np.sin(2 * np.pi * 1000 * t)
    feats = lfcc(x, 16000)
    assert feats.shape == (1 + (16000 - 320) // 160, 60)
    assert np.isfinite(feats).all()


def _needs(name: str) -> list[pytest.MarkDecorator]:
    """The Debian packages a condition's codec chain runs (sox's GSM/AMR need libsox-fmt-all)."""
    tool = CODECS[name][0] if name in CODECS else None
    marks = [pytest.mark.debian_package(tool, binary=tool)] if tool else []
    if tool == "sox":
        marks.append(pytest.mark.debian_package("libsox-fmt-all"))
    return marks


@pytest.mark.parametrize("name", [pytest.param(c, marks=_needs(c)) for c in ALL_CONDITIONS])
def test_every_condition_round_trips_at_16k(name: str) -> None:
    rng = np.random.default_rng(0)
    t = np.arange(8000) / 16000
    x = equalise(
        0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.1 * rng.standard_normal(t.size)), 16000, seed=1
    )
    y = apply_condition(x, name, seed=2)
    assert abs(y.size - x.size) < 0.1 * 16000  # codec padding only
    if name == "none":
        assert np.array_equal(x, y)
    else:
        n = min(x.size, y.size)
        assert not np.allclose(x[:n], y[:n], atol=1e-4)
    if name in NOISE_SNR_DB:
        snr = 10 * np.log10(np.mean(x**2) / np.mean((y - x) ** 2))
        assert snr == pytest.approx(NOISE_SNR_DB[name], abs=0.5)


def test_check_audio_verdicts(tmp_path: Path) -> None:
    sf.write(str(tmp_path / "ok.wav"), np.zeros(1600) + 0.01, 16000)
    sf.write(str(tmp_path / "rate.wav"), np.zeros(800) + 0.01, 8000)
    sf.write(str(tmp_path / "empty.wav"), np.zeros(0), 16000)
    sf.write(str(tmp_path / "clip.wav"), np.ones(1600), 16000)
    (tmp_path / "bad.wav").write_bytes(b"not audio at all")
    assert not isinstance(check_audio(tmp_path / "ok.wav", 16000), BadAudio)
    kinds = {
        n: getattr(check_audio(tmp_path / f"{n}.wav", 16000), "kind", None)
        for n in ("rate", "empty", "bad", "missing")
    }
    assert kinds == {"rate": "wrong-rate", "empty": "empty", "bad": "corrupt", "missing": "missing"}
    clip = check_audio(tmp_path / "clip.wav", 16000)
    assert not isinstance(clip, BadAudio) and clip.clipped


def test_every_voice_indicator_is_documented() -> None:
    from pingce.voice.standard import VoiceStandard

    page = (Path(__file__).resolve().parents[2] / "docs" / "standards" / "voice.md").read_text(
        encoding="utf-8"
    )
    missing = [i.id for i in VoiceStandard().indicators() if f"`{i.id}`" not in page]
    assert not missing, missing
