"""End-point models under test, behind one `predict(frame) -> {column: values}` contract.

Subjects:

- ``pickle:MODEL.pkl`` (also ``sklearn:``/``joblib:``): a scikit-learn, LightGBM or XGBoost
  estimator, or a dict ``{target column: estimator}``. Loading a pickle runs code from the
  file, so pingce refuses unless the user says they trust it (``--trust-pickle`` or
  ``?trust=yes``). Prefer ONNX for models from elsewhere.
- ``onnx:MODEL.onnx``: ONNX Runtime; one float input ``[N, features]``; outputs named after
  target columns, or one output with a column per target.
- ``python:module:function`` or ``python:path/to/file.py:function``: called with a pandas
  DataFrame of the features, returns a DataFrame, a dict of arrays, or an array.
- ``http://HOST:PORT/PATH``: POST ``{"features": [...], "heats": [{name: value}, ...]}``,
  answer ``{"predictions": [{column: value}, ...]}``.

Returned columns are target columns (``endpoint_temp_c``...) and, for intervals, the same
names with ``_lo``/``_hi``. Everything a model returns is checked: one row per heat, finite
numbers.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pingce.core.errors import ModelError, SpecError
from pingce.core.fingerprint import file_sha256
from pingce.core.spec import SubjectSpec
from pingce.steel.generator import FEATURES, TARGETS

PICKLE_SCHEMES = ("pickle", "sklearn", "joblib")
SCHEMES = (*PICKLE_SCHEMES, "onnx", "python", "http", "https")


def _csv_param(spec: SubjectSpec, name: str) -> list[str] | None:
    raw = spec.params.get(name)
    return [x.strip() for x in raw.split(",") if x.strip()] if raw else None


class EndpointModel:
    """Base: feature order, target names and the checks on what `raw_predict` returns."""

    kind = "model"

    def __init__(self, spec: SubjectSpec) -> None:
        self.spec = spec
        self.features: list[str] | None = _csv_param(spec, "features")
        self.targets: list[str] | None = _csv_param(spec, "targets")
        self._fp: dict[str, Any] = {"kind": self.kind, "target": spec.target}

    def fingerprint(self) -> dict[str, Any]:
        return {**self._fp, "features": self.features, "targets": self.targets}

    def settings(self) -> dict[str, Any]:
        return {"model": self.spec.raw, "kind": self.kind, "features": self.features}

    def feature_names(self, default: list[str] | None = None) -> list[str]:
        return list(self.features or default or FEATURES)

    def raw_predict(self, frame: pd.DataFrame, only: str | None = None) -> Any:
        raise NotImplementedError

    def predict(self, frame: pd.DataFrame, only: str | None = None) -> dict[str, np.ndarray]:
        """{column: float array of len(frame)} for target columns and *_lo/*_hi bounds.

        `only` names the one target the caller needs (a model may then skip the others)."""
        out = self.raw_predict(frame, only)
        return normalize_output(out, len(frame), self.targets, self.spec.raw)


def normalize_output(
    out: Any, n: int, targets: list[str] | None, where: str
) -> dict[str, np.ndarray]:
    """What a model returned as {column: array}, or a one-line ModelError."""
    if isinstance(out, pd.DataFrame):
        cols = {str(c): out[c].to_numpy() for c in out.columns}
    elif isinstance(out, dict):
        cols = {str(k): np.asarray(v) for k, v in out.items()}
    else:
        arr = np.asarray(out)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2:
            raise ModelError(
                f"model {where}: predictions have shape {arr.shape}; expected (heats, targets)"
            )
        names = targets or list(TARGETS[: arr.shape[1]])
        if len(names) != arr.shape[1]:
            raise ModelError(
                f"model {where}: {arr.shape[1]} output column(s) but targets={','.join(names)}",
                hint="name one target per output column with ?targets=...",
            )
        cols = {name: arr[:, i] for i, name in enumerate(names)}
    result: dict[str, np.ndarray] = {}
    for name, values in cols.items():
        try:
            arr = np.asarray(values, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise ModelError(f"model {where}: column {name!r} holds non-numeric values") from None
        if arr.shape[0] != n:
            raise ModelError(
                f"model {where}: column {name!r} has {arr.shape[0]} values for {n} heats"
            )
        result[name] = arr
    known = [c for c in result if c.removesuffix("_lo").removesuffix("_hi") in TARGETS]
    if not known:
        raise ModelError(
            f"model {where}: no target column among {sorted(result)[:5]}",
            hint=f"return columns named {', '.join(TARGETS)}",
        )
    return {c: result[c] for c in known}


class PickleModel(EndpointModel):
    kind = "pickle"

    def __init__(self, spec: SubjectSpec, trust: bool) -> None:
        super().__init__(spec)
        path = Path(spec.target)
        if not path.is_file():
            raise SpecError(f"model file {path} does not exist")
        if not (trust or spec.params.get("trust") in ("yes", "1", "true")):
            raise SpecError(
                f"model {path}: loading a pickle runs code from the file; refusing without --trust-pickle",
                hint="pass --trust-pickle (or ?trust=yes) only for files you made, or export the model to ONNX",
            )
        import pickle

        try:
            with open(path, "rb") as f:
                self.model = pickle.load(f)  # noqa: S301 - the user declared the file trusted
        except ModuleNotFoundError as exc:
            raise ModelError(
                f"model {path} needs the Python package {exc.name!r}",
                hint=f"pip install {exc.name}",
            ) from None
        except Exception as exc:
            raise ModelError(
                f"model {path} is not a readable pickle: {type(exc).__name__}: {exc}"
            ) from None
        models = self.model if isinstance(self.model, dict) else {"": self.model}
        for name, est in models.items():
            if not hasattr(est, "predict"):
                raise ModelError(f"model {path}: {name or 'the object'} has no predict() method")
            names = getattr(est, "feature_names_in_", None)
            if names is not None and self.features is None:
                self.features = [str(x) for x in names]
        self._fp["sha256"] = file_sha256(path)

    def raw_predict(self, frame: pd.DataFrame, only: str | None = None) -> Any:
        x = frame[self.feature_names()]
        if isinstance(self.model, dict):
            wanted = {k: m for k, m in self.model.items() if only is None or str(k) == only}
            return {str(k): _estimator_predict(m, x) for k, m in (wanted or self.model).items()}
        return _estimator_predict(self.model, x)


def _estimator_predict(est: Any, x: pd.DataFrame) -> np.ndarray:
    if getattr(est, "feature_names_in_", None) is not None:
        return np.asarray(est.predict(x))
    return np.asarray(est.predict(x.to_numpy(dtype=float)))


class OnnxModel(EndpointModel):
    kind = "onnx"

    def __init__(self, spec: SubjectSpec) -> None:
        super().__init__(spec)
        path = Path(spec.target)
        if not path.is_file():
            raise SpecError(f"model file {path} does not exist")
        from pingce.models.onnx_runtime import SessionError, ort_session

        try:  # the one ONNX Runtime session factory (pingce.models)
            self.session = ort_session(path)
        except SessionError as exc:
            raise ModelError(
                f"model {path} is not a loadable ONNX model: {exc.reason[:200]}"
            ) from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if self.features is None and meta.get("features"):
            self.features = [x.strip() for x in meta["features"].split(",")]
        if self.targets is None and meta.get("targets"):
            self.targets = [x.strip() for x in meta["targets"].split(",")]
        self.input = self.session.get_inputs()[0].name
        self.outputs = [o.name for o in self.session.get_outputs()]
        self._fp["sha256"] = file_sha256(path)

    def raw_predict(self, frame: pd.DataFrame, only: str | None = None) -> Any:
        x = frame[self.feature_names()].to_numpy(dtype=np.float32)
        try:
            results = self.session.run(None, {self.input: x})
        except Exception as exc:
            raise ModelError(
                f"model {self.spec.target}: inference failed: {' '.join(str(exc).split())[:200]}"
            ) from None
        named = {o: r for o, r in zip(self.outputs, results, strict=True) if o in TARGETS}
        if named:
            return {k: np.asarray(v).reshape(-1) for k, v in named.items()}
        return np.asarray(results[0])


class PythonModel(EndpointModel):
    """A function the user wrote; importing it runs their code, which they asked for."""

    kind = "python"

    def __init__(self, spec: SubjectSpec) -> None:
        super().__init__(spec)
        module_ref, sep, func = spec.target.rpartition(":")
        if not sep or not module_ref or not func:
            raise SpecError(
                f"subject {spec.raw!r}: expected python:module:function or python:file.py:function"
            )
        try:
            if module_ref.endswith(".py"):
                path = Path(module_ref)
                if not path.is_file():
                    raise SpecError(f"subject {spec.raw!r}: {path} does not exist")
                name = f"pingce_steel_model_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]}"
                loader = importlib.util.spec_from_file_location(name, path)
                assert loader is not None and loader.loader is not None
                module = importlib.util.module_from_spec(loader)
                sys.modules[name] = module
                loader.loader.exec_module(module)
                self._fp["sha256"] = file_sha256(path)
            else:
                module = importlib.import_module(module_ref)
        except ImportError as exc:
            raise ModelError(f"subject {spec.raw!r}: cannot import {module_ref!r}: {exc}") from None
        self.fn = getattr(module, func, None)
        if not callable(self.fn):
            raise ModelError(f"subject {spec.raw!r}: {module_ref} has no function {func!r}")

    def raw_predict(self, frame: pd.DataFrame, only: str | None = None) -> Any:
        return self.fn(frame[self.feature_names()].copy())


class HttpModel(EndpointModel):
    kind = "http"

    def __init__(self, spec: SubjectSpec) -> None:
        super().__init__(spec)
        self.url = spec.raw.split("?", 1)[0] if spec.raw else f"{spec.scheme}://{spec.target}"
        self.timeout = float(spec.params.get("timeout", "30"))

    def raw_predict(self, frame: pd.DataFrame, only: str | None = None) -> Any:
        import httpx

        names = self.feature_names()
        heats = [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in frame[names].to_dict(orient="records")
        ]
        try:
            resp = httpx.post(
                self.url, json={"features": names, "heats": heats}, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise ModelError(
                f"model {self.url}: request failed: {type(exc).__name__}: {exc}"
            ) from None
        if resp.status_code != 200:
            raise ModelError(f"model {self.url}: HTTP {resp.status_code}: {resp.text[:120]!r}")
        try:
            body = resp.json()
        except json.JSONDecodeError:
            raise ModelError(
                f"model {self.url}: the answer is not JSON: {resp.text[:80]!r}"
            ) from None
        preds = body.get("predictions") if isinstance(body, dict) else None
        if isinstance(preds, list):
            if not all(isinstance(p, dict) for p in preds):
                raise ModelError(f"model {self.url}: 'predictions' must be a list of objects")
            cols = sorted({k for p in preds for k in p})
            return {c: [_number(p.get(c), self.url, c) for p in preds] for c in cols}
        if isinstance(preds, dict):
            return preds
        raise ModelError(
            f"model {self.url}: the answer has no 'predictions' list",
            hint='answer {"predictions": [{"endpoint_temp_c": 1650.0}, ...]}',
        )


def _number(v: Any, where: str, col: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ModelError(f"model {where}: {col} = {v!r} is not a number")
    return float(v)


def open_model(spec: SubjectSpec, options: dict[str, Any]) -> EndpointModel:
    """The model named by a subject spec (see the module docstring)."""
    if spec.scheme in PICKLE_SCHEMES:
        return PickleModel(spec, trust=bool(options.get("trust_pickle")))
    if spec.scheme == "onnx":
        return OnnxModel(spec)
    if spec.scheme == "python":
        return PythonModel(spec)
    if spec.scheme in ("http", "https"):
        return HttpModel(spec)
    raise SpecError(
        f"subject {spec.raw!r}: the steel standard has no {spec.scheme!r} models",
        hint="use pickle:MODEL.pkl --trust-pickle, onnx:MODEL.onnx, python:module:function or http://HOST/PATH",
    )
