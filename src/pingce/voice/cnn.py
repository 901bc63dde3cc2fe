"""A light CNN (LCNN, max-feature-map) countermeasure on LFCC, calibrated like the GMM baseline.

Input: the LFCC (+Δ, ΔΔ) matrix of `pingce.voice.lfcc` (frames x 60), standardised with the
train split's per-coefficient mean and standard deviation. Training crops (or repeats) each
utterance to `TRAIN_FRAMES` frames (3 s) so a batch is one tensor; scoring uses the whole
utterance (the network ends in global average pooling, so any length >= 8 frames works).

Network (after Lavrentyeva et al., LCNN for ASVspoof 2019, shrunk for CPU): three blocks of
conv -> max-feature-map (channel halves, element-wise max) -> 2x2 max-pool, then global
average pooling and one linear unit whose output is the raw score (bona fide log-odds before
calibration). Trained with binary cross-entropy (balanced by class weight), Adam.

Determinism: `torch.manual_seed(seed)` before the weights are built, a seeded generator for
the batch order, and one intra-op thread while training; the same seed and set give the same
model file bit for bit. Calibration: the shared logistic calibration on the dev split
(`baseline.fit_calibration`), so `score` is a natural-log LLR, bona fide over spoof.

Saved as a .npz (weights, normalisation, calibration; no pickle). Run it as a subject:
``python:pingce.voice.cnn:load_detector?model=PATH`` (the baseline's loader also accepts it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pingce.core.errors import DataError, ModelError
from pingce.voice.lfcc import lfcc

RATE = 16000
TRAIN_FRAMES = 300
MIN_FRAMES = 8
KIND = "lcnn-lfcc"


def _build_net(channels: int = 16) -> Any:
    import torch
    from torch import nn

    class MaxFeatureMap(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a, b = x.chunk(2, dim=1)
            return torch.maximum(a, b)

    class LCNN(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(1, 2 * c, 5, padding=2),
                MaxFeatureMap(),
                nn.MaxPool2d(2),
                nn.Conv2d(c, 2 * c, 3, padding=1),
                MaxFeatureMap(),
                nn.MaxPool2d(2),
                nn.BatchNorm2d(c, affine=False),
                nn.Conv2d(c, 2 * c, 3, padding=1),
                MaxFeatureMap(),
                nn.MaxPool2d(2),
            )
            self.head = nn.Linear(c, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            # x: (batch, frames, coefficients) -> (batch, 1, coefficients, frames)
            h = self.body(x.transpose(1, 2).unsqueeze(1))
            return self.head(h.mean(dim=(2, 3))).squeeze(1)

    return LCNN(channels)


def _fixed(feat: np.ndarray, frames: int) -> np.ndarray:
    """Repeat a short utterance, then keep the first `frames` frames."""
    reps = -(-frames // feat.shape[0])
    return np.tile(feat, (reps, 1))[:frames]


class LcnnDetector:
    """score(samples, rate) -> calibrated LLR (bona fide over spoof), natural log."""

    def __init__(
        self, net: Any, mean: np.ndarray, std: np.ndarray, a: float = 1.0, b: float = 0.0
    ) -> None:
        self.net, self.mean, self.std, self.a, self.b = net.eval(), mean, std, a, b

    def features(self, samples: np.ndarray, rate: int) -> np.ndarray:
        if rate != RATE:
            raise ValueError(f"the LCNN countermeasure expects {RATE} Hz audio, got {rate} Hz")
        feat = (lfcc(samples, rate) - self.mean) / self.std
        return _fixed(feat, MIN_FRAMES) if feat.shape[0] < MIN_FRAMES else feat

    def raw_score(self, samples: np.ndarray, rate: int) -> float:
        import torch

        x = torch.from_numpy(self.features(samples, rate).astype(np.float32))[None]
        with torch.no_grad():
            return float(self.net(x)[0])

    def score(self, samples: np.ndarray, rate: int) -> float:
        return self.a * self.raw_score(samples, rate) + self.b

    def save(self, path: Path, info: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        weights = {f"w:{k}": v.detach().cpu().numpy() for k, v in self.net.state_dict().items()}
        with path.open("wb") as fh:  # np.savez would append .npz to a name without it
            np.savez(
                fh,
                kind=np.array(KIND),
                mean=self.mean,
                std=self.std,
                calibration=np.array([self.a, self.b]),
                info=np.array(repr(info)),
                **weights,
            )


def detector_from_arrays(arrays: Any, path: Path) -> LcnnDetector:
    import torch

    try:
        net = _build_net()
        state = {
            k[2:]: torch.from_numpy(np.array(arrays[k])) for k in arrays.files if k[:2] == "w:"
        }
        net.load_state_dict(state)
        a, b = (float(v) for v in arrays["calibration"])
        return LcnnDetector(net, arrays["mean"], arrays["std"], a, b)
    except (KeyError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{path}: not a pingce LCNN model ({exc})") from None


def load_detector(model: str) -> LcnnDetector:
    """The detector saved by `train-baseline --kind cnn` (a .npz; no pickle)."""
    path = Path(model).expanduser()
    if not path.is_file():
        raise ModelError(
            f"LCNN model {path} does not exist",
            hint="pingce voice train-baseline --kind cnn --data DIR --out FILE",
        )
    try:
        arrays = np.load(path, allow_pickle=False)
        kind = str(arrays["kind"]) if "kind" in arrays.files else "?"
    except (ValueError, OSError) as exc:
        raise ModelError(f"{path}: not a pingce LCNN model ({exc})") from None
    if kind != KIND:
        raise ModelError(f"{path}: not a pingce LCNN model (kind {kind!r})")
    return detector_from_arrays(arrays, path)


def train_from_testset(
    data: Path,
    out: Path,
    *,
    epochs: int = 30,
    batch_size: int = 16,
    lr: float = 2e-3,
    seed: int = 1234,
    show_progress: bool = False,
) -> dict[str, Any]:
    """Train on the train split, calibrate on dev, save to `out`; returns counts and dev EER."""
    import torch

    from pingce.voice.baseline import fit_calibration, load_audio, read_metadata, split_rows
    from pingce.voice.metrics import eer

    rows = read_metadata(data)
    train, dev = split_rows(data, rows)
    feats = [lfcc(load_audio(data, r["utt"]), RATE) for r in train]
    stacked = np.vstack(feats)
    mean, std = stacked.mean(axis=0), stacked.std(axis=0) + 1e-8
    x = torch.from_numpy(
        np.stack([_fixed((f - mean) / std, TRAIN_FRAMES) for f in feats]).astype(np.float32)
    )
    y = torch.tensor([r["key"] == "bonafide" for r in train], dtype=torch.float32)
    n_pos = float(y.sum())
    if n_pos == 0 or n_pos == len(y):
        raise DataError(f"{data}: the train split needs bona fide and spoof clips")
    pos_weight = torch.tensor((len(y) - n_pos) / n_pos)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # multi-threaded reductions are not bit-reproducible
    try:
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        net = _build_net()
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
        net.train()
        epoch_iter: Any = range(epochs)
        if show_progress:
            from rich.progress import track

            epoch_iter = track(epoch_iter, description="training LCNN")
        for _ in epoch_iter:
            order = torch.randperm(len(y), generator=gen)
            for i in range(0, len(y), batch_size):
                idx = order[i : i + batch_size]
                opt.zero_grad()
                loss = loss_fn(net(x[idx]), y[idx])
                loss.backward()
                opt.step()
        det = LcnnDetector(net, mean, std)
        raw = np.array([det.raw_score(load_audio(data, r["utt"]), RATE) for r in dev])
    finally:
        torch.set_num_threads(threads)
    labels = np.array([r["key"] == "bonafide" for r in dev], dtype=int)
    det.a, det.b = fit_calibration(raw, labels)
    info = {
        "kind": KIND,
        "n_train": len(train),
        "n_dev": len(dev),
        "dev_eer": eer(raw[labels == 1], raw[labels == 0])[0],
        "epochs": epochs,
        "seed": seed,
    }
    det.save(out, info)
    return info
