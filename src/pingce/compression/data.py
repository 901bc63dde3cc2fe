"""Evaluation data for compression tests: everything `pingce.models.datasets` loads (NPZ,
zoo:digits, zoo:tokens) plus

- an ImageFolder: a directory of class subfolders holding PNG/JPEG images; label = index of
  the class folder in sorted order; images are resized (bilinear) to the model's H x W and
  converted to grayscale or RGB by its channel count, scaled to float32 [0, 1], NCHW;
- a JSONL file of {"text": str, "label": int | topic name}, tokenised with the text-topic
  tokenizer (`pingce.compression.text.encode`) into the model input `tokens`;
- `zoo:topics`: the held-out split of the generated topic corpus.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from pingce.core.errors import DataError
from pingce.models.datasets import Dataset, from_arrays, load_data
from pingce.models.loaded import LoadedModel

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


def default_ref(model: LoadedModel) -> str:
    """Data for a zoo model when none is given."""
    if getattr(model, "zoo_name", None) == "text-topic":
        return "zoo:topics"
    from pingce.models.datasets import default_data

    return default_data(model)


def parse_image_size(text: str | None) -> tuple[int, int] | None:
    """`HxW` (e.g. 28x28) -> (H, W); None stays None."""
    if not text:
        return None
    h, sep, w = text.lower().partition("x")
    if not sep or not h.isdigit() or not w.isdigit() or int(h) < 1 or int(w) < 1:
        raise DataError(f"--image-size {text!r} is not HxW", hint="e.g. --image-size 28x28")
    return int(h), int(w)


def model_image_shape(model: LoadedModel) -> tuple[int, int, int] | None:
    """(C, H, W) of the model's image input when it can be read off the model, else None."""
    zoo_name = getattr(model, "zoo_name", None)
    if zoo_name and zoo_name != "text-topic":
        from pingce.models.zoo import zoo_entry

        arr = next(iter(zoo_entry(zoo_name).inputs(1, 0, 0).values()))
        return tuple(arr.shape[1:]) if arr.ndim == 4 else None  # type: ignore[return-value]
    session = getattr(model, "session", None)
    if session is not None:
        shape = session.get_inputs()[0].shape
        if len(shape) == 4 and all(isinstance(d, int) for d in shape[1:]):
            return tuple(shape[1:])  # type: ignore[return-value]
    return None


def model_channels(model: LoadedModel) -> int | None:
    """Input channels: from the shape above, else the first Conv2d of a torch module."""
    shape = model_image_shape(model)
    if shape:
        return shape[0]
    module = getattr(model, "module", None)
    if module is not None:
        import torch

        for m in module.modules():
            if isinstance(m, torch.nn.Conv2d):
                return int(m.in_channels)
    return None


def load_eval_data(ref: str | None, model: LoadedModel, image_size: str | None = None) -> Dataset:
    """Load the evaluation data for `model` (see the module docstring)."""
    text = (ref or default_ref(model)).strip()
    if text == "zoo:topics":
        from pingce.compression.text import topic_split

        _, _, x, y = topic_split()
        return from_arrays({"tokens": x, "labels": y}, model.input_names, text)
    path = Path(text).expanduser()
    if path.is_dir():
        return load_image_folder(path, model, parse_image_size(image_size))
    if path.suffix.lower() == ".jsonl":
        return load_jsonl(path, model)
    return load_data(text, model.input_names)


def _n_classes(model: LoadedModel, probe: dict[str, np.ndarray]) -> int:
    return int(model.run(probe)[0].reshape(len(next(iter(probe.values()))), -1).shape[1])


def load_image_folder(root: Path, model: LoadedModel, size: tuple[int, int] | None) -> Dataset:
    """An ImageFolder as NCHW float32 in [0, 1] with sorted-class-folder labels."""
    from PIL import Image, UnidentifiedImageError

    shape = model_image_shape(model)
    channels = model_channels(model) or (shape[0] if shape else None)
    if size is None:
        if shape is None:
            raise DataError(
                f"{root}: the model's input image size is not known",
                hint="pass --image-size HxW",
            )
        size = (shape[1], shape[2])
    if channels not in (1, 3):
        raise DataError(
            f"{root}: the model takes {channels} input channels; ImageFolder gives 1 or 3"
        )
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"{root}: no class subfolders", hint="ImageFolder layout: ROOT/CLASS/IMG")
    images, labels = [], []
    for label, cls in enumerate(classes):
        for f in sorted((root / cls).iterdir()):
            if f.name.startswith(".") or not f.is_file():
                continue
            if f.suffix.lower() not in IMAGE_SUFFIXES:
                raise DataError(f"{f}: not an image file", hint="PNG or JPEG files only")
            try:
                with Image.open(f) as im:
                    im = im.convert("L" if channels == 1 else "RGB")
                    if im.size != (size[1], size[0]):
                        im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                    arr = np.asarray(im, dtype=np.float32) / 255.0
            except (UnidentifiedImageError, OSError) as exc:
                raise DataError(f"{f}: not a readable image ({type(exc).__name__})") from None
            images.append(arr[None] if channels == 1 else arr.transpose(2, 0, 1))
            labels.append(label)
    if not images:
        raise DataError(f"{root}: the class folders hold no images")
    x = np.ascontiguousarray(np.stack(images))
    n_out = _n_classes(model, {model.input_names[0]: x[:1]})
    if n_out != len(classes):
        raise DataError(
            f"{root}: {len(classes)} class folders but the model has {n_out} outputs",
            hint="one subfolder per class the model predicts",
        )
    return from_arrays(
        {model.input_names[0]: x, "labels": np.array(labels, dtype=np.int64)},
        model.input_names,
        str(root),
    )


