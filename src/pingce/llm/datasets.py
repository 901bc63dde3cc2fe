"""Dataset loaders: JSON Lines, CSV, Parquet and Hugging Face `datasets` (hub id or local)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from pingce.core.csv_rows import read_csv_rows
from pingce.core.errors import DataError
from pingce.core.jsonl_rows import iter_jsonl
from pingce.core.registry import loaders

Row = dict[str, Any]


class DatasetSpec(BaseModel):
    """Where a task's rows come from. Relative paths are relative to the suite file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    format: Literal["auto", "jsonl", "json", "csv", "parquet", "hf"] = "auto"
    split: str | None = None  # for hf datasets
    name: str | None = None  # hf dataset configuration
    fewshot_path: str | None = None  # rows for few-shot examples (a dev split)
    fewshot_split: str | None = None


def _resolve(path: str, base_dir: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else base_dir / p


@loaders.register("jsonl")
def load_jsonl(path: Path, **_: Any) -> list[Row]:
    """One JSON object per line (blank lines skipped); `.gz` files are read compressed."""
    return [row for _, row in iter_jsonl(path)]


@loaders.register("json")
def load_json(path: Path, **_: Any) -> list[Row]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text", hint="save the dataset as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: invalid JSON at line {exc.lineno} ({exc.msg})") from None
    if isinstance(data, dict):
        # The common {"data": [...]} / {"test": [...]} wrappers.
        lists = [v for v in data.values() if isinstance(v, list)]
        data = lists[0] if len(lists) == 1 else data
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise DataError(f"{path}: expected a JSON list of objects")
    return data


@loaders.register("csv")
def load_csv(path: Path, **_: Any) -> list[Row]:
    # Strict: a short row would otherwise turn a missing cell into the reference "None".
    return list(read_csv_rows(path)[1])


@loaders.register("parquet")
def load_parquet(path: Path, **_: Any) -> list[Row]:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises several unrelated types for bad files
        raise DataError(f"{path}: cannot read Parquet ({exc})") from None


@loaders.register("hf")
def load_hf(
    path: str | Path, split: str | None = None, name: str | None = None, **_: Any
) -> list[Row]:
    """A `datasets` dataset: a hub id, a local dataset folder or a local data file."""
    import datasets

    target = str(path)
    local = Path(target)
    try:
        if local.is_file():
            builder = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
            kind = builder.get(local.suffix)
            if kind is None:
                raise DataError(f"{local}: cannot infer a datasets builder from {local.suffix!r}")
            ds = datasets.load_dataset(kind, data_files={"data": str(local)}, split="data")
        elif local.is_dir() and any(
            (local / name).exists() for name in ("dataset_info.json", "dataset_dict.json")
        ):
            # save_to_disk writes dataset_info.json for a Dataset, dataset_dict.json for a
            # DatasetDict (whose splits are subfolders).
            ds = datasets.load_from_disk(str(local))
            if isinstance(ds, datasets.DatasetDict):
                ds = ds[split or next(iter(ds))]
        else:
            ds = datasets.load_dataset(target, name, split=split or "test")
    except DataError:
        raise
    except Exception as exc:  # datasets raises many types for missing/offline data
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(
            f"cannot load dataset {target!r}: {first}",
            hint="hub datasets need network access; a local JSONL/CSV/Parquet file works offline",
        ) from None
    return [dict(r) for r in ds]


def _format_for(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    suffixes = {".jsonl": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
    if path.suffix in suffixes:
        return suffixes[path.suffix]
    if path.is_dir():
        return "hf"
    if not path.exists() and "/" in str(path) and not str(path).startswith((".", "/")):
        return "hf"  # looks like a hub id
    raise DataError(f"dataset {path}: cannot tell the format", hint="set dataset.format")


def load_rows(path: str, base_dir: Path, fmt: str = "auto", **kwargs: Any) -> list[Row]:
    """Load every row of a dataset; an empty or missing dataset is a DataError."""
    resolved = _resolve(path, base_dir)
    kind = _format_for(resolved, fmt)
    if kind != "hf" and not resolved.is_file():
        raise DataError(f"dataset file {resolved} does not exist")
    loader: Callable[..., list[Row]] = loaders.get(kind)
    target: Any = resolved if (kind != "hf" or resolved.exists()) else path
    rows = loader(target, **kwargs)
    if not rows:
        raise DataError(f"dataset {resolved} is empty", hint="a task needs at least one row")
    return rows


def load_task_rows(spec: DatasetSpec, base_dir: Path) -> tuple[list[Row], list[Row]]:
    """(evaluation rows, few-shot rows); few-shot rows are empty when none are configured."""
    rows = load_rows(spec.path, base_dir, spec.format, split=spec.split, name=spec.name)
    shots: list[Row] = []
    if spec.fewshot_path or spec.fewshot_split:
        shots = load_rows(
            spec.fewshot_path or spec.path,
            base_dir,
            spec.format,
            split=spec.fewshot_split,
            name=spec.name,
        )
    return rows, shots
