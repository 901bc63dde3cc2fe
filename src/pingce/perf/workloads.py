"""Built-in workloads: a digits classifier pingce trains itself, and ResNet-50 / BERT-base with
random weights for throughput-only runs ("open division, no accuracy gate").

A workload is a model plus the samples the load generator draws from (`Dataset`: inputs,
labels, the reference accuracy the accuracy gate compares against). Everything is built
locally from fixed seeds; nothing is downloaded.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pingce.core.errors import SpecError
from pingce.core.fingerprint import content_hash
from pingce.core.paths import cache_root

# Bump when the digits model or its training changes, so cached copies are rebuilt.
DIGITS_VERSION = 1
DIGITS_SEED = 20240501
DIGITS_EPOCHS = 30
DIGITS_BATCH = 64
DIGITS_TEST_FRACTION = 0.3


@dataclass
class Dataset:
    """Samples for the load generator: inputs[i] is sample i (numpy), labels[i] its class.

    `reference_accuracy` is the accuracy the reference implementation (fp32 torch) reaches on
    these samples; None for throughput-only workloads with random weights.
    """

    name: str
    inputs: np.ndarray
    labels: np.ndarray | None
    reference_accuracy: float | None
    division: str  # "closed" (accuracy gated) or "open" (no accuracy gate)
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """sklearn's 8x8 digits as float32 [N,1,8,8] in 0..1: (x_train, y_train, x_test, y_test)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(DIGITS_SEED).permutation(len(y))
    n_test = int(round(len(y) * DIGITS_TEST_FRACTION))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def digits_cnn_architecture() -> Any:
    """Conv(1→16,3x3) → ReLU → Conv(16→32,3x3,stride 2) → ReLU → Linear(32·4·4→10)."""
    import torch

    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 32, 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(32 * 4 * 4, 10),
    )


def train_digits_cnn(epochs: int = DIGITS_EPOCHS, seed: int = DIGITS_SEED) -> Any:
    """Train the digits CNN with Adam on one thread from a fixed seed (about 2 s)."""
    import torch

    x_tr, y_tr, _, _ = digits_split()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same weights on every machine
    try:
        torch.manual_seed(seed)
        model = digits_cnn_architecture()
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
        gen = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            perm = torch.randperm(len(yt), generator=gen)
            for start in range(0, len(yt), DIGITS_BATCH):
                idx = perm[start : start + DIGITS_BATCH]
                loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
    finally:
        torch.set_num_threads(threads)
    return model.eval()


def _accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    import torch

    with torch.inference_mode():
        pred = model(torch.from_numpy(x)).argmax(dim=1).numpy()
    return float((pred == y).mean())


def digits_model() -> tuple[Any, Dataset]:
    """The trained digits CNN (cached under PINGCE_CACHE/perf) and its test split."""
    import torch

    folder = cache_root() / "perf"
    stem = f"digits-cnn-v{DIGITS_VERSION}"
    weights, meta_path = folder / f"{stem}.pt", folder / f"{stem}.json"
    model = digits_cnn_architecture()
    _, _, x_te, y_te = digits_split()
    if weights.is_file() and meta_path.is_file():
        model.load_state_dict(torch.load(weights, weights_only=True))
        model.eval()
        meta = json.loads(meta_path.read_text())
    else:
        model = train_digits_cnn()
        meta = {"reference_accuracy": _accuracy(model, x_te, y_te), "version": DIGITS_VERSION}
        folder.mkdir(parents=True, exist_ok=True)
        for path, write in (
            (weights, lambda p: torch.save(model.state_dict(), p)),
            (meta_path, lambda p: Path(p).write_text(json.dumps(meta))),
        ):
            tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
            write(tmp)
            os.replace(tmp, path)  # atomic: a concurrent builder never sees half a file
    data = Dataset(
        name="digits",
        inputs=x_te,
        labels=y_te,
        reference_accuracy=float(meta["reference_accuracy"]),
        division="closed",
        info={"source": "sklearn.datasets.load_digits test split", "weights": str(weights)},
    )
    return model, data


def resnet50_model(image_size: int = 224, n_samples: int = 64) -> tuple[Any, Dataset]:
    """ResNet-50 (transformers' ResNetConfig defaults) with random weights, random images."""
    import torch
    from transformers import ResNetConfig, ResNetForImageClassification

    torch.manual_seed(0)
    model = ResNetForImageClassification(ResNetConfig(num_labels=1000)).eval()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n_samples, 3, image_size, image_size), dtype=np.float32)
    return _Logits(model), Dataset(
        "resnet50", x, None, None, "open", {"image_size": image_size, "weights": "random"}
    )


def bert_base_model(seq_len: int = 128, n_samples: int = 64) -> tuple[Any, Dataset]:
    """BERT-base (transformers' BertConfig defaults) with random weights, random token ids."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig()
    model = BertModel(config).eval()
    rng = np.random.default_rng(0)
    x = rng.integers(0, config.vocab_size, size=(n_samples, seq_len), dtype=np.int64)
    return _Pooled(model), Dataset(
        "bert-base", x, None, None, "open", {"seq_len": seq_len, "weights": "random"}
    )


def _module_base() -> type:
    import torch

    return torch.nn.Module


class _Logits(_module_base()):  # type: ignore[misc]
    """Adapts a transformers image classifier to tensor in → logits out."""

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: Any) -> Any:
        return self.inner(pixel_values=x).logits


class _Pooled(_module_base()):  # type: ignore[misc]
    """Adapts a transformers encoder to token ids in → pooled output out."""

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: Any) -> Any:
        return self.inner(input_ids=x).pooler_output


BUILTIN_WORKLOADS = ("digits", "resnet50", "bert-base")


def builtin_workload(name: str, params: dict[str, str] | None = None) -> tuple[Any, Dataset]:
    """A built-in workload by name: digits, resnet50 (image_size=), bert-base (seq_len=)."""
    params = params or {}
    try:
        if name == "digits":
            return digits_model()
        if name == "resnet50":
            return resnet50_model(int(params.get("image_size", 224)))
        if name == "bert-base":
            return bert_base_model(int(params.get("seq_len", 128)))
    except ValueError as exc:
        raise SpecError(f"workload {name!r}: bad parameter ({exc})") from None
    raise SpecError(f"unknown built-in workload {name!r}", hint=f"one of {BUILTIN_WORKLOADS}")


def dataset_hash(data: Dataset) -> str:
    """Content hash of a dataset's inputs and labels (recorded with the run)."""
    import hashlib

    h = hashlib.sha256(np.ascontiguousarray(data.inputs).tobytes())
    if data.labels is not None:
        h.update(np.ascontiguousarray(data.labels).tobytes())
    return content_hash(data.name, h.hexdigest(), length=16)
