"""Systems under test for the inference load generator.

A SUT takes a batch of samples (a numpy array, first axis = samples) and returns one output
per sample (logits, or any array whose first axis matches). Four kinds:

- `TorchSUT`: a torch.nn.Module (in process), or a TorchScript / torch.export file;
- `OnnxSUT`: an ONNX model on ONNX Runtime with chosen execution providers and threads;
- `CallableSUT`: any Python callable `f(batch) -> outputs`;
- `HttpSUT`: an HTTP endpoint taking `{"inputs": [...]}` and answering `{"outputs": [...]}`.

`open_sut` builds one from a subject spec such as `builtin:digits`, `onnx:model.onnx`,
`torch:model.pt`, `python:pkg.module:function` or `http://127.0.0.1:8000/predict`, with the
samples to draw from (`data=digits` or `data=file.npz`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pingce.core.errors import DataError, ModelError, SpecError
from pingce.core.spec import SubjectSpec
from pingce.perf.workloads import BUILTIN_WORKLOADS, Dataset, builtin_workload, dataset_hash


class SUT:
    """Base of every SUT: `predict(batch) -> outputs`, batched at most `batch_size` at a time."""

    kind = "sut"

    def __init__(self, name: str, batch_size: int = 32) -> None:
        if batch_size < 1:
            raise SpecError(f"batch_size must be at least 1, got {batch_size}")
        self.name = name
        self.batch_size = batch_size

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Outputs for a batch of any size (split into chunks of at most batch_size)."""
        if len(batch) <= self.batch_size:
            return np.asarray(self._run(batch))
        parts = [
            np.asarray(self._run(batch[i : i + self.batch_size]))
            for i in range(0, len(batch), self.batch_size)
        ]
        return np.concatenate(parts, axis=0)

    def _run(self, batch: np.ndarray) -> Any:
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:
        """What identifies this SUT's content (weights hash, URL, function)."""
        return {"kind": self.kind, "name": self.name}

    def settings(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size}

    def close(self) -> None:
        """Release resources (HTTP connections); a no-op for in-process SUTs."""


class TorchSUT(SUT):
    """A torch module run under inference_mode on CPU (or `device`)."""

    kind = "torch"

    def __init__(
        self,
        module: Any,
        name: str = "torch-module",
        batch_size: int = 32,
        threads: int | None = None,
        device: str = "cpu",
    ) -> None:
        import torch

        super().__init__(name, batch_size)
        self.torch = torch
        self.device = device
        self.module = module.eval().to(device) if hasattr(module, "eval") else module
        self.threads = threads
        if threads is not None:
            torch.set_num_threads(threads)

    def _run(self, batch: np.ndarray) -> Any:
        with self.torch.inference_mode():
            out = self.module(self.torch.from_numpy(np.ascontiguousarray(batch)).to(self.device))
        return out.float().cpu().numpy()

    def identity(self) -> dict[str, Any]:
        h = hashlib.sha256()
        if hasattr(self.module, "state_dict"):
            for key, tensor in sorted(self.module.state_dict().items()):
                h.update(key.encode())
                h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return {**super().identity(), "weights_sha256": h.hexdigest()[:32]}

    def settings(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "threads": self.torch.get_num_threads(),
            "device": self.device,
            "torch": self.torch.__version__,
        }


class OnnxSUT(SUT):
    """An ONNX model on ONNX Runtime; `providers` in priority order, `threads` intra-op."""

    kind = "onnx"

    def __init__(
        self,
        path: str | Path,
        batch_size: int = 32,
        providers: list[str] | None = None,
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort

        from pingce.models.onnx_runtime import ort_session

        super().__init__(Path(path).name, batch_size)
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"ONNX model {path} does not exist", hint="check the path")
        # The one ONNX Runtime session factory (pingce.models): provider check, threads, and a
        # one-line ModelError for a file ORT cannot load.
        self.session = ort_session(self.path, providers=providers, threads=threads)
        self.input_name = self.session.get_inputs()[0].name
        self.providers = self.session.get_providers()
        self.threads = threads
        self.ort_version = ort.__version__

    def _run(self, batch: np.ndarray) -> Any:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(batch)})[0]

    def identity(self) -> dict[str, Any]:
        from pingce.core.fingerprint import file_sha256

        return {**super().identity(), "sha256": file_sha256(self.path)[:32]}

    def settings(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "providers": self.providers,
            "threads": self.threads,
            "onnxruntime": self.ort_version,
        }


