"""The one torch loader (`pingce.models.torch_loader`): format detection by content and
loading of state dicts, TorchScript and torch.export archives.

Reference: the eager module each file was saved from; a loaded model must give the same
outputs on the same inputs (torch.testing.assert_close).
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from pingce.core.errors import ModelError  # noqa: E402
from pingce.models.loaded import load_model  # noqa: E402
from pingce.models.torch_loader import load_torch, torch_format  # noqa: E402


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc(features))


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Net, dict[str, Path]]:
    torch.manual_seed(0)
    net = Net().eval()
    x = torch.randn(2, 4)
    paths = {
        "state": tmp_path / "net.pt",
        "torchscript": tmp_path / "net.ts",
        "export": tmp_path / "net.pt2",
        "pickled": tmp_path / "pickled.pt",
    }
    torch.save(net.state_dict(), paths["state"])
    torch.jit.save(torch.jit.trace(net, (x,)), str(paths["torchscript"]))
    torch.export.save(torch.export.export(net, (x,)), str(paths["export"]))
    torch.save(net, paths["pickled"])
    return net, paths


def test_format_is_read_from_the_content(
    files: tuple[Net, dict[str, Path]], tmp_path: Path
) -> None:
    _, paths = files
    assert torch_format(paths["state"]) == "state"
    assert torch_format(paths["torchscript"]) == "torchscript"
    assert torch_format(paths["export"]) == "export"
    # the suffix does not decide: a TorchScript archive named .pt is still TorchScript
    renamed = tmp_path / "scripted.pt"
    renamed.write_bytes(paths["torchscript"].read_bytes())
    assert torch_format(renamed) == "torchscript"
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="not a torch model file"):
        torch_format(junk)


def test_every_format_loads_to_the_same_outputs(files: tuple[Net, dict[str, Path]]) -> None:
    net, paths = files
    x = torch.randn(2, 4)  # the batch size the archives were traced/exported with
    want = net(x)
    for fmt in ("torchscript", "export"):
        loaded = load_torch(paths[fmt])
        assert loaded.format == fmt
        assert loaded.input_names == ["features"]
        torch.testing.assert_close(loaded.module(x), want)
    eager = load_torch(paths["state"], architecture=Net, arch="net", input_names=["features"])
    assert eager.format == "state"
    torch.testing.assert_close(eager.module(x), want)
    assert not eager.module.training


def test_clear_errors(files: tuple[Net, dict[str, Path]], tmp_path: Path) -> None:
    _, paths = files
    with pytest.raises(ModelError, match="does not exist"):
        load_torch(tmp_path / "missing.pt")
    with pytest.raises(ModelError, match="a state dict needs an architecture"):
        load_torch(paths["state"])
    # a pickled module could run code: refused (weights_only), with a hint
    with pytest.raises(ModelError, match="is not a state dict of architecture 'net'") as info:
        load_torch(paths["pickled"], architecture=Net, arch="net")
    assert "state_dict" in (info.value.hint or "")
    with pytest.raises(ModelError, match="is not a TorchScript archive"):
        load_torch(paths["state"], fmt="torchscript")


def test_load_model_uses_the_loader_for_references(files: tuple[Net, dict[str, Path]]) -> None:
    net, paths = files
    import numpy as np

    x = np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32)
    want = net(torch.from_numpy(x)).detach().numpy()
    for ref in (str(paths["torchscript"]), str(paths["export"])):
        model = load_model(ref)
        assert model.input_names == ["features"]
        np.testing.assert_allclose(model.run({"features": x})[0], want, rtol=1e-6, atol=1e-6)
    with pytest.raises(ModelError, match="is not a TorchScript archive"):
        load_model(str(paths["state"]))  # a .pt without ?arch= is read as TorchScript
