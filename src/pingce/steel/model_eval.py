"""End-point model evaluation: the `steel.endpoint` and `steel.importance` task types.

The test heats come from a heat table (or the generator) split by time only: heats are
ordered by their decision time, the latest `test_fraction` are the test set, and nothing is
shuffled across time. Each test heat is one record holding the measured and predicted values,
so every indicator (hit rates at each tolerance, MAE, RMSE, R², bias, interval coverage, by
grade and by period) is recomputed from stored records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pingce.core.errors import DataError, SpecError
from pingce.core.execute import Outcome, WorkUnit
from pingce.core.fingerprint import content_hash
from pingce.steel.heats import HeatTable, generated_heats, load_heats, load_schema
from pingce.steel.metrics import COLUMN_TO_KEY, DEFAULT_TOLERANCES, TARGETS


class GeneratedData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    heats: int = Field(default=600, ge=20, le=200_000)
    seed: int = 0


class SplitSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # The latest share of heats (by decision time) is the test set; 1.0: the whole table is
    # held-out data (the model was trained on other, earlier heats).
    test_fraction: float = Field(default=0.3, gt=0.0, le=1.0)


class _DataParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    type: str
    title: str = ""
    title_zh: str = ""
    dimension: str = "endpoint"
    language: str = "en"
    weight: float = 1.0
    data: str | None = None  # heat table path; None: generated heats
    generated: GeneratedData = GeneratedData()
    schema_: str | None = Field(default=None, alias="schema")
    units: dict[str, str] = Field(default_factory=dict)
    features: list[str] | None = None  # default: the model's, else the schema's features
    split: SplitSpec = SplitSpec()
    thresholds: dict[str, float] = Field(default_factory=dict)  # metric -> pass level
    # skip: test heats with a feature outside its physical range (a failed sensor) are left
    # out and counted in a note; keep: the model is scored on them too.
    invalid_inputs: Literal["skip", "keep"] = "skip"


class EndpointParams(_DataParams):
    targets: list[str] | None = None  # default: every target the model predicts
    tolerances: dict[str, list[float]] = Field(default_factory=lambda: dict(DEFAULT_TOLERANCES))
    periods: int = Field(default=4, ge=1, le=50)

    @field_validator("tolerances")
    @classmethod
    def _check_tolerances(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for key, tols in value.items():
            if key not in TARGETS:
                raise ValueError(f"unknown target {key!r}; expected one of {', '.join(TARGETS)}")
            if not tols or any(not (t > 0 and np.isfinite(t)) for t in tols):
                raise ValueError(f"{key}: tolerances must be a non-empty list of positive numbers")
        return {**DEFAULT_TOLERANCES, **value}


class ImportanceParams(_DataParams):
    dimension: str = "explanation"
    target: str = "endpoint_temp_c"
    resamples: int = Field(default=5, ge=2, le=100)
    seed: int = 0


@dataclass
class TestSet:
    frame: pd.DataFrame
    features: list[str]
    split_text: str
    notes: list[str]
    digest: str


def load_table(params: _DataParams, base_dir: Any = None) -> HeatTable:
    schema = load_schema(params.schema_)
    if params.data is None:
        table = generated_heats(params.generated.heats, params.generated.seed, schema)
    else:
        table = load_heats(params.data, schema, params.units)
    return table


def build_test_set(params: _DataParams, model: Any, table: HeatTable) -> TestSet:
    """Dedup, time-ordered split, and the heats with every feature and target present."""
    frame, notes = table.frame, []
    id_col, time_col = table.id_col, table.time_col
    dups = int(frame.duplicated(id_col).sum())
    if dups:
        frame = frame.drop_duplicates(id_col, keep="first")
        notes.append(f"{dups} duplicated heat row(s) left out (first occurrence kept).")
    features = params.features or model.feature_names(
        None if model.features else _default_features(table)
    )
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise DataError(f"{table.source}: feature column(s) {', '.join(missing)} not in the table")
    frame = frame.sort_values(time_col, kind="stable")
    frac = params.split.test_fraction
    if frac >= 1.0:
        test = frame
        split_text = (
            f"whole table held out: {len(test)} heats from {_t(test[time_col].iloc[0])} "
            f"to {_t(test[time_col].iloc[-1])} (the model must have been trained on earlier heats)"
        )
    else:
        cut = min(max(int(round(len(frame) * (1.0 - frac))), 1), len(frame) - 1)
        test = frame.iloc[cut:]
        split_text = (
            f"time-ordered split, no shuffling: the first {cut} heats (to {_t(frame[time_col].iloc[cut - 1])}) "
            f"are the training period, the latest {len(test)} heats (from {_t(test[time_col].iloc[0])}) the test set"
        )
    bad = test[features].isna().any(axis=1)
    if bad.any():
        notes.append(f"{int(bad.sum())} test heat(s) with a missing feature value left out.")
        test = test[~bad]
    if params.invalid_inputs == "skip":
        invalid = np.zeros(len(test), bool)
        for f in features:
            spec = table.schema.columns.get(f)
            if spec is not None:
                v = test[f].to_numpy(dtype=float)
                lo = -np.inf if spec.min is None else spec.min
                hi = np.inf if spec.max is None else spec.max
                invalid |= (v < lo) | (v > hi)
        if invalid.any():
            notes.append(
                f"{int(invalid.sum())} test heat(s) with a feature outside its physical range (a failed sensor) left out."
            )
            test = test[~invalid]
    if test.empty:
        raise DataError(f"{table.source}: no test heat has every feature ({', '.join(features)})")
    digest = content_hash(pd.util.hash_pandas_object(test, index=False).to_numpy().tolist())
    return TestSet(test, list(features), split_text, notes, digest)


def _default_features(table: HeatTable) -> list[str]:
    """The schema's features known before the decision (leaky columns excluded)."""
    from pingce.steel.generator import FEATURES

    return [f for f in FEATURES if f in table.frame.columns]