def load_jsonl(path: Path, model: LoadedModel) -> Dataset:
    """JSONL lines {"text": str, "label": int or topic name}, tokenised for the text-topic model."""
    from pingce.compression.text import TOPICS, encode

    if not path.is_file():
        raise DataError(f"data file {str(path)!r} does not exist")
    texts: list[str] = []
    labels: list[int] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row: Any = json.loads(line)
            except json.JSONDecodeError:
                raise DataError(f"{path}:{n}: not a JSON object") from None
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise DataError(f'{path}:{n}: expected {{"text": str, "label": ...}}')
            label = row.get("label")
            if isinstance(label, str) and label in TOPICS:
                label = TOPICS.index(label)
            if not isinstance(label, int) or isinstance(label, bool) or label < 0:
                raise DataError(
                    f"{path}:{n}: 'label' must be a class id >= 0 or one of {', '.join(TOPICS)}"
                )
            texts.append(row["text"])
            labels.append(label)
    if not texts:
        raise DataError(f"{path}: no samples")
    x = encode(texts)
    n_out = _n_classes(model, {model.input_names[0]: x[:1]})
    if max(labels) >= n_out:
        raise DataError(f"{path}: label {max(labels)} but the model has {n_out} outputs")
    return from_arrays(
        {model.input_names[0]: x, "labels": np.array(labels, dtype=np.int64)},
        model.input_names,
        str(path),
    )


# Calibration and fine-tuning must not see the samples that are then scored. When no
# --calib-data / --train-data is given, a seeded quarter of the evaluation data is split off for
# fitting and the accuracy tasks score only the rest.
FIT_SPLIT_SEED = 20261208
FIT_SPLIT_FRACTION = 0.25


def fit_split(
    n: int, seed: int = FIT_SPLIT_SEED, fraction: float = FIT_SPLIT_FRACTION
) -> tuple[np.ndarray, np.ndarray]:
    """(fit indices, scored indices), both sorted and disjoint: a seeded random `fraction` of
    range(n) (at least 1 sample, at most n - 1) for calibration / fine-tuning, the rest scored."""
    if n < 2:
        raise DataError(
            f"the evaluation data has {n} sample(s): too few to split off calibration data",
            hint="pass --calib-data / --train-data",
        )
    k = min(max(1, round(n * fraction)), n - 1)
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[:k]), np.sort(perm[k:])


def subset(data: Dataset, idx: np.ndarray, source: str) -> Dataset:
    """The samples at `idx` (in that order) as a Dataset named `source`."""
    inputs = {k: v[idx] for k, v in data.inputs.items()}
    labels = None if data.labels is None else data.labels[idx]
    return Dataset(inputs, labels, source, data.sha256)


def fitting_data(
    needs: set[str],
    evaluation: Dataset,
    model: LoadedModel,
    *,
    calib_ref: str | None = None,
    train_ref: str | None = None,
    image_size: str | None = None,
) -> tuple[dict[str, Dataset], dict[str, Any] | None]:
    """The data each kind of fitting in `needs` ("calib", "train") uses, and the split of the
    evaluation data (run option `fit_split`) when some fitting had to take from it.

    A given --calib-data / --train-data is used as is; otherwise the fit part of `fit_split`
    of the evaluation data is, and the split is returned so that only the rest is scored."""
    refs = {"calib": calib_ref, "train": train_ref}
    out: dict[str, Dataset] = {}
    split = None
    for kind in sorted(needs):
        ref = refs[kind]
        if ref:
            out[kind] = load_eval_data(ref, model, image_size)
            continue
        if split is None:
            fit_idx, scored_idx = fit_split(len(evaluation))
            split = {
                "seed": FIT_SPLIT_SEED,
                "fraction": FIT_SPLIT_FRACTION,
                "n_fit": len(fit_idx),
                "n_scored": len(scored_idx),
                "used_for": [],
            }
            fit = subset(evaluation, fit_idx, f"{evaluation.source} (fit split)")
        split["used_for"].append(kind)
        out[kind] = fit
    return out, split
