"""The vision model under test behind one call: `open_model(subject, options)` returns a
`VisionModel` whose `predict(batch)` maps a float32 NCHW batch to named numpy outputs.

Subjects: ``onnx:PATH`` (ONNX Runtime, CPU), ``torchscript:PATH``, ``pt2:PATH`` (a
`torch.export` program saved with `torch.export.save`), ``torch:FILE.py:FACTORY`` (eager: the
factory, called with no arguments, returns an `nn.Module`), ``http://HOST:PORT/PATH`` (POST
``{"inputs": [...], "shape": [...]}``, answer ``{"outputs": {name: nested list}}`` or
``{"outputs": nested list}``) and ``reference:defects?train=DIR|builtin:defects`` (pingce's classical
defect detector: per-pixel Gaussian statistics of the good training images) and
``pipe:COMMAND`` (a local process answering batches over its stdin/stdout, see `PipeModel`).

ONNX sessions and TorchScript / torch.export loading come from the shared runtime
`pingce.models`; this module adapts them (and the eager, HTTP, pipe and reference subjects) to
one `predict(batch) -> {name: array}` call.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np

from pingce.core.errors import ModelError, SpecError
from pingce.core.spec import SubjectSpec

SCHEMES = ("onnx", "torchscript", "pt2", "torch", "http", "https", "reference", "pipe")
HTTP_TIMEOUT_S = 60.0
PIPE_TIMEOUT_S = 60.0


def _sha256(path: Path) -> str:
    from pingce.core.fingerprint import file_sha256

    if not path.is_file():
        raise ModelError(f"model file {path} does not exist")
    return file_sha256(path)


class VisionModel:
    name = "model"

    def __init__(self, spec: SubjectSpec) -> None:
        self.spec = spec
        self._fp: dict[str, Any] = {"subject": spec.canonical()}

    def fingerprint(self) -> dict[str, Any]:
        return self._fp

    def settings(self) -> dict[str, Any]:
        return {"model": self.spec.raw, "runtime": self.name}

    def predict(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError


class OnnxModel(VisionModel):
    name = "onnxruntime"

    def __init__(self, spec: SubjectSpec, threads: int) -> None:
        super().__init__(spec)
        from pingce.models.onnx_runtime import ort_session

        path = Path(spec.target)
        self._fp = {"onnx": _sha256(path)}
        self.session = ort_session(path, threads=threads, what=str(path))
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]

    def predict(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        try:
            outs = self.session.run(None, {self.input_name: batch})
        except Exception as exc:  # ORT's InvalidArgument/Fail: e.g. a wrong input size
            raise ModelError(
                f"ONNX Runtime failed on a batch of shape {list(batch.shape)}: {_first_line(exc)}",
                hint="check the task's image_size against the model's input",
            ) from None
        return {n: np.asarray(o) for n, o in zip(self.output_names, outs, strict=True)}


def _first_line(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:limit]


def _torch_outputs(out: Any) -> dict[str, np.ndarray]:
    import torch

    if isinstance(out, torch.Tensor):
        return {"output": out.detach().cpu().numpy()}
    if isinstance(out, dict):
        return {str(k): v.detach().cpu().numpy() for k, v in out.items()}
    if isinstance(out, list | tuple):
        return {
            f"output{i}" if i else "output": v.detach().cpu().numpy() for i, v in enumerate(out)
        }
    raise ModelError(
        f"the model returned {type(out).__name__}; expected a tensor, tuple or dict of tensors"
    )


class TorchModel(VisionModel):
    name = "torch"

    def __init__(self, spec: SubjectSpec, threads: int) -> None:
        super().__init__(spec)
        import torch

        torch.set_num_threads(threads)
        if spec.scheme == "torch":
            file, _, factory = spec.target.rpartition(":")
            path = Path(file)
            if not factory or not file:
                raise SpecError(f"subject {spec.raw!r}: expected torch:FILE.py:FACTORY")
            self._fp = {"torch_source": _sha256(path), "factory": factory}
            mod_spec = importlib.util.spec_from_file_location(
                f"pingce_user_model_{self._fp['torch_source'][:8]}", path
            )
            if mod_spec is None or mod_spec.loader is None:
                raise ModelError(f"{path}: not a Python file")
            module = importlib.util.module_from_spec(mod_spec)
            mod_spec.loader.exec_module(module)
            if not callable(getattr(module, factory, None)):
                raise ModelError(f"{path}: has no function {factory!r}")
            self.module = getattr(module, factory)()
        else:
            path = Path(spec.target)
            self._fp = {spec.scheme: _sha256(path)}
            from pingce.models.torch_loader import load_exported, load_torchscript

            loaded = load_torchscript(path) if spec.scheme == "torchscript" else load_exported(path)
            self.module = loaded.module
        if hasattr(self.module, "eval") and spec.scheme != "pt2":
            self.module.eval()

    def predict(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        import torch

        with torch.inference_mode():
            try:
                out = self.module(torch.from_numpy(batch))
            except Exception as exc:  # a shape mismatch, a bug in the user's module
                raise ModelError(
                    f"the torch model failed on a batch of shape {list(batch.shape)}: {type(exc).__name__}: {_first_line(exc)}",
                    hint="check the task's image_size against the model's input",
                ) from None
            return _torch_outputs(out)


class HttpModel(VisionModel):
    name = "http"

    def __init__(self, spec: SubjectSpec) -> None:
        super().__init__(spec)
        import httpx

        self.url = spec.raw
        self.client = httpx.Client(timeout=HTTP_TIMEOUT_S)

    def predict(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        import httpx

        try:
            resp = self.client.post(
                self.url, json={"inputs": batch.tolist(), "shape": list(batch.shape)}
            )
            resp.raise_for_status()
            body = resp.json()
        except (httpx.HTTPError, json.JSONDecodeError) as exc:
            raise ModelError(f"{self.url}: request failed ({exc})") from None
        outs = body.get("outputs") if isinstance(body, dict) else None
        if outs is None:
            raise ModelError(f"{self.url}: the answer has no 'outputs'")
        try:
            if isinstance(outs, dict):
                return {str(k): np.asarray(v, dtype=np.float64) for k, v in outs.items()}
            return {"output": np.asarray(outs, dtype=np.float64)}
        except (TypeError, ValueError):
            raise ModelError(f"{self.url}: 'outputs' is not a numeric array") from None


class PipeModel(VisionModel):
    """A local process that reads batches from its stdin and answers on its stdout.

    Each message is an 8-byte little-endian length and a payload: pingce sends the batch as
    `.npy` bytes, the process answers with `.npz` bytes (its named outputs). The process is
    started once and ended when pingce exits.
    """

    name = "pipe"

    def __init__(self, spec: SubjectSpec) -> None:
        import shlex
        import subprocess

        super().__init__(spec)
        self.command = spec.raw.split(":", 1)[1]
        argv = shlex.split(self.command)
        if not argv:
            raise SpecError(f"subject {spec.raw!r}: no command after 'pipe:'")
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
            )
        except OSError as exc:
            raise ModelError(
                f"subject {spec.raw!r}: cannot start {argv[0]!r} ({exc.strerror})"
            ) from None
        self._fp = {"pipe": self.command}

    def predict(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        import io
        import struct

        buf = io.BytesIO()
        np.save(buf, batch, allow_pickle=False)
        data = buf.getvalue()
        try:
            assert self.proc.stdin is not None and self.proc.stdout is not None
            message = memoryview(struct.pack("<Q", len(data)) + data)
            while message:  # an unbuffered pipe may take a message in parts
                message = message[self.proc.stdin.write(message) or 0 :]
            (size,) = struct.unpack("<Q", self._read(8))
            body = self._read(size)
        except (BrokenPipeError, OSError) as exc:
            raise ModelError(f"pipe process {self.command!r} failed ({exc})") from None
        try:
            with np.load(io.BytesIO(body), allow_pickle=False) as z:
                return {k: np.asarray(z[k]) for k in z.files}
        except (ValueError, OSError) as exc:
            raise ModelError(
                f"pipe process {self.command!r}: its answer is not .npz bytes ({exc})"
            ) from None

    def _read(self, n: int) -> bytes:
        """Exactly `n` bytes of the process's answer, waiting at most PIPE_TIMEOUT_S in all
        (unbuffered reads, so `select` sees every byte that is not yet read)."""
        import os
        import select
        import time

        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + PIPE_TIMEOUT_S
        chunks, got = [], 0
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise ModelError(
                    f"pipe process {self.command!r} gave no answer within {PIPE_TIMEOUT_S:.0f} s"
                )
            chunk = os.read(fd, min(n - got, 1 << 20))
            if not chunk:
                raise ModelError(f"pipe process {self.command!r} closed its output")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        if self.proc.poll() is None:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except Exception:
                self.proc.kill()
                self.proc.wait(timeout=5)


class ReferenceDefectModel(VisionModel):
    """Per-pixel mean and standard deviation of the good training images (Gaussian-blurred);
    the anomaly map is the blurred z-score, the image score its maximum."""

    name = "reference-defects"

    def __init__(self, spec: SubjectSpec) -> None:
        super().__init__(spec)
        if spec.target != "defects":
            raise SpecError(
                f"subject {spec.raw!r}: the built-in reference model is reference:defects"
            )
        if "train" not in spec.params:
            raise SpecError(
                f"subject {spec.raw!r}: name the good training images",
                hint="reference:defects?train=DIR",
            )
        if spec.params["train"] == "builtin:defects":
            from pingce.vision.tasks import builtin_defects_dir

            self.train = builtin_defects_dir()
        else:
            self.train = Path(spec.params["train"])
        self.sigma = float(spec.params.get("sigma", 1.0))
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        from pingce.vision.datasets import mvtec

        self.samples = mvtec(self.train, "train")
        self._fp = {
            "reference": "defects",
            "train": [s.digest for s in self.samples],
            "sigma": self.sigma,
        }

    def _fit(self, shape: tuple[int, ...]) -> None:
        from pingce.vision.datasets import load_rgb, resize

        imgs = (
            np.stack([resize(load_rgb(s), shape[-2:]) for s in self.samples]).astype(np.float64)
            / 255.0
        )
        gray = imgs.mean(axis=-1)
        self.mean = gray.mean(axis=0)
        self.std = gray.std(axis=0) + 0.02

    def predict(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        from scipy.ndimage import gaussian_filter

        # The batch is normalised with the task's mean/std; the statistics are of [0, 1]
        # images, so the task for this model uses mean 0 and std 1 (the suites do).
        if self.mean is None or self.mean.shape != batch.shape[-2:]:
            self._fit(batch.shape)
        gray = batch.mean(axis=1).astype(np.float64)
        z = np.abs(gray - self.mean) / self.std
        maps = np.stack([gaussian_filter(m, self.sigma) for m in z])
        return {"anomaly_map": maps, "score": maps.reshape(len(maps), -1).max(axis=1)}


def open_model(spec: SubjectSpec, options: dict[str, Any]) -> VisionModel:
    """The model named by `spec` (see the module docstring)."""
    threads = int(options.get("threads") or 1)
    if spec.scheme == "onnx":
        return OnnxModel(spec, threads)
    if spec.scheme in ("torchscript", "pt2", "torch"):
        return TorchModel(spec, threads)
    if spec.scheme in ("http", "https"):
        return HttpModel(spec)
    if spec.scheme == "reference":
        return ReferenceDefectModel(spec)
    if spec.scheme == "pipe":
        return PipeModel(spec)
    raise SpecError(
        f"subject {spec.raw!r}: unknown scheme {spec.scheme!r}",
        hint="use onnx:PATH, torchscript:PATH, pt2:PATH, torch:FILE.py:FACTORY, http://HOST:PORT/PATH, pipe:COMMAND or reference:defects?train=DIR",
    )


def first_output(outputs: dict[str, np.ndarray], prefer: tuple[str, ...] = ()) -> np.ndarray:
    for name in prefer:
        for key, value in outputs.items():
            if name in key.lower():
                return value
    return next(iter(outputs.values()))
