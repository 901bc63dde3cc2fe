"""Input data for verification and compression tests: NPZ files or the zoo's own data.

A data reference is either

- `zoo:digits` — the held-out split of scikit-learn's digits (inputs `x`, with labels), or
  `zoo:tokens?n=64&seq=16` — seeded random token ids (input `tokens`, no labels); or
- an `.npz` file with one array per model input (named like the input; a single-input model
  may also use `x` or `inputs`) and optionally `labels` (int class ids, first axis = samples).

Every array's first axis indexes samples; all must have the same length.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import numpy as np

from pingce.core.errors import DataError, SpecError

LABEL_KEYS = ("labels", "label", "y")


@dataclass(frozen=True)
class Dataset:
    """Named input arrays (first axis = samples) and optional integer labels."""

    inputs: dict[str, np.ndarray]
    labels: np.ndarray | None
    source: str
    sha256: str

    def __len__(self) -> int:
        return len(next(iter(self.inputs.values())))

    def batch(self, start: int, stop: int) -> dict[str, np.ndarray]:
        return {k: v[start:stop] for k, v in self.inputs.items()}

    def take(self, n: int) -> Dataset:
        n = min(n, len(self))
        labels = None if self.labels is None else self.labels[:n]
        return Dataset({k: v[:n] for k, v in self.inputs.items()}, labels, self.source, self.sha256)


def _hash_arrays(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        arr = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(str(arr.dtype).encode() + str(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def load_data(ref: str, input_names: list[str]) -> Dataset:
    """Load a data reference for a model with the given input names (see module docstring)."""
    text = ref.strip()
    if text.startswith("zoo:"):
        return _zoo_data(text[4:], input_names)
    path = Path(text).expanduser()
    if not path.is_file():
        raise DataError(
            f"data file {text!r} does not exist", hint="give an .npz file or zoo:digits"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:
        raise DataError(
            f"{path}: not a readable .npz file ({type(exc).__name__})",
            hint="save it with numpy.savez(path, x=..., labels=...)",
        ) from None
    return from_arrays(arrays, input_names, str(path))


def default_data(source: Any) -> str:
    """Data for a zoo source when none is given: its own inputs (digits or token ids)."""
    zoo_name = getattr(source, "zoo_name", None)
    if zoo_name is None:
        raise SpecError(
            f"no data given to compare {source.ref.raw!r} on",
            hint="pass --data FILE.npz (one array per model input, optional 'labels')",
        )
    from pingce.models.zoo import zoo_entry

    return "zoo:tokens?n=64&seq=16" if zoo_entry(zoo_name).has_sequence else "zoo:digits"


def _zoo_data(spec: str, input_names: list[str]) -> Dataset:
    from pingce.models.zoo import digits_split, token_inputs

    name, _, query = spec.partition("?")
    params = dict(parse_qsl(query))
    if name == "digits":
        _, _, x_te, y_te = digits_split()
        arrays: dict[str, Any] = {"x": x_te, "labels": y_te}
    elif name == "tokens":
        try:
            n, seq = int(params.get("n", 64)), int(params.get("seq", 16))
        except ValueError:
            raise DataError(f"zoo:{spec}: n and seq must be integers") from None
        arrays = dict(token_inputs(n, seq, 0))
    else:
        raise DataError(
            f"unknown zoo data {name!r}", hint="use zoo:digits or zoo:tokens?n=64&seq=16"
        )
    return from_arrays(arrays, input_names, f"zoo:{spec}")


def from_arrays(arrays: dict[str, np.ndarray], input_names: list[str], source: str) -> Dataset:
    labels = next((arrays[k] for k in LABEL_KEYS if k in arrays), None)
    rest = {k: v for k, v in arrays.items() if k not in LABEL_KEYS}
    inputs: dict[str, np.ndarray] = {}
    for name in input_names:
        if name in rest:
            inputs[name] = rest[name]
        elif len(input_names) == 1:
            alias = next((k for k in ("x", "inputs", "input") if k in rest), None)
            if alias is None and len(rest) == 1:
                alias = next(iter(rest))
            if alias is None:
                raise DataError(
                    f"{source}: no array for model input {name!r}",
                    hint=f"name the array {name!r} (found: {', '.join(sorted(rest)) or 'none'})",
                )
            inputs[name] = rest[alias]
        else:
            raise DataError(
                f"{source}: no array for model input {name!r}",
                hint=f"the model takes {', '.join(input_names)}; found {', '.join(sorted(rest))}",
            )
    lengths = {k: len(v) if v.ndim else 0 for k, v in inputs.items()}
    if labels is not None:
        lengths["labels"] = len(labels) if labels.ndim else 0
    if len(set(lengths.values())) != 1 or 0 in lengths.values():
        raise DataError(
            f"{source}: arrays must share a non-empty first (sample) axis",
            hint=", ".join(f"{k}: {v}" for k, v in lengths.items()),
        )
    if labels is not None and (labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer)):
        raise DataError(f"{source}: 'labels' must be a 1-D array of integer class ids")
    all_arrays = dict(inputs)
    if labels is not None:
        all_arrays["labels"] = labels
    return Dataset(inputs, labels, source, _hash_arrays(all_arrays))
