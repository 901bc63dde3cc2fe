"""Models under test: torch modules and ONNX graphs behind one small `run` interface.

A model reference names what to load:

- `zoo:NAME` — a model from pingce's built-in zoo (`pingce.models.zoo`);
- `onnx:PATH` or `PATH.onnx` — an ONNX model, run with ONNX Runtime on the CPU;
- `torchscript:PATH` (or `.ts`, `.pt`/`.pth` holding a TorchScript archive);
- `export:PATH` (or `.pt2`) — a `torch.export` archive;
- `state:PATH?arch=NAME` (or `PATH.pt` with `arch`) — a state dict loaded into a zoo architecture.

Every loaded model takes a dict of named numpy inputs and returns its outputs as a list of
numpy arrays, so comparisons never care which framework produced them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import numpy as np

from pingce.core.errors import ModelError
from pingce.core.fingerprint import file_sha256
from pingce.models.onnx_runtime import ort_session
from pingce.models.torch_loader import load_torch

TORCH_SUFFIXES = {".pt", ".pth", ".ts"}


@dataclass(frozen=True)
class ModelRef:
    """A parsed model reference."""

    kind: str  # zoo | onnx | torchscript | export | state
    target: str  # zoo name or file path
    params: dict[str, str] = field(default_factory=dict)
    raw: str = ""


def parse_model_ref(ref: str, arch: str | None = None) -> ModelRef:
    """Parse `kind:target?k=v` or a bare path (its suffix decides the kind)."""
    text = ref.strip()
    if not text:
        raise ModelError("empty model reference", hint="give e.g. zoo:digits-cnn or model.onnx")
    kind, target = "", text
    head, sep, rest = text.partition(":")
    if sep and head in {"zoo", "onnx", "torchscript", "export", "state"}:
        kind, target = head, rest
    target, _, query = target.partition("?")
    params = dict(parse_qsl(query))
    if arch:
        params["arch"] = arch
    if not kind:
        suffix = Path(target).suffix.lower()
        if suffix == ".onnx":
            kind = "onnx"
        elif suffix == ".pt2":
            kind = "export"
        elif suffix in TORCH_SUFFIXES:
            kind = "state" if "arch" in params else "torchscript"
        else:
            raise ModelError(
                f"model {ref!r}: cannot tell its format from the name",
                hint="prefix it with zoo:, onnx:, torchscript:, export: or state: (with ?arch=NAME)",
            )
    if kind == "state" and "arch" not in params:
        raise ModelError(
            f"model {ref!r}: a state dict needs an architecture",
            hint="add ?arch=NAME (a zoo model name) or pass --arch",
        )
    if kind != "zoo" and not Path(target).expanduser().is_file():
        raise ModelError(f"model file {target!r} does not exist", hint="check the path")
    return ModelRef(kind=kind, target=target, params=params, raw=text)


def subject_ref(ref: str) -> str:
    """A subject string with a scheme: bare paths get their kind (`onnx:`...) and an absolute
    path; query parameters (e.g. `?arch=`) are kept."""
    m = parse_model_ref(ref)
    target = m.target if m.kind == "zoo" else str(Path(m.target).expanduser().resolve())
    query = "&".join(f"{k}={v}" for k, v in m.params.items())
    return f"{m.kind}:{target}" + (f"?{query}" if query else "")


def onnx_files(path: Path) -> list[Path]:
    """The ONNX file plus the external-data files it references (they count towards size)."""
    import onnx

    files = [path]
    model = onnx.load(str(path), load_external_data=False)
    seen: set[str] = set()
    for tensor in _all_initializers(model):
        for entry in tensor.external_data:
            if entry.key == "location" and entry.value not in seen:
                seen.add(entry.value)
                files.append(path.parent / entry.value)
    return files


def _all_initializers(model: Any) -> list[Any]:
    out = list(model.graph.initializer)
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                out.append(attr.t)
    return out


class LoadedModel:
    """A model ready to run: `run(feeds) -> [outputs]` plus names and identity."""

    kind: str = ""
    ref: ModelRef
    input_names: list[str]
    output_names: list[str]

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError

    def fingerprint(self) -> dict[str, Any]:
        raise NotImplementedError

    def size_files(self) -> list[Path]:
        """Files whose bytes make up the model on disk (empty for an in-memory zoo model)."""
        return []


class TorchModel(LoadedModel):
    """A torch module in eval mode; inputs are passed positionally in `input_names` order."""

    kind = "torch"

    def __init__(
        self,
        module: Any,
        ref: ModelRef,
        input_names: Sequence[str],
        output_names: Sequence[str] | None = None,
        zoo_name: str | None = None,
    ) -> None:
        self.module = module
        self.ref = ref
        self.input_names = list(input_names)
        self.output_names = list(output_names or [])
        self.zoo_name = zoo_name

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        import torch

        args = [torch.from_numpy(np.ascontiguousarray(feeds[n])) for n in self.input_names]
        with torch.inference_mode():
            out = self.module(*args)
        flat = _flatten_outputs(out)
        if not self.output_names:
            self.output_names = [f"output_{i}" for i in range(len(flat))]
        return [t.detach().float().numpy() if t.is_floating_point() else t.numpy() for t in flat]

    def fingerprint(self) -> dict[str, Any]:
        if self.ref.kind == "zoo":
            from pingce.models.zoo import ZOO_VERSION

            return {"kind": "zoo", "name": self.ref.target, "zoo_version": ZOO_VERSION}
        return {
            "kind": self.ref.kind,
            "sha256": file_sha256(Path(self.ref.target)),
            "arch": self.ref.params.get("arch"),
        }

    def size_files(self) -> list[Path]:
        return [] if self.ref.kind == "zoo" else [Path(self.ref.target)]


def _flatten_outputs(out: Any) -> list[Any]:
    import torch

    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        return [t for v in out.values() for t in _flatten_outputs(v)]
    if isinstance(out, list | tuple):
        return [t for v in out for t in _flatten_outputs(v)]
    raise ModelError(f"the torch model returned a {type(out).__name__}, not tensors")


class OnnxModel(LoadedModel):
    """An ONNX model run by ONNX Runtime's CPU execution provider."""

    kind = "onnx"

    def __init__(self, path: Path, ref: ModelRef, threads: int | None = None) -> None:
        self.path = path
        self.ref = ref
        self.session = ort_session(path, threads=threads)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.input_types = {i.name: i.type for i in self.session.get_inputs()}
        # {graph input name: key in the feeds}, when the feeds are named after another model's
        # inputs (a converted pair whose input names differ; see `input_map.py`)
        self.feed_keys: dict[str, str] = {}

    def feed(self, feeds: dict[str, np.ndarray], name: str) -> np.ndarray:
        """The array for graph input `name` out of `feeds` (through `feed_keys`)."""
        return _cast_for_ort(feeds[self.feed_keys.get(name, name)], self.input_types[name])

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        cast = {n: self.feed(feeds, n) for n in self.input_names}
        return [np.asarray(o) for o in self.session.run(None, cast)]

    def fingerprint(self) -> dict[str, Any]:
        return {"kind": "onnx", "sha256": [file_sha256(p) for p in self.size_files()]}

    def size_files(self) -> list[Path]:
        return onnx_files(self.path)