class CallableSUT(SUT):
    """Any Python callable taking a batch array and returning one output per sample."""

    kind = "python"

    def __init__(self, fn: Callable[[np.ndarray], Any], name: str = "", batch_size: int = 32):
        super().__init__(name or getattr(fn, "__qualname__", "callable"), batch_size)
        self.fn = fn

    def _run(self, batch: np.ndarray) -> Any:
        return self.fn(batch)

    def identity(self) -> dict[str, Any]:
        mod = getattr(self.fn, "__module__", "")
        return {**super().identity(), "function": f"{mod}:{self.name}"}


class HttpSUT(SUT):
    """POSTs `{"inputs": batch.tolist()}` to `url`; the answer is `{"outputs": [...]}`."""

    kind = "http"

    def __init__(self, url: str, batch_size: int = 32, timeout_s: float = 30.0) -> None:
        import httpx

        super().__init__(url, batch_size)
        self.url = url
        self.client = httpx.Client(timeout=timeout_s)

    def _run(self, batch: np.ndarray) -> Any:
        import httpx

        try:
            resp = self.client.post(self.url, json={"inputs": batch.tolist()})
        except httpx.HTTPError as exc:
            raise ModelError(f"HTTP SUT {self.url}: {exc}") from None
        if resp.status_code != 200:
            raise ModelError(f"HTTP SUT {self.url} answered {resp.status_code}: {resp.text[:200]}")
        try:
            outputs = resp.json()["outputs"]
        except (ValueError, KeyError, TypeError):
            raise ModelError(
                f"HTTP SUT {self.url}: the answer is not JSON with an 'outputs' list"
            ) from None
        if len(outputs) != len(batch):
            raise ModelError(f"HTTP SUT {self.url}: {len(outputs)} outputs for {len(batch)} inputs")
        return outputs

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "url": self.url}

    def close(self) -> None:
        self.client.close()