def _t(value: Any) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


def _num(x: Any) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


class EndpointTask:
    """Predict the end point of each test heat and score it against the measurement."""

    def __init__(self, params: EndpointParams, table: HeatTable, model: Any) -> None:
        self.params = params
        self.table = table
        self.test = build_test_set(params, model, table)

    def units(self, subject: Any) -> list[WorkUnit]:
        t = self.table
        group = t.schema.group
        fp = content_hash(
            subject.fingerprint(), self.params.model_dump(mode="json"), self.test.digest
        )
        units = []
        for pos, (_, row) in enumerate(self.test.frame.iterrows()):
            payload = {
                "features": {f: _num(row[f]) for f in self.test.features},
                "measured": {c: _num(row[c]) for c in COLUMN_TO_KEY if c in row.index},
                "grade": str(row[group]) if group and group in row.index else "",
                "time": pd.Timestamp(row[t.time_col]).isoformat(),
            }
            if "campaign" in row.index and not pd.isna(row["campaign"]):
                payload["campaign"] = int(row["campaign"])
            key = content_hash(fp, row[t.id_col], payload)
            units.append(
                WorkUnit(key=key, sample_id=str(row[t.id_col]), position=pos, payload=payload)
            )
        return units

    def process(self, subject: Any, units: list[WorkUnit]) -> list[Outcome]:
        frame = pd.DataFrame([u.payload["features"] for u in units], columns=self.test.features)
        preds = subject.predict(frame)
        wanted = self.params.targets
        if wanted:
            absent = [c for c in wanted if c not in preds]
            if absent:
                raise SpecError(f"task {self.params.id}: the model gives no {', '.join(absent)}")
        tol = {k: v[0] for k, v in self.params.tolerances.items()}
        out = []
        for i, u in enumerate(units):
            scores: dict[str, Any] = {}
            data: dict[str, Any] = {
                "grade": u.payload["grade"],
                "time": u.payload["time"],
                "campaign": u.payload.get("campaign"),
                "targets": {},
            }
            hits: dict[str, int] = {}
            for col, key in COLUMN_TO_KEY.items():
                if col not in preds or (wanted and col not in wanted):
                    continue
                y = u.payload["measured"].get(col)
                if y is None:
                    continue
                p = float(preds[col][i])
                if not np.isfinite(p):
                    raise SpecError(
                        f"task {self.params.id}: the model predicted {p} for {col} of heat {u.sample_id}"
                    )
                err = p - y
                hits[key] = int(abs(err) <= tol[key] + 1e-12)
                scores[f"steel_{key}_hit_rate"] = hits[key]
                scores[f"steel_{key}_mae"] = abs(err)
                scores[f"steel_{key}_rmse"] = err * err
                scores[f"steel_{key}_r2"] = [y, p]
                scores[f"steel_{key}_bias"] = err
                entry = {"y": y, "pred": p}
                lo, hi = preds.get(f"{col}_lo"), preds.get(f"{col}_hi")
                if lo is not None and hi is not None:
                    entry["lo"], entry["hi"] = float(lo[i]), float(hi[i])
                    scores[f"steel_{key}_coverage"] = int(entry["lo"] <= y <= entry["hi"])
                data["targets"][col] = entry
            if "temp" in hits and "c" in hits:
                scores["steel_double_hit_rate"] = int(hits["temp"] and hits["c"])
            out.append(Outcome(scores=scores, data=data))
        return out


