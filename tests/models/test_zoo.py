"""One digits CNN in pingce: the perf workload, the conversion zoo and the compression
baseline are the same trained network on the same held-out split.

Reference for the accuracy: scikit-learn's accuracy_score on the model's predictions.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

import numpy as np  # noqa: E402
from sklearn.metrics import accuracy_score  # noqa: E402


def test_perf_digits_workload_is_the_zoo_digits_cnn() -> None:
    from pingce.models.loaded import load_model
    from pingce.models.zoo import digits_cnn, digits_split
    from pingce.perf import workloads

    model, data = workloads.digits_model()
    zoo = digits_cnn()
    assert type(model).__qualname__ == type(zoo).__qualname__  # built per call, same class
    for (name, a), (name_b, b) in zip(
        model.state_dict().items(), zoo.state_dict().items(), strict=True
    ):
        assert name == name_b
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    _, _, x_te, y_te = digits_split()
    np.testing.assert_array_equal(data.inputs, x_te)
    np.testing.assert_array_equal(data.labels, y_te)
    # the reference accuracy the perf accuracy gate uses is the model's own, checked by sklearn
    pred = load_model("zoo:digits-cnn").run({"x": x_te})[0].argmax(axis=1)
    assert data.reference_accuracy == pytest.approx(accuracy_score(y_te, pred), abs=0)
    assert data.reference_accuracy > 0.9
    # the training workload builds a fresh copy of the same architecture
    fresh = workloads.digits_cnn_architecture()
    assert [n for n, _ in fresh.named_parameters()] == [n for n, _ in zoo.named_parameters()]


def test_only_the_models_package_defines_a_digits_cnn() -> None:
    from pathlib import Path

    import pingce

    root = Path(pingce.__file__).parent
    defining = sorted(
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if "class DigitsCNN" in p.read_text(encoding="utf-8")
        or "def train_digits_cnn" in p.read_text(encoding="utf-8")
    )
    assert defining == ["models/zoo.py"]
