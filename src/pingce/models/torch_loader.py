"""The one torch loader: eager modules (a state dict into a known architecture), TorchScript
archives and `torch.export` programs (.pt2), told apart by the file's content.

Model files are untrusted: state dicts are read with `weights_only=True`, so a file holding a
pickled module (arbitrary code) is refused with a hint instead of being unpickled.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pingce.core.errors import ModelError
from pingce.models.onnx_runtime import first_line

TorchFormat = Literal["torchscript", "export", "state"]


@dataclass
class LoadedTorch:
    """A torch module in eval mode, its positional input names (empty when unknown) and format."""

    module: Any
    input_names: list[str]
    format: TorchFormat


def torch_format(path: Path) -> TorchFormat:
    """What a torch file holds, read from its zip layout: `export` (a torch.export archive),
    `torchscript` (a TorchScript archive) or `state` (a `torch.save` pickle, e.g. a state dict).
    A file that is none of these is a ModelError."""
    if not zipfile.is_zipfile(path):
        raise ModelError(
            f"{path} is not a torch model file (not a zip archive)",
            hint="save with torch.save(state_dict), torch.jit.save or torch.export.save",
        )
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    if any(n.endswith("/archive_format") or n.endswith("/models/model.json") for n in names):
        return "export"
    if any(n.endswith("constants.pkl") or "/code/" in n for n in names):
        return "torchscript"
    if any(n.endswith("data.pkl") for n in names):
        return "state"
    raise ModelError(
        f"{path} is a zip archive but not one torch wrote",
        hint="save with torch.save(state_dict), torch.jit.save or torch.export.save",
    )


def load_torchscript(path: Path, device: str = "cpu") -> LoadedTorch:
    import torch

    try:
        fmt = torch_format(path)
    except ModelError:
        fmt = None
    if fmt != "torchscript":
        raise ModelError(
            f"{path} is not a TorchScript archive",
            hint="for a state dict add ?arch=NAME; for torch.export use a .pt2 file",
        )
    try:
        module = torch.jit.load(str(path), map_location=device).eval()
    except Exception as exc:
        raise ModelError(f"cannot load TorchScript archive {path}: {first_line(exc)}") from None
    names = [a.name for a in module.forward.schema.arguments[1:]]
    return LoadedTorch(module, names, "torchscript")


def load_exported(path: Path, device: str = "cpu") -> LoadedTorch:
    import torch

    try:
        program = torch.export.load(str(path))
    except Exception as exc:
        raise ModelError(f"cannot load torch.export archive {path}: {first_line(exc)}") from None
    names = [s.arg.name for s in program.graph_signature.input_specs if s.kind.name == "USER_INPUT"]
    module = program.module()
    return LoadedTorch(module if device == "cpu" else module.to(device), names, "export")


def load_state(path: Path, module: Any, arch: str, input_names: list[str]) -> LoadedTorch:
    """Load a state dict file into `module` (a fresh eager module of architecture `arch`)."""
    import torch

    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        if not isinstance(state, dict):
            raise TypeError(f"it holds a {type(state).__name__}, not a state dict")
        module.load_state_dict(state)
    except Exception as exc:
        raise ModelError(
            f"{path} is not a state dict of architecture {arch!r}: {first_line(exc)}",
            hint="save model.state_dict() (pickled modules are refused: they can run code)",
        ) from None
    return LoadedTorch(module.eval(), list(input_names), "state")


def load_torch(
    path: str | Path,
    *,
    fmt: TorchFormat | None = None,
    architecture: Callable[[], Any] | None = None,
    arch: str = "",
    input_names: list[str] | None = None,
    device: str = "cpu",
) -> LoadedTorch:
    """Load a torch model file onto `device`. `fmt` None detects it from the content; a state
    dict needs `architecture` (a builder of the fresh eager module, named `arch`)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelError(f"model file {str(path)!r} does not exist", hint="check the path")
    fmt = fmt or torch_format(path)
    if fmt == "torchscript":
        return load_torchscript(path, device)
    if fmt == "export":
        return load_exported(path, device)
    if architecture is None:
        raise ModelError(
            f"model {path}: a state dict needs an architecture",
            hint="add ?arch=NAME (a zoo model name) or pass --arch",
        )
    loaded = load_state(path, architecture(), arch, input_names or [])
    if device != "cpu":
        loaded.module = loaded.module.to(device)
    return loaded