def permutation_importance(
    model: Any,
    frame: pd.DataFrame,
    y: np.ndarray,
    target: str,
    features: list[str],
    rng: np.random.Generator,
) -> dict[str, float]:
    """MAE increase when each feature's column is shuffled (one shuffle per feature)."""
    base = float(np.mean(np.abs(_target(model.predict(frame, only=target), target) - y)))
    out = {}
    for f in features:
        shuffled = frame.copy()
        shuffled[f] = rng.permutation(shuffled[f].to_numpy())
        pred = _target(model.predict(shuffled, only=target), target)
        out[f] = float(np.mean(np.abs(pred - y))) - base
    return out


def _target(preds: dict[str, np.ndarray], target: str) -> np.ndarray:
    if target not in preds:
        raise SpecError(
            f"steel.importance: the model gives no {target}", hint="set the task's target"
        )
    return preds[target]


class ImportanceTask:
    """Permutation importance on bootstrap resamples of the test heats; their rank agreement."""

    def __init__(self, params: ImportanceParams, table: HeatTable, model: Any) -> None:
        self.params = params
        self.test = build_test_set(params, model, table)
        if params.target not in self.test.frame.columns:
            raise DataError(f"{table.source}: no target column {params.target!r}")
        self.test.frame = self.test.frame.dropna(subset=[params.target])

    def units(self, subject: Any) -> list[WorkUnit]:
        fp = content_hash(
            subject.fingerprint(), self.params.model_dump(mode="json"), self.test.digest
        )
        n = len(self.test.frame)
        units = []
        for r in range(self.params.resamples):
            rng = np.random.default_rng([self.params.seed, r])
            idx = rng.integers(0, n, n).tolist()
            payload = {"resample": r, "rows": idx}
            units.append(WorkUnit(content_hash(fp, payload), f"resample-{r}", r, payload))
        return units

    def process(self, subject: Any, units: list[WorkUnit]) -> list[Outcome]:
        feats = self.test.features
        out = []
        for u in units:
            sample = self.test.frame.iloc[u.payload["rows"]]
            rng = np.random.default_rng([self.params.seed, 1000 + u.payload["resample"]])
            imp = permutation_importance(
                subject,
                sample[feats].reset_index(drop=True),
                sample[self.params.target].to_numpy(dtype=float),
                self.params.target,
                feats,
                rng,
            )
            vector = [imp[f] for f in feats]
            out.append(
                Outcome(
                    scores={"steel_importance_stability": vector},
                    data={"features": feats, "importance": imp, "target": self.params.target},
                )
            )
        return out
