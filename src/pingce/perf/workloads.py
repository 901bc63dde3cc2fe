"""Built-in workloads: the digits classifier of pingce's model zoo, and ResNet-50 / BERT-base with
random weights for throughput-only runs ("open division, no accuracy gate").

A workload is a model plus the samples the load generator draws from (`Dataset`: inputs,
labels, the reference accuracy the accuracy gate compares against). Everything is built
locally from fixed seeds; nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pingce.core.errors import SpecError
from pingce.core.fingerprint import content_hash

# The digits CNN and its split come from the shared zoo (one digits CNN in pingce); the
# training workload (perf/train) builds a fresh, untrained copy of the same architecture.
from pingce.models.zoo import ZOO_VERSION, digits_cnn, digits_split
from pingce.models.zoo import digits_cnn_module as digits_cnn_architecture

__all__ = [
    "BUILTIN_WORKLOADS",
    "Dataset",
    "builtin_workload",
    "dataset_hash",
    "digits_cnn_architecture",
    "digits_model",
    "digits_split",
]


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


def digits_model() -> tuple[Any, Dataset]:
    """The built-in digits CNN (`pingce.models.zoo`, the one the conversion and compression
    standards test; trained once and cached under PINGCE_CACHE/zoo) and its held-out split."""
    import torch

    model = digits_cnn()
    _, _, x_te, y_te = digits_split()
    with torch.inference_mode():
        pred = model(torch.from_numpy(x_te)).argmax(dim=1).numpy()
    data = Dataset(
        name="digits",
        inputs=x_te,
        labels=y_te,
        reference_accuracy=float((pred == y_te).mean()),
        division="closed",
        info={
            "source": "sklearn.datasets.load_digits test split",
            "weights": f"pingce.models.zoo digits-cnn v{ZOO_VERSION}",
        },
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
