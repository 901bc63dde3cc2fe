"""The reference countermeasure: LFCC (+Δ, ΔΔ) front end, two GMMs, logistic calibration.

Training (`train_from_testset`): one diagonal-covariance GaussianMixture per class
(scikit-learn) on the LFCC frames of the train split. Raw score of an utterance: the mean
over its frames of log p(x | bona fide GMM) - log p(x | spoof GMM). Calibration: a logistic
regression of the class on the raw score, fitted on the dev split with balanced class
weights, so its log-odds output is a log-likelihood ratio (bona fide vs spoof) under equal
priors; `score` returns that LLR, ready for actDCF's Bayes threshold and Cllr.

Run it as a subject: ``python:pingce.voice.baseline:load_detector?model=PATH``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from pingce.core.errors import DataError, ModelError
from pingce.voice.lfcc import lfcc

RATE = 16000
MAX_FRAMES_PER_CLASS = 40_000


def _gmm_arrays(g: Any, prefix: str) -> dict[str, np.ndarray]:
    return {
        f"{prefix}_weights": g.weights_,
        f"{prefix}_means": g.means_,
        f"{prefix}_covariances": g.covariances_,
    }


def _gmm_from(arrays: Any, prefix: str) -> Any:
    from sklearn.mixture import GaussianMixture

    w, m, c = (
        arrays[f"{prefix}_weights"],
        arrays[f"{prefix}_means"],
        arrays[f"{prefix}_covariances"],
    )
    g = GaussianMixture(n_components=w.size, covariance_type="diag")
    g.weights_, g.means_, g.covariances_ = w, m, c
    g.precisions_cholesky_ = 1.0 / np.sqrt(c)
    return g


class LfccGmmDetector:
    """score(samples, rate) -> calibrated LLR (bona fide over spoof), natural log."""

    def __init__(self, bona: Any, spoof: Any, a: float = 1.0, b: float = 0.0) -> None:
        self.bona, self.spoof, self.a, self.b = bona, spoof, a, b

    def raw_score(self, samples: np.ndarray, rate: int) -> float:
        if rate != RATE:
            raise ValueError(f"the LFCC-GMM baseline expects {RATE} Hz audio, got {rate} Hz")
        feats = lfcc(samples, rate)
        return float(np.mean(self.bona.score_samples(feats) - self.spoof.score_samples(feats)))

    def score(self, samples: np.ndarray, rate: int) -> float:
        return self.a * self.raw_score(samples, rate) + self.b

    def save(self, path: Path, info: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:  # np.savez would append .npz to a name without it
            np.savez(
                fh,
                **_gmm_arrays(self.bona, "bona"),
                **_gmm_arrays(self.spoof, "spoof"),
                calibration=np.array([self.a, self.b]),
                info=np.array(repr(info)),
            )


def load_detector(model: str) -> Any:
    """The detector saved by `train-baseline` (a .npz; no pickle): LFCC-GMM or LCNN."""
    path = Path(model).expanduser()
    if not path.is_file():
        raise ModelError(
            f"baseline model {path} does not exist",
            hint="pingce voice train-baseline --data DIR --out FILE",
        )
    try:
        arrays = np.load(path, allow_pickle=False)
        if "kind" in arrays.files:  # the LCNN countermeasure shares this loader
            from pingce.voice.cnn import load_detector as load_cnn

            return load_cnn(model)
        a, b = (float(v) for v in arrays["calibration"])
        return LfccGmmDetector(_gmm_from(arrays, "bona"), _gmm_from(arrays, "spoof"), a, b)
    except (KeyError, ValueError, OSError) as exc:
        raise ModelError(f"{path}: not a pingce LFCC-GMM model ({exc})") from None


def read_metadata(data: Path) -> list[dict[str, str]]:
    meta = data / "metadata.tsv"
    if not meta.is_file():
        raise DataError(
            f"{meta} not found", hint="build it with: pingce voice build-testset --out DIR"
        )
    with meta.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def load_audio(data: Path, utt: str) -> np.ndarray:
    """One clip of a built set as float64 samples at RATE."""
    import soundfile as sf

    x, rate = sf.read(str(data / "audio" / f"{utt}.wav"), dtype="float64")
    if rate != RATE:
        raise DataError(
            f"{utt}.wav is {rate} Hz; the baseline trains on {RATE} Hz sets (build with confound removal)"
        )
    return x


def split_rows(
    data: Path, rows: list[dict[str, str]]
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The train and dev rows of a set's metadata; each must hold both classes."""
    train = [r for r in rows if r["split"] == "train"]
    dev = [r for r in rows if r["split"] == "dev"]
    for name, part in (("train", train), ("dev", dev)):
        if not any(r["key"] == "bonafide" for r in part) or not any(
            r["key"] == "spoof" for r in part
        ):
            raise DataError(
                f"{data}: the {name} split needs bona fide and spoof clips",
                hint="build a larger set",
            )
    return train, dev


def fit_calibration(raw: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(a, b) of a*raw + b = LLR: logistic regression of the class (1 = bona fide) on the raw
    score with balanced class weights, so the log-odds are an LLR under equal priors."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(class_weight="balanced").fit(raw.reshape(-1, 1), labels)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def train_from_testset(
    data: Path, out: Path, *, components: int = 16, seed: int = 1234
) -> dict[str, Any]:
    """Fit on the train split, calibrate on dev, save to `out`; returns counts and dev EER."""
    from sklearn.mixture import GaussianMixture

    from pingce.voice.metrics import eer

    rows = read_metadata(data)
    train, dev = split_rows(data, rows)
    rng = np.random.default_rng(seed)
    gmms = {}
    for key in ("bonafide", "spoof"):
        feats = np.vstack(
            [lfcc(load_audio(data, r["utt"]), RATE) for r in train if r["key"] == key]
        )
        if feats.shape[0] > MAX_FRAMES_PER_CLASS:
            feats = feats[rng.choice(feats.shape[0], MAX_FRAMES_PER_CLASS, replace=False)]
        k = min(components, max(1, feats.shape[0] // 20))
        gmms[key] = GaussianMixture(
            n_components=k, covariance_type="diag", reg_covar=1e-3, max_iter=200, random_state=seed
        ).fit(feats)
    det = LfccGmmDetector(gmms["bonafide"], gmms["spoof"])
    raw = np.array([det.raw_score(load_audio(data, r["utt"]), RATE) for r in dev])
    y = np.array([r["key"] == "bonafide" for r in dev], dtype=int)
    det.a, det.b = fit_calibration(raw, y)
    dev_eer = eer(raw[y == 1], raw[y == 0])[0]
    info = {
        "n_train": len(train),
        "n_dev": len(dev),
        "dev_eer": dev_eer,
        "components": components,
        "seed": seed,
    }
    det.save(out, info)
    return info
