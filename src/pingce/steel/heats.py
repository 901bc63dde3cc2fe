"""Heat tables: reading (CSV, Parquet, a saved Hugging Face dataset), the unit-aware schema,
unit conversion and the generated-data shortcut.

A heat table has one row per heat keyed by an id column, a decision-time column, and numeric
columns whose units the schema declares. A file in other units says so (``units:
{hm_temp_c: K}``) and is converted to the schema's units before anything is measured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pingce.core.errors import DataError, SpecError
from pingce.core.spec import format_validation_error
from pingce.core.yaml_file import read_yaml

SCHEMA_DIR = Path(__file__).parent / "schemas"
Role = Literal["feature", "target", "info"]

# unit -> (dimension, to-base converter); base units: °C, %, t, Nm³, s.
_UNITS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "°C": ("temperature", lambda x: x),
    "C": ("temperature", lambda x: x),
    "K": ("temperature", lambda x: x - 273.15),
    "%": ("fraction", lambda x: x),
    "ppm": ("fraction", lambda x: x / 10000.0),
    "t": ("mass", lambda x: x),
    "kg": ("mass", lambda x: x / 1000.0),
    "Nm³": ("gas volume", lambda x: x),
    "Nm3": ("gas volume", lambda x: x),
    "s": ("time", lambda x: x),
    "min": ("time", lambda x: x * 60.0),
    "heats": ("count", lambda x: x),
    "": ("count", lambda x: x),
}


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    unit: str = ""
    min: float | None = None
    max: float | None = None
    required: bool = False
    role: Role = "info"
    available: Literal["before_decision", "after_decision"] = "before_decision"


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = "heat_id"
    time: str = "decision_time"
    group: str | None = None
    columns: dict[str, ColumnSpec] = Field(min_length=1)

    def features(self) -> list[str]:
        return [c for c, s in self.columns.items() if s.role == "feature"]

    def required(self) -> list[str]:
        return [c for c, s in self.columns.items() if s.required]


def load_schema(ref: str | None) -> Schema:
    """A schema by built-in name ('bof-heat', the default) or YAML path."""
    path = SCHEMA_DIR / f"{ref or 'bof-heat'}.yaml"
    if ref and not path.is_file():
        path = Path(ref)
        if not path.is_file():
            known = ", ".join(p.stem for p in SCHEMA_DIR.glob("*.yaml"))
            raise SpecError(
                f"schema {ref!r} is neither a built-in schema nor a file", hint=f"built-in: {known}"
            )
    raw = read_yaml(path)
    try:
        schema = Schema.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(format_validation_error(str(path), exc, Schema)) from None
    for col, spec in schema.columns.items():
        if spec.unit not in _UNITS:
            raise SpecError(
                f"{path}: columns.{col}.unit: unknown unit {spec.unit!r}",
                hint=f"one of: {', '.join(u for u in _UNITS if u)}",
            )
    return schema


def convert_units(
    frame: pd.DataFrame, declared: dict[str, str], schema: Schema, where: str
) -> pd.DataFrame:
    """A copy of `frame` with each column in `declared` converted from its unit to the schema's."""
    out = frame.copy()
    for col, unit in declared.items():
        if col not in schema.columns:
            raise SpecError(f"{where}: units.{col}: not a column of the schema")
        if unit not in _UNITS:
            raise SpecError(
                f"{where}: units.{col}: unknown unit {unit!r}",
                hint=f"one of: {', '.join(u for u in _UNITS if u)}",
            )
        target = schema.columns[col].unit
        dim_from, to_base = _UNITS[unit]
        dim_to, _ = _UNITS[target]
        if dim_from != dim_to:
            raise SpecError(
                f"{where}: units.{col}: {unit!r} is a {dim_from}, the schema's {target!r} a {dim_to}"
            )
        if col in out.columns:
            base = to_base(pd.to_numeric(out[col], errors="coerce"))
            out[col] = _from_base(base, target)
    return out


def _from_base(values: Any, unit: str) -> Any:
    inverse = {
        "K": lambda x: x + 273.15,
        "ppm": lambda x: x * 10000.0,
        "kg": lambda x: x * 1000.0,
        "min": lambda x: x / 60.0,
    }
    return inverse.get(unit, lambda x: x)(values)


def read_table(path: str | Path, what: str = "heat table") -> pd.DataFrame:
    """CSV, Parquet or a Hugging Face dataset saved with `save_to_disk` (a folder)."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{what} {p} does not exist")
    try:
        if p.is_dir():
            from datasets import load_from_disk

            ds = load_from_disk(str(p))
            if hasattr(ds, "keys"):  # a DatasetDict: its first split
                ds = ds[next(iter(ds.keys()))]
            return ds.to_pandas()
        if p.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(p)
        if p.suffix.lower() in (".csv", ".txt", ".gz"):
            return pd.read_csv(p)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{what} {p} cannot be read: {' '.join(str(exc).split())[:160]}") from None
    except ImportError as exc:
        raise DataError(
            f"{what} {p}: reading it needs {exc.name}", hint=f"pip install {exc.name}"
        ) from None
    raise DataError(
        f"{what} {p}: unknown format {p.suffix!r}",
        hint="use .csv, .parquet or a saved dataset folder",
    )


@dataclass
class HeatTable:
    """A heat table in the schema's units, with where it came from."""

    frame: pd.DataFrame
    schema: Schema
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def id_col(self) -> str:
        return self.schema.id

    @property
    def time_col(self) -> str:
        return self.schema.time


def prepare(
    frame: pd.DataFrame, schema: Schema, source: str, units: dict[str, str] | None = None
) -> HeatTable:
    """Check the key columns, parse times, coerce numbers, convert declared units."""
    for col in (schema.id, schema.time):
        if col not in frame.columns:
            raise DataError(
                f"{source}: no column {col!r}",
                hint=f"columns: {', '.join(map(str, frame.columns[:12]))}",
            )
    if frame.empty:
        raise DataError(f"{source}: the table has no rows")
    out = frame.copy()
    out[schema.id] = out[schema.id].astype(str)
    times = pd.to_datetime(out[schema.time], utc=True, errors="coerce", format="mixed")
    bad = int(times.isna().sum())
    if bad:
        raise DataError(
            f"{source}: {bad} row(s) have no valid {schema.time!r} timestamp (e.g. row {int(np.flatnonzero(times.isna())[0]) + 2})"
        )
    out[schema.time] = times
    for col in schema.columns:
        if col in out.columns and not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = pd.to_numeric(out[col], errors="coerce")
    for col in out.columns:
        if str(col).endswith("_recorded_at"):
            out[col] = pd.to_datetime(out[col], utc=True, errors="coerce", format="mixed")
    if units:
        out = convert_units(out, units, schema, source)
    return HeatTable(out, schema, source)


def load_heats(
    path: str | Path, schema: Schema | None = None, units: dict[str, str] | None = None
) -> HeatTable:
    schema = schema or load_schema(None)
    return prepare(read_table(path), schema, str(path), units)


def generated_heats(heats: int, seed: int, schema: Schema | None = None) -> HeatTable:
    """Heats from the built-in synthetic generator (see `pingce.steel.generator`)."""
    from pingce.steel.generator import HeatConfig, generate_heats

    frame = generate_heats(HeatConfig(heats=heats, seed=seed))
    return prepare(frame, schema or load_schema(None), f"generated:heats={heats},seed={seed}")
