"""Where the test set's audio comes from.

Bona fide: Debian's `klettres-data`, human recordings of letters and syllables in about 20
languages (/usr/share/klettres/<lang>/sounds.xml names each clip and its text).
Spoofs, each an attack:
  A01 espeak-ng     formant synthesis, every klettres language
  A02 flite-kal16   diphone concatenation (English)
  A03 flite-slt     statistical parametric (CLUSTERGEN, English)
  A04 festival-hts  HTS statistical parametric, cmu_us_slt_arctic_hts (English)
  A05 griffin-lim   copy synthesis: the bona fide clip's STFT magnitude, phase re-estimated
  A06 world         copy synthesis: WORLD vocoder (F0, spectral envelope, aperiodicity)
TTS speaks the clip's own text, so content matches the bona fide side.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pingce.core.errors import DataError

KLETTRES_ROOT = Path("/usr/share/klettres")

# klettres language code -> espeak-ng voice
ESPEAK_VOICE = {
    "en": "en-us",
    "en_GB": "en-gb",
    "fr": "fr",
    "de": "de",
    "es": "es",
    "it": "it",
    "cs": "cs",
    "da": "da",
    "nl": "nl",
    "hu": "hu",
    "ru": "ru",
    "uk": "uk",
    "pt_BR": "pt-br",
    "lt": "lt",
    "ar": "ar",
    "he": "he",
    "nb": "nb",
    "id": "id",
    "ml": "ml",
    "tn": "tn",
}


@dataclass(frozen=True)
class Attack:
    label: str  # ASVspoof-style attack id
    tag: str  # engine
    kind: str  # "tts" | "vocoder"
    english_only: bool
    tool: str | None  # executable it needs


ATTACKS = [
    Attack("A01", "espeak-ng", "tts", False, "espeak-ng"),
    Attack("A02", "flite-kal16", "tts", True, "flite"),
    Attack("A03", "flite-slt", "tts", True, "flite"),
    Attack("A04", "festival-hts", "tts", True, "text2wave"),
    Attack("A05", "griffin-lim", "vocoder", False, None),
    Attack("A06", "world", "vocoder", False, None),
]


@dataclass(frozen=True)
class Item:
    """One klettres recording: the bona fide source of a group of trials."""

    language: str
    text: str
    path: Path

    @property
    def slug(self) -> str:
        return f"{self.language}/{self.path.stem}"


def klettres_items(languages: list[str], root: Path = KLETTRES_ROOT) -> list[Item]:
    if not root.is_dir():
        raise DataError(
            f"{root} not found: the bona fide clips come from Debian's klettres-data",
            hint="apt-get install klettres-data",
        )
    items = []
    for lang in languages:
        xml = root / lang / "sounds.xml"
        if not xml.is_file():
            known = sorted(p.parent.name for p in root.glob("*/sounds.xml"))
            raise DataError(
                f"klettres has no language {lang!r}", hint="one of: " + ", ".join(known)
            )
        tree = ET.parse(xml)
        for el in tree.iter("sound"):
            path = root / el.get("file", "")
            name = (el.get("name") or "").strip()
            if name and path.is_file():
                items.append(Item(lang, name, path))
    items.sort(key=lambda i: (i.language, str(i.path)))
    return items


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    return data.mean(axis=1), int(rate)


def _run(cmd: list[str], what: str) -> None:
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    except FileNotFoundError:
        raise DataError(
            f"{what}: {cmd[0]} is not installed", hint=f"apt-get install {cmd[0]}"
        ) from None
    except subprocess.CalledProcessError as exc:
        err = exc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DataError(f"{what}: {cmd[0]} failed: {err[-1] if err else exc.returncode}") from None


def load_pyworld() -> Any | None:
    """The pyworld extension module, or None when it is not installed.

    pyworld 0.3.5's package __init__ imports pkg_resources, which setuptools >= 81 no longer
    ships; its compiled core (`pyworld/pyworld*.so`, init function PyInit_pyworld) has no
    such need, so it is loaded directly from the installed package folder.
    """
    try:
        import pyworld

        return pyworld
    except ModuleNotFoundError as exc:
        if exc.name != "pkg_resources":
            return None
    spec = importlib.util.find_spec("pyworld")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    for so in sorted(folder.glob("pyworld*.so")):
        ext_spec = importlib.util.spec_from_file_location("pyworld", so)
        if ext_spec is not None and ext_spec.loader is not None:
            module = importlib.util.module_from_spec(ext_spec)
            ext_spec.loader.exec_module(module)
            return module
    return None


def available(attack: Attack) -> bool:
    if attack.tag == "world":
        return load_pyworld() is not None
    return attack.tool is None or shutil.which(attack.tool) is not None


def griffin_lim(
    x: np.ndarray, rate: int, n_iter: int = 32, seed: int = 0, n_fft: int = 512, hop: int = 128
) -> np.ndarray:
    """Copy synthesis: keep |STFT(x)|, re-estimate the phase from random (Griffin & Lim 1984)."""
    from scipy.signal import istft, stft

    kw = {"fs": rate, "window": "hann", "nperseg": n_fft, "noverlap": n_fft - hop}
    _, _, spec = stft(x, **kw)
    mag = np.abs(spec)
    rng = np.random.default_rng(seed)
    phase = np.exp(2j * np.pi * rng.random(mag.shape))
    y = x
    for _ in range(n_iter):
        _, y = istft(mag * phase, **kw)
        _, _, est = stft(y, **kw)
        est = est[:, : mag.shape[1]]
        if est.shape[1] < mag.shape[1]:
            est = np.pad(est, ((0, 0), (0, mag.shape[1] - est.shape[1])))
        phase = np.exp(1j * np.angle(est))
    _, y = istft(mag * phase, **kw)
    return y[: x.size]


def world_resynth(x: np.ndarray, rate: int) -> np.ndarray:
    pyworld = load_pyworld()
    if pyworld is None:
        raise DataError("the WORLD attack needs pyworld", hint="pip install pyworld")
    x = np.ascontiguousarray(x, dtype=np.float64)
    f0, sp, ap = pyworld.wav2world(x, rate)
    return pyworld.synthesize(f0, sp, ap, rate)[: x.size]


def synthesize(attack: Attack, item: Item, seed: int) -> tuple[np.ndarray, int]:
    """The spoof of `item` made by `attack`, at the engine's own sample rate."""
    if attack.kind == "vocoder":
        x, rate = read_audio(item.path)
        y = (
            griffin_lim(x, rate, seed=seed)
            if attack.tag == "griffin-lim"
            else world_resynth(x, rate)
        )
        return y, rate
    with tempfile.TemporaryDirectory(prefix="pingce-tts-") as tmp:
        out = Path(tmp) / "out.wav"
        text = item.text
        if attack.tag == "espeak-ng":
            _run(
                ["espeak-ng", "-v", ESPEAK_VOICE.get(item.language, "en"), "-w", str(out), text],
                "espeak-ng",
            )
        elif attack.tag == "flite-kal16":
            _run(["flite", "-voice", "kal16", "-t", text, "-o", str(out)], "flite")
        elif attack.tag == "flite-slt":
            _run(["flite", "-voice", "slt", "-t", text, "-o", str(out)], "flite")
        elif attack.tag == "festival-hts":
            txt = Path(tmp) / "in.txt"
            txt.write_text(text + "\n", encoding="utf-8")
            _run(
                ["text2wave", "-eval", "(voice_cmu_us_slt_arctic_hts)", str(txt), "-o", str(out)],
                "festival",
            )
        else:
            raise DataError(f"unknown attack {attack.tag!r}")
        return read_audio(out)