_ORT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
}


def _cast_for_ort(arr: np.ndarray, ort_type: str) -> np.ndarray:
    dtype = _ORT_TYPES.get(ort_type)
    return np.ascontiguousarray(arr if dtype is None else arr.astype(dtype, copy=False))


def load_model(ref: str | ModelRef, threads: int | None = None) -> LoadedModel:
    """Load a model reference (see the module docstring) ready to run on the CPU."""
    mref = parse_model_ref(ref) if isinstance(ref, str) else ref
    if mref.kind == "onnx":
        return OnnxModel(Path(mref.target).expanduser(), mref, threads)
    import torch

    if threads:
        torch.set_num_threads(threads)
    if mref.kind == "zoo":
        from pingce.models.zoo import zoo_entry

        entry = zoo_entry(mref.target)
        return TorchModel(entry.build(), mref, entry.input_names, entry.output_names, entry.name)
    path = Path(mref.target).expanduser()
    if mref.kind in ("torchscript", "export"):
        loaded = load_torch(path, fmt=mref.kind)  # type: ignore[arg-type]
        return TorchModel(loaded.module, mref, loaded.input_names)
    # state dict + a zoo architecture
    from pingce.models.zoo import zoo_entry

    entry = zoo_entry(mref.params["arch"])
    loaded = load_torch(
        path,
        fmt="state",
        architecture=lambda: architecture(entry.name),
        arch=entry.name,
        input_names=list(entry.input_names),
    )
    return TorchModel(loaded.module, mref, entry.input_names, entry.output_names, entry.name)


def architecture(name: str) -> Any:
    """A zoo architecture with fresh weights (the digits CNN untrained, so nothing is trained)."""
    from pingce.models.zoo import digits_cnn_architecture, zoo_entry

    return digits_cnn_architecture() if name == "digits-cnn" else zoo_entry(name).build()


def total_bytes(files: Sequence[Path]) -> int:
    return sum(os.path.getsize(p) for p in files)
