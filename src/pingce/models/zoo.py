"""pingce's built-in model zoo: small torch models built offline, each with example inputs.

The digits CNN here is the one digits model in pingce: the conversion and compression
standards test it, and the server-perf standard serves it as `builtin:digits`.

Five architectures cover the operator families a converter must handle: convolution and
pooling (the digits CNN, trained on scikit-learn's 8x8 digits), residual blocks with batch
norm (a small ResNet), attention (a small transformer encoder), recurrence (an LSTM), and a
model whose forward calls a custom operator with no ONNX translation (its conversion must fail
cleanly). Weights come from fixed seeds; the digits CNN is trained for a fixed number of
single-threaded steps and cached under PINGCE_CACHE, so every machine builds the same model.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pingce.core.errors import ModelError
from pingce.core.paths import cache_root

ZOO_VERSION = 1
SEED = 20261128
DIGITS_TRAIN_STEPS = 300
DIGITS_BATCH = 64
DIGITS_TEST_FRACTION = 0.25
VOCAB = 64  # token vocabulary of the text models
N_CLASSES_TEXT = 4


@dataclass(frozen=True)
class ZooEntry:
    """One zoo model: how to build it and what its inputs look like."""

    name: str
    description: str
    build: Callable[[], Any]  # -> torch.nn.Module in eval mode
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    # inputs(batch, seq_len, seed) -> {name: array}; seq_len is ignored by image models
    inputs: Callable[[int, int, int], dict[str, np.ndarray]]
    dynamic_axes: dict[str, dict[int, str]] = field(default_factory=dict)
    has_sequence: bool = False
    expect_convertible: bool = True


# --------------------------------------------------------------------------- data


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits as float32 [N,1,8,8] in [0,1]: (x_train, y_train, x_test, y_test)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=DIGITS_TEST_FRACTION, random_state=0, stratify=y
    )
    return x_tr, y_tr, x_te, y_te


def digits_inputs(batch: int, seq_len: int = 0, seed: int = 0) -> dict[str, np.ndarray]:
    """The first `batch` test digits (wrapping around), as the model input `x`."""
    _, _, x_te, _ = digits_split()
    idx = (np.arange(batch) + seed) % len(x_te)
    return {"x": np.ascontiguousarray(x_te[idx])}


def token_inputs(batch: int, seq_len: int = 16, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded random token ids [batch, seq_len] in [0, VOCAB)."""
    rng = np.random.default_rng(SEED + seed)
    return {"tokens": rng.integers(0, VOCAB, size=(batch, seq_len), dtype=np.int64)}


# --------------------------------------------------------------------------- models


def _torch() -> Any:
    try:
        import torch
    except ModuleNotFoundError:
        raise ModelError("the model zoo needs torch", hint="pip install torch") from None
    return torch


def digits_cnn_module() -> Any:
    """A fresh digits CNN in train mode, weights from torch's current RNG state."""
    torch = _torch()
    nn = torch.nn

    class DigitsCNN(nn.Module):
        """Conv(1→8)-ReLU-Conv(8→16)-ReLU-MaxPool-Linear(256→10) on [N,1,8,8] digits."""

        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
            self.relu1 = nn.ReLU()
            self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
            self.relu2 = nn.ReLU()
            self.pool = nn.MaxPool2d(2)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(16 * 4 * 4, 10)

        def forward(self, x: Any) -> Any:
            x = self.relu1(self.conv1(x))
            x = self.pool(self.relu2(self.conv2(x)))
            return self.fc(self.flatten(x))

    return DigitsCNN()


def digits_cnn_architecture() -> Any:
    """An untrained digits CNN (the architecture a state dict is loaded into)."""
    torch = _torch()
    torch.manual_seed(SEED)
    return digits_cnn_module().eval()


def train_digits_cnn() -> Any:
    """Train the digits CNN for DIGITS_TRAIN_STEPS single-threaded Adam steps (deterministic)."""
    torch = _torch()
    x_tr, y_tr, _, _ = digits_split()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same float sums, the same weights everywhere
    try:
        torch.manual_seed(SEED)
        model = digits_cnn_module()
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        rng = np.random.default_rng(SEED)
        xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
        model.train()
        for _ in range(DIGITS_TRAIN_STEPS):
            idx = torch.from_numpy(rng.integers(0, len(x_tr), size=DIGITS_BATCH))
            loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    return model.eval()


def digits_cnn() -> Any:
    """The trained digits CNN, cached under PINGCE_CACHE/zoo (built on first use, ~2 s)."""
    torch = _torch()
    path = cache_root() / "zoo" / f"digits-cnn-v{ZOO_VERSION}.pt"
    model = digits_cnn_architecture()
    if path.is_file():
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()
    model = train_digits_cnn()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, path)  # atomic: a concurrent builder never sees half a file
    return model


