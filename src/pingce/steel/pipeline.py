"""A small processing pipeline for heat tables and sensor series, with a funnel report.

```yaml
input: {heats: heats.csv, series: series.csv, schema: bof-heat, units: {hm_temp_c: K}}
output: clean/            # a new (or empty) folder: heats.csv, series.csv, stats.json
steps:
  - drop_duplicates                       # keep the first row of each heat id
  - drop_invalid: {mode: blank}           # out-of-range values -> missing (mode: drop drops the heat)
  - drop_leakage                          # feature columns recorded after the decision time
  - impute: {method: median}              # missing feature values -> the column's median
  - drop_incomplete                       # heats still missing a required field
  - align_series: {reference: oxygen_flow_nm3_min, max_lag_s: 60}
  - resample_series: {every_s: 5}
```

Each step is one class with `run(state)` and counts what it removed or changed; the funnel
lists heats and series rows in and out of every step. pingce writes only into a folder it
creates or finds empty, so it never overwrites what it did not make.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pingce.core.errors import DataError, SpecError
from pingce.core.spec import format_validation_error
from pingce.core.yaml_file import read_yaml
from pingce.steel.heats import HeatTable, load_heats, load_schema, read_table


class InputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    heats: str
    series: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    units: dict[str, str] = Field(default_factory=dict)


class PipelineSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    input: InputSpec
    output: str
    steps: list[str | dict[str, Any]] = Field(min_length=1)


@dataclass
class State:
    table: HeatTable
    series: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)

    @property
    def frame(self) -> pd.DataFrame:
        return self.table.frame


class _NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DropDuplicates:
    Params = _NoParams

    def __init__(self, p: _NoParams) -> None:
        self.p = p

    def run(self, s: State) -> int:
        dup = s.frame.duplicated(s.table.id_col, keep="first")
        s.table.frame = s.frame[~dup].reset_index(drop=True)
        return 0


class DropInvalidParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["blank", "drop"] = "blank"


class DropInvalid:
    Params = DropInvalidParams

    def __init__(self, p: DropInvalidParams) -> None:
        self.p = p

    def run(self, s: State) -> int:
        frame, changed = s.frame.copy(), 0
        bad_rows = np.zeros(len(frame), bool)
        for col, spec in s.table.schema.columns.items():
            if col not in frame.columns or (spec.min is None and spec.max is None):
                continue
            v = frame[col].to_numpy(dtype=float)
            lo = -np.inf if spec.min is None else spec.min
            hi = np.inf if spec.max is None else spec.max
            bad = ~np.isnan(v) & ((v < lo) | (v > hi))
            changed += int(bad.sum())
            bad_rows |= bad
            if self.p.mode == "blank":
                frame.loc[bad, col] = np.nan
        s.table.frame = frame[~bad_rows] if self.p.mode == "drop" else frame
        s.table.frame = s.table.frame.reset_index(drop=True)
        return changed if self.p.mode == "blank" else 0


class DropLeakage:
    Params = _NoParams

    def __init__(self, p: _NoParams) -> None:
        self.p = p

    def run(self, s: State) -> int:
        from pingce.steel.process_data import leakage

        feats = [
            c
            for c in s.frame.columns
            if c in s.table.schema.columns and s.table.schema.columns[c].role == "feature"
        ]
        leaks = [r["column"] for r in leakage(s.table, feats) if r["leak"]]
        drop = leaks + [f"{c}_recorded_at" for c in leaks if f"{c}_recorded_at" in s.frame.columns]
        s.table.frame = s.frame.drop(columns=drop)
        if leaks:
            s.notes.append(f"drop_leakage: dropped {', '.join(leaks)}")
        return len(drop)


class ImputeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Literal["median", "mean"] = "median"
    columns: list[str] | None = None  # default: the schema's feature columns


class Impute:
    Params = ImputeParams

    def __init__(self, p: ImputeParams) -> None:
        self.p = p

    def run(self, s: State) -> int:
        frame = s.frame.copy()
        cols = self.p.columns or [
            c
            for c in frame.columns
            if c in s.table.schema.columns and s.table.schema.columns[c].role == "feature"
        ]
        changed = 0
        for c in cols:
            if c not in frame.columns:
                raise SpecError(f"impute: column {c!r} is not in the heat table")
            missing = frame[c].isna()
            fill = frame[c].median() if self.p.method == "median" else frame[c].mean()
            frame.loc[missing, c] = fill
            changed += int(missing.sum())
        s.table.frame = frame
        return changed


class DropIncomplete:
    Params = _NoParams

    def __init__(self, p: _NoParams) -> None:
        self.p = p

    def run(self, s: State) -> int:
        req = [c for c in s.table.schema.required() if c in s.frame.columns]
        s.table.frame = s.frame.dropna(subset=req).reset_index(drop=True)
        return 0


class AlignParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: str = "oxygen_flow_nm3_min"
    max_lag_s: float = Field(default=60.0, gt=0)


class AlignSeries:
    """Shift each sensor back by its lag behind the reference (median over heats)."""

    Params = AlignParams

    def __init__(self, p: AlignParams) -> None:
        self.p = p

    def run(self, s: State) -> int:
        from pingce.steel.process_data import series_checks

        if s.series is None:
            raise SpecError("align_series: the pipeline has no input.series")
        found = series_checks(s.series, s.table.id_col, self.p.reference, self.p.max_lag_s)
        series = s.series.copy()
        changed = 0
        for sensor in found[0]["lags"] if found else []:
            lag = float(np.median([r["lags"][sensor] for r in found]))
            if lag <= 0:
                continue
            parts = []
            for _heat, part in series.groupby(s.table.id_col, sort=False):
                shifted = np.interp(part["t_s"] + lag, part["t_s"], part[sensor])
                part = part.copy()
                part[sensor] = shifted
                parts.append(part)
            series = pd.concat(parts)
            changed += len(series)
            s.notes.append(f"align_series: {sensor} shifted back by {lag:g} s")
        s.series = series.reset_index(drop=True)
        return changed


class ResampleParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    every_s: float = Field(default=5.0, gt=0)


class ResampleSeries:
    """Each heat's series on a regular grid of `every_s` seconds (linear interpolation)."""

    Params = ResampleParams

    def __init__(self, p: ResampleParams) -> None:
        self.p = p

    def run(self, s: State) -> int:
        if s.series is None:
            raise SpecError("resample_series: the pipeline has no input.series")
        if "t_s" not in s.series.columns:
            raise DataError("resample_series: the series needs a 't_s' column (seconds)")
        id_col = s.table.id_col
        sensors = [
            c
            for c in s.series.columns
            if c not in (id_col, "time", "t_s") and pd.api.types.is_numeric_dtype(s.series[c])
        ]
        parts = []
        for heat, part in s.series.groupby(id_col, sort=False):
            part = part.sort_values("t_s")
            grid = np.arange(part["t_s"].min(), part["t_s"].max() + 1e-9, self.p.every_s)
            out = pd.DataFrame({id_col: heat, "t_s": grid})
            for c in sensors:
                out[c] = np.interp(grid, part["t_s"], part[c])
            parts.append(out)
        s.series = pd.concat(parts, ignore_index=True)
        return 0


