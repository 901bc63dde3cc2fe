"""Fixtures of the vision tests: the standard registered, a small digits classifier trained
here (torch) and saved in the formats the vision runtime loads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _vision_registered() -> None:
    from pingce.vision.plugin import register

    register()


@pytest.fixture(scope="session")
def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The built-in digits exactly as the vision tasks feed them: (N, 3, 32, 32) in [0, 1]."""
    from pingce.vision.datasets import digits, resize, to_batch

    _, samples = digits()
    x = to_batch([resize(s.array, (32, 32)) for s in samples], [0, 0, 0], [1, 1, 1])
    return x, np.array([s.label for s in samples])


@pytest.fixture(scope="session")
def digits_models(
    tmp_path_factory: pytest.TempPathFactory, digits_arrays: tuple[np.ndarray, np.ndarray]
) -> dict[str, Path]:
    """A small CNN trained on half of the digits; saved as TorchScript, ONNX and torch.export."""
    import warnings

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x, y = digits_arrays
    model = torch.nn.Sequential(
        torch.nn.AvgPool2d(4),
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(8 * 8 * 8, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    xt, yt = torch.from_numpy(x[::2]), torch.from_numpy(y[::2])
    for _ in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
    model.eval()
    d = tmp_path_factory.mktemp("vision-models")
    example = torch.from_numpy(x[:2])
    torch.jit.trace(model, example).save(str(d / "digits.pt"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            str(d / "digits.onnx"),
            input_names=["x"],
            output_names=["logits"],
            dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}},
            dynamo=False,
        )
    batch = torch.export.Dim("batch", min=1, max=4096)
    torch.export.save(
        torch.export.export(model, (example,), dynamic_shapes=({0: batch},)), str(d / "digits.pt2")
    )
    torch.save(model.state_dict(), d / "weights.pt")
    (d / "eager.py").write_text(
        "import torch\n\n"
        "def build():\n"
        "    m = torch.nn.Sequential(torch.nn.AvgPool2d(4), torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),\n"
        "                            torch.nn.Flatten(), torch.nn.Linear(8 * 8 * 8, 10))\n"
        f"    m.load_state_dict(torch.load({str(d / 'weights.pt')!r}))\n"
        "    return m\n"
    )
    with torch.inference_mode():
        np.save(d / "reference_logits.npy", model(torch.from_numpy(x)).numpy())
    return {
        "torchscript": d / "digits.pt",
        "onnx": d / "digits.onnx",
        "pt2": d / "digits.pt2",
        "eager": d / "eager.py",
        "logits": d / "reference_logits.npy",
    }