def load_npz_dataset(path: str | Path) -> Dataset:
    """Samples from an .npz with `inputs`, optional `labels` and `reference_accuracy`."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"data file {path} does not exist", hint="give data=digits or a .npz")
    try:
        with np.load(p, allow_pickle=False) as z:
            if "inputs" not in z:
                raise DataError(f"{path}: no 'inputs' array", hint="save inputs=..., labels=...")
            inputs = z["inputs"]
            labels = z.get("labels")
            ref = float(z["reference_accuracy"]) if "reference_accuracy" in z else None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    if inputs.ndim < 1 or len(inputs) == 0:
        raise DataError(f"{path}: 'inputs' is empty")
    if labels is not None and len(labels) != len(inputs):
        raise DataError(f"{path}: {len(labels)} labels for {len(inputs)} inputs")
    division = "closed" if labels is not None and ref is not None else "open"
    return Dataset(p.stem, inputs, labels, ref, division, {"source": str(p)})


def _dataset(params: dict[str, str]) -> Dataset:
    name = params.get("data", "digits")
    if name in BUILTIN_WORKLOADS:
        return builtin_workload(name, params)[1]
    return load_npz_dataset(name)


def _load_callable(target: str) -> Callable[..., Any]:
    mod_name, sep, attr = target.rpartition(":")
    if not sep or not mod_name or not attr:
        raise SpecError(f"python subject {target!r}", hint="write python:package.module:function")
    try:
        if mod_name.endswith(".py"):
            spec = importlib.util.spec_from_file_location(Path(mod_name).stem, mod_name)
            if spec is None or spec.loader is None:
                raise ImportError(mod_name)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(mod_name)
    except (ImportError, FileNotFoundError) as exc:
        raise ModelError(f"cannot import {mod_name!r} for the python subject: {exc}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ModelError(f"{mod_name} has no callable {attr!r}")
    return fn


# Subject parameters each SUT kind reads (`builtin:resnet50?image_size=160`); any other is a
# mistake that would otherwise be recorded in the subject and silently ignored.
_COMMON_PARAMS = {"batch_size", "threads", "device"}
_SCHEME_PARAMS = {
    "builtin": {"image_size", "seq_len"},
    "torch": {"data", "image_size", "seq_len"},
    "onnx": {"data", "providers", "image_size", "seq_len"},
    "python": {"data", "image_size", "seq_len"},
    "http": {"data", "image_size", "seq_len"},
    "https": {"data", "image_size", "seq_len"},
}
_BUILTIN_PARAMS = {"digits": set(), "resnet50": {"image_size"}, "bert-base": {"seq_len"}}


def _check_params(subject: SubjectSpec) -> None:
    allowed = _COMMON_PARAMS | _SCHEME_PARAMS.get(subject.scheme, set())
    if subject.scheme == "builtin":
        allowed = _COMMON_PARAMS | _BUILTIN_PARAMS.get(subject.target, set())
    unknown = sorted(set(subject.params) - allowed)
    if unknown:
        hint = f"{subject.scheme}:{subject.target} takes {', '.join(sorted(allowed))}"
        if subject.scheme == "builtin" and "data" in unknown:
            hint += "; a built-in workload brings its own data"
        raise SpecError(
            f"subject {subject.raw!r}: unknown parameter(s) {', '.join(unknown)}", hint=hint
        )


def _int_param(params: dict[str, str], key: str, default: int | None) -> int | None:
    if key not in params:
        return default
    try:
        return int(params[key])
    except ValueError:
        raise SpecError(f"subject parameter {key}={params[key]!r}: expected an integer") from None


def torch_device(name: str) -> str:
    """'auto' -> cuda when torch sees a GPU, else cpu; 'cuda' without a GPU is a user error."""
    if name not in ("auto", "cpu", "cuda") and not name.startswith("cuda:"):
        raise SpecError(f"--device {name!r}: expected auto, cpu, cuda or cuda:N")
    if name == "cpu":
        return name
    import torch

    if torch.cuda.is_available():
        return "cuda" if name == "auto" else name
    if name == "auto":
        return "cpu"
    raise SpecError(f"--device {name}: torch sees no CUDA GPU on this machine", hint="use cpu")


def open_sut(subject: SubjectSpec, options: dict[str, Any]) -> tuple[SUT, Dataset]:
    """The SUT and its samples for a subject spec (see the module docstring)."""
    params = dict(subject.params)
    _check_params(subject)
    # `is None`, not `or`: a given 0 is an error, not the default.
    batch = options.get("batch_size")
    batch = _int_param(params, "batch_size", 32) if batch is None else int(batch)
    threads = options.get("threads")
    threads = _int_param(params, "threads", None) if threads is None else int(threads)
    if threads is not None and threads < 1:
        raise SpecError(f"threads must be at least 1, got {threads}")
    device = torch_device(options.get("device") or params.get("device") or "cpu")
    if subject.scheme == "builtin":
        module, data = builtin_workload(subject.target, params)
        return TorchSUT(module, subject.target, batch, threads, device), data
    if subject.scheme == "torch":
        import torch

        path = Path(subject.target)
        if not path.is_file():
            raise ModelError(f"torch model {path} does not exist")
        try:
            if path.suffix == ".pt2":
                module = torch.export.load(str(path)).module()
            else:
                module = torch.jit.load(str(path), map_location=device)
        except Exception as exc:  # torch raises RuntimeError/ValueError for foreign files
            raise ModelError(
                f"cannot load {path} as TorchScript (.pt) or torch.export (.pt2): {exc}"
            ) from None
        return TorchSUT(module, path.name, batch, threads, device), _dataset(params)
    if subject.scheme == "onnx":
        providers = [p for p in params.get("providers", "").split(",") if p] or None
        return OnnxSUT(subject.target, batch, providers, threads), _dataset(params)
    if subject.scheme == "python":
        return CallableSUT(_load_callable(subject.target), batch_size=batch), _dataset(params)
    if subject.scheme in ("http", "https"):
        return HttpSUT(f"{subject.scheme}://{subject.target}", batch), _dataset(params)
    raise SpecError(
        f"subject {subject.raw!r}: the server-perf standard has no {subject.scheme!r} SUT",
        hint="use builtin:digits, torch:F.pt, onnx:F.onnx, python:mod:fn or http://host/path",
    )


def sut_fingerprint(sut: SUT, data: Dataset) -> dict[str, Any]:
    return {"sut": sut.identity(), "data": dataset_hash(data)}