STEPS: dict[str, Any] = {
    "drop_duplicates": DropDuplicates,
    "drop_invalid": DropInvalid,
    "drop_leakage": DropLeakage,
    "impute": Impute,
    "drop_incomplete": DropIncomplete,
    "align_series": AlignSeries,
    "resample_series": ResampleSeries,
}


def build_steps(raw: list[str | dict[str, Any]], source: str) -> list[tuple[str, Any]]:
    steps = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            name, params = item, {}
        elif isinstance(item, dict) and len(item) == 1:
            name, params = next(iter(item.items()))
            params = params or {}
        else:
            raise SpecError(
                f"{source}: steps[{i}]: expected a step name or a one-key mapping name: {{params}}"
            )
        if name not in STEPS:
            raise SpecError(
                f"{source}: steps[{i}]: unknown step {name!r}", hint=f"one of: {', '.join(STEPS)}"
            )
        cls = STEPS[name]
        try:
            p = cls.Params.model_validate(params)
        except ValidationError as exc:
            raise SpecError(
                format_validation_error(f"{source}: steps[{i}].{name}", exc, cls.Params)
            ) from None
        steps.append((name, cls(p)))
    return steps


def load_pipeline(path: Path) -> tuple[PipelineSpec, list[tuple[str, Any]]]:
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping with input, output and steps")
    try:
        spec = PipelineSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(format_validation_error(str(path), exc, PipelineSpec)) from None
    return spec, build_steps(spec.steps, str(path))


def run_pipeline(path: Path) -> dict[str, Any]:
    """Run a pipeline file; returns the stats (also written to OUTPUT/stats.json)."""
    spec, steps = load_pipeline(path)
    base = path.parent
    out_dir = Path(spec.output) if Path(spec.output).is_absolute() else base / spec.output
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise SpecError(
            f"{path}: output {out_dir} exists and is not an empty folder; pingce does not overwrite it"
        )

    def resolve(p: str) -> Path:
        return Path(p) if Path(p).is_absolute() else base / p

    table = load_heats(resolve(spec.input.heats), load_schema(spec.input.schema_), spec.input.units)
    series = read_table(resolve(spec.input.series), "sensor series") if spec.input.series else None
    state = State(table, series)
    funnel = []
    for name, step in steps:
        heats_in = len(state.frame)
        rows_in = None if state.series is None else len(state.series)
        changed = step.run(state)
        funnel.append(
            {
                "step": name,
                "heats_in": heats_in,
                "heats_out": len(state.frame),
                "removed": heats_in - len(state.frame),
                "values_changed": changed,
                "series_rows_in": rows_in,
                "series_rows_out": None if state.series is None else len(state.series),
            }
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    state.frame.to_csv(out_dir / "heats.csv", index=False)
    if state.series is not None:
        state.series.to_csv(out_dir / "series.csv", index=False)
    stats = {
        "input": str(resolve(spec.input.heats)),
        "heats_in": len(table.frame) if not funnel else funnel[0]["heats_in"],
        "heats_out": len(state.frame),
        "funnel": funnel,
        "notes": state.notes,
    }
    (out_dir / "stats.json").write_text(json.dumps(stats, indent=2), encoding="utf-8")
    return stats