def small_resnet() -> Any:
    """A two-stage ResNet (BasicBlocks with batch norm) on [N,1,8,8]; seeded, untrained."""
    torch = _torch()
    nn = torch.nn

    class BasicBlock(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.down = (
                nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                if stride != 1 or cin != cout
                else nn.Identity()
            )

        def forward(self, x: Any) -> Any:
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + self.down(x))

    class SmallResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16))
            self.relu = nn.ReLU()
            self.layer1 = BasicBlock(16, 16, 1)
            self.layer2 = BasicBlock(16, 32, 2)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(32, 10)

        def forward(self, x: Any) -> Any:
            x = self.relu(self.stem(x))
            x = self.layer2(self.layer1(x))
            return self.fc(self.flatten(self.pool(x)))

    torch.manual_seed(SEED + 1)
    model = SmallResNet()
    # Non-trivial running statistics, so eval-mode batch norm is really exercised.
    gen = torch.Generator().manual_seed(SEED + 2)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
    return model.eval()


def small_transformer() -> Any:
    """Token embedding + 2-layer transformer encoder (d=32, 2 heads) + mean pool + classifier."""
    torch = _torch()
    nn = torch.nn

    class TinyEncoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, 32)
            layer = nn.TransformerEncoderLayer(
                32, 2, dim_feedforward=64, dropout=0.0, batch_first=True
            )
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.head = nn.Linear(32, N_CLASSES_TEXT)

        def forward(self, tokens: Any) -> Any:
            return self.head(self.encoder(self.embed(tokens)).mean(dim=1))

    torch.manual_seed(SEED + 3)
    return TinyEncoder().eval()


def lstm_classifier() -> Any:
    """Token embedding + one-layer LSTM (hidden 32) + classifier on the last hidden state."""
    torch = _torch()
    nn = torch.nn

    class LSTMClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, 32)
            self.lstm = nn.LSTM(32, 32, batch_first=True)
            self.head = nn.Linear(32, N_CLASSES_TEXT)

        def forward(self, tokens: Any) -> Any:
            out, _ = self.lstm(self.embed(tokens))
            return self.head(out[:, -1, :])

    torch.manual_seed(SEED + 4)
    return LSTMClassifier().eval()


_CUSTOM_OP = "pingce_zoo::soft_clip"


def _ensure_custom_op() -> Any:
    """Define `pingce_zoo::soft_clip` once: a torch operator with no ONNX translation."""
    torch = _torch()
    ns, name = _CUSTOM_OP.split("::")
    if hasattr(torch.ops, ns) and hasattr(getattr(torch.ops, ns), name):
        return getattr(getattr(torch.ops, ns), name)

    # An explicit schema: the annotations in this module are strings (PEP 563).
    soft_clip = torch.library.custom_op(_CUSTOM_OP, mutates_args=(), schema="(Tensor x) -> Tensor")(
        lambda x: x / (1.0 + x.abs())
    )
    soft_clip.register_fake(lambda x: torch.empty_like(x))

    return getattr(getattr(torch.ops, ns), name)


def custom_op_model() -> Any:
    """A linear layer followed by the custom `pingce_zoo::soft_clip` op (does not convert)."""
    torch = _torch()
    op = _ensure_custom_op()

    class CustomOpModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.flatten = torch.nn.Flatten()
            self.fc = torch.nn.Linear(64, 10)

        def forward(self, x: Any) -> Any:
            return op(self.fc(self.flatten(x)))

    torch.manual_seed(SEED + 5)
    return CustomOpModel().eval()


_BATCH = {0: "batch"}
_BATCH_SEQ = {0: "batch", 1: "seq"}

ZOO: dict[str, ZooEntry] = {
    e.name: e
    for e in [
        ZooEntry(
            "digits-cnn",
            "2-conv CNN trained on scikit-learn digits (8x8)",
            digits_cnn,
            ("x",),
            ("logits",),
            digits_inputs,
            {"x": _BATCH, "logits": _BATCH},
        ),
        ZooEntry(
            "small-resnet",
            "2-block ResNet with batch norm on 8x8 inputs",
            small_resnet,
            ("x",),
            ("logits",),
            digits_inputs,
            {"x": _BATCH, "logits": _BATCH},
        ),
        ZooEntry(
            "transformer-encoder",
            "2-layer transformer encoder over token ids",
            small_transformer,
            ("tokens",),
            ("logits",),
            token_inputs,
            {"tokens": _BATCH_SEQ, "logits": _BATCH},
            has_sequence=True,
        ),
        ZooEntry(
            "lstm",
            "1-layer LSTM classifier over token ids",
            lstm_classifier,
            ("tokens",),
            ("logits",),
            token_inputs,
            {"tokens": _BATCH_SEQ, "logits": _BATCH},
            has_sequence=True,
        ),
        ZooEntry(
            "custom-op",
            "linear layer + a custom torch operator with no ONNX translation",
            custom_op_model,
            ("x",),
            ("logits",),
            digits_inputs,
            {"x": _BATCH, "logits": _BATCH},
            expect_convertible=False,
        ),
    ]
}


def zoo_entry(name: str) -> ZooEntry:
    if name not in ZOO:
        raise ModelError(f"unknown zoo model {name!r}", hint=f"one of: {', '.join(ZOO)}")
    return ZOO[name]
