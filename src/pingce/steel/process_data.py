"""Process-data quality of heat tables and sensor series: the `steel.quality.*` task types.

Each check is a plain function over a `HeatTable` (or a series frame) returning one value per
heat, column or series; the tasks store them as records so the report is rebuilt from them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from pingce.core.errors import DataError
from pingce.core.execute import Outcome, WorkUnit
from pingce.core.fingerprint import content_hash
from pingce.steel.heats import HeatTable, read_table
from pingce.steel.task_types import QUALITY_ASPECTS

ASPECTS = QUALITY_ASPECTS
ROBUST_Z = 3.5
YIELD_BOUNDS = (0.85, 0.99)  # tapped steel / (hot metal + scrap)
O2_UTILISATION_BOUNDS = (0.80, 1.00)  # oxygen the reactions need / oxygen blown


class QualityParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    type: str
    title: str = ""
    title_zh: str = ""
    dimension: str = "data"
    language: str = "en"
    weight: float = 1.0
    features: list[str] | None = None  # model inputs checked for leakage and drift
    z_threshold: float = Field(default=ROBUST_Z, gt=0)
    drift_p: float = Field(default=0.01, gt=0, lt=1)
    series: str | None = None  # sensor series file (timeseries); default: the subject's
    reference: str = "oxygen_flow_nm3_min"
    max_lag_s: float = Field(default=60.0, gt=0)
    seed: int = 0
    thresholds: dict[str, float] = Field(default_factory=dict)  # metric -> pass level


def numeric_columns(table: HeatTable) -> list[str]:
    return [c for c in table.schema.columns if c in table.frame.columns]


def completeness(table: HeatTable) -> tuple[np.ndarray, list[list[str]]]:
    """Per heat: share of the schema's required fields present; and which are missing."""
    req = table.schema.required()
    frame = table.frame
    present = np.column_stack(
        [
            frame[c].notna().to_numpy() if c in frame.columns else np.zeros(len(frame), bool)
            for c in req
        ]
    )
    missing = [[c for c, ok in zip(req, row, strict=True) if not ok] for row in present]
    return present.mean(axis=1), missing


def validity(table: HeatTable) -> tuple[np.ndarray, list[list[str]]]:
    """Per heat: share of present ranged values inside [min, max]; and the fields outside."""
    cols = [
        c
        for c in numeric_columns(table)
        if table.schema.columns[c].min is not None or table.schema.columns[c].max is not None
    ]
    shares, bad = [], []
    values = {c: table.frame[c].to_numpy(dtype=float) for c in cols}
    for i in range(len(table.frame)):
        n_ok, n, wrong = 0, 0, []
        for c in cols:
            v = values[c][i]
            if np.isnan(v):
                continue
            spec = table.schema.columns[c]
            ok = (spec.min is None or v >= spec.min) and (spec.max is None or v <= spec.max)
            n += 1
            n_ok += ok
            if not ok:
                wrong.append(c)
        shares.append(n_ok / n if n else 1.0)
        bad.append(wrong)
    return np.asarray(shares), bad


def duplicates(table: HeatTable) -> np.ndarray:
    """Per row: 1 when its heat id occurs in an earlier row."""
    return table.frame[table.id_col].duplicated(keep="first").to_numpy().astype(int)


def robust_z(values: np.ndarray) -> np.ndarray:
    """0.6745·(x − median)/MAD (Iglewicz and Hoaglin); NaN where MAD is 0 or x is missing."""
    med = np.nanmedian(values)
    mad = np.nanmedian(np.abs(values - med))
    if not mad:
        return np.full_like(values, np.nan, dtype=float)
    return 0.6745 * (values - med) / mad


def outliers(
    table: HeatTable, features: list[str], threshold: float, seed: int
) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    """Per heat: robust-z flag, isolation-forest flag, and the fields beyond the z threshold."""
    from sklearn.ensemble import IsolationForest

    frame = table.frame
    cols = [c for c in features if c in frame.columns]
    z = np.column_stack([np.abs(robust_z(frame[c].to_numpy(dtype=float))) for c in cols])
    flagged = np.nan_to_num(z, nan=0.0) > threshold
    which = [[c for c, f in zip(cols, row, strict=True) if f] for row in flagged]
    x = frame[cols].astype(float)
    x = x.fillna(x.median()).fillna(0.0).to_numpy()
    forest = IsolationForest(random_state=seed).fit(x)
    return flagged.any(axis=1).astype(int), (forest.predict(x) == -1).astype(int), which


def balance_residuals(frame: pd.DataFrame) -> pd.DataFrame:
    """Metallic yield and oxygen utilisation per heat (NaN where inputs are missing).

    Oxygen the reactions need: C burnt (88 % to CO, 12 % to CO2), Si to SiO2, 70 % of Mn to
    MnO, and 1.2 % of the metallic charge to FeO; over the oxygen blown (Nm³ → kmol at 22.414).
    """
    from pingce.steel.generator import NM3_PER_KMOL, O2_PER_C

    hm = frame["hm_mass_t"] * 1000.0
    scrap = frame["scrap_mass_t"] * 1000.0
    steel = frame["steel_mass_t"] * 1000.0
    c_kg = hm * frame["hm_c_pct"] / 100.0 + scrap * 0.002 - steel * frame["endpoint_c_pct"] / 100.0
    need = (
        c_kg / 12.011 * O2_PER_C
        + hm * frame["hm_si_pct"] / 100.0 / 28.09
        + 0.5 * 0.7 * hm * frame["hm_mn_pct"].fillna(0.3) / 100.0 / 54.94
        + 0.5 * (hm + scrap) * 0.012 / 55.85
    )
    blown = frame["oxygen_nm3"] / NM3_PER_KMOL
    with np.errstate(divide="ignore", invalid="ignore"):
        util = need / blown  # a zero reading (meter dropout) gives inf: inconsistent
    return pd.DataFrame({"yield": steel / (hm + scrap), "o2_utilisation": util})


CONSISTENCY_COLUMNS = (
    "hm_mass_t",
    "scrap_mass_t",
    "steel_mass_t",
    "hm_c_pct",
    "hm_si_pct",
    "endpoint_c_pct",
    "oxygen_nm3",
)


def consistency(table: HeatTable) -> tuple[np.ndarray, pd.DataFrame]:
    """Per heat: 1 when yield and oxygen utilisation are inside their bounds, -1 when the
    inputs are missing (not scored)."""
    absent = [c for c in CONSISTENCY_COLUMNS if c not in table.frame.columns]
    if absent:
        raise DataError(f"{table.source}: the balance check needs column(s) {', '.join(absent)}")
    res = balance_residuals(table.frame)
    ok = res["yield"].between(*YIELD_BOUNDS) & res["o2_utilisation"].between(*O2_UTILISATION_BOUNDS)
    scored = res.notna().all(axis=1)
    return np.where(scored, ok.astype(int), -1), res


def balance_trend(times: list[str], values: list[float], groups: list[Any]) -> list[dict[str, Any]]:
    """Per group (campaign, or all heats): Spearman correlation of a balance residual with
    time. A meter that drifts makes the residual trend (oxygen utilisation falls as the
    oxygen meter over-reads), while the process itself keeps it level."""
    from scipy.stats import spearmanr

    by_group: dict[Any, list[tuple[str, float]]] = {}
    for t, v, g in zip(times, values, groups, strict=True):
        by_group.setdefault(g, []).append((t, v))
    out = []
    for g, pairs in by_group.items():
        if len(pairs) < 10:
            continue
        pairs.sort()
        res = spearmanr(np.arange(len(pairs)), [v for _, v in pairs])
        out.append(
            {"group": g, "n": len(pairs), "rho": float(res.statistic), "p": float(res.pvalue)}
        )
    return out


def leakage(table: HeatTable, features: list[str]) -> list[dict[str, Any]]:
    """Per feature column: whether it is recorded after the decision time, and why."""
    frame, out = table.frame, []
    for col in features:
        spec = table.schema.columns.get(col)
        stamp = f"{col}_recorded_at"
        reason = ""
        if spec is not None and spec.available == "after_decision":
            reason = "the schema says it is available only after the decision"
        elif stamp in frame.columns:
            late = (frame[stamp] > frame[table.time_col]).fillna(False)
            if late.any():
                reason = (
                    f"{stamp} is after {table.time_col} in {int(late.sum())} of {len(frame)} heats"
                )
        out.append({"column": col, "leak": int(bool(reason)), "reason": reason})
    return out


def _in_range(table: HeatTable, col: str, values: pd.Series) -> np.ndarray:
    """The present values inside the column's physical range (a failed sensor is not drift)."""
    v = values.dropna().to_numpy(float)
    spec = table.schema.columns.get(col)
    if spec is not None:
        v = v[
            (v >= (-np.inf if spec.min is None else spec.min))
            & (v <= (np.inf if spec.max is None else spec.max))
        ]
    return v


def drift(table: HeatTable, features: list[str], p_threshold: float) -> list[dict[str, Any]]:
    """Per numeric feature: KS test between the earliest and latest third of heats by time,
    on the values inside the physical range (out-of-range readings are validity failures).
    A feature drifts when p < p_threshold / number of features (Bonferroni: with a dozen
    features a plain 0.01 would flag one by chance in about one table in nine)."""
    from scipy.stats import ks_2samp

    frame = table.frame.sort_values(table.time_col, kind="stable")
    third = max(len(frame) // 3, 1)
    early, late = frame.iloc[:third], frame.iloc[-third:]
    out = []
    for col in features:
        a, b = _in_range(table, col, early[col]), _in_range(table, col, late[col])
        if len(a) < 5 or len(b) < 5:
            continue
        res = ks_2samp(a, b, method="asymp")
        out.append(
            {
                "column": col,
                "ks": float(res.statistic),
                "p": float(res.pvalue),
                "early_mean": float(a.mean()),
                "late_mean": float(b.mean()),
                "drift": int(res.pvalue < p_threshold / max(len(features), 1)),
            }
        )
    return out


def sensor_lag(
    t: np.ndarray, ref: np.ndarray, other: np.ndarray, step: float, max_lag_s: float
) -> float:
    """Seconds `other` lags behind `ref`: the shift maximising the cross-correlation of the
    differenced series, both linearly interpolated onto a regular grid of `step` seconds."""
    grid = np.arange(t.min(), t.max() + step / 2, step)
    a = np.diff(np.interp(grid, t, ref))
    b = np.diff(np.interp(grid, t, other))
    a, b = a - a.mean(), b - b.mean()
    best, best_lag = -np.inf, 0
    for k in range(0, int(max_lag_s / step) + 1):
        if len(a) - k < 3:
            break
        c = float(np.dot(a[: len(a) - k], b[k:]))
        if c > best:
            best, best_lag = c, k
    return best_lag * step


def series_checks(
    series: pd.DataFrame,
    id_col: str,
    reference: str,
    max_lag_s: float,
    where: str = "sensor series",
) -> list[dict[str, Any]]:
    """Per heat in a sensor series: gap rate, the nominal interval, each sensor's lag."""
    if "t_s" in series.columns:
        seconds = series["t_s"].astype(float)
    elif "time" in series.columns:
        times = pd.to_datetime(series["time"], utc=True, errors="coerce", format="mixed")
        seconds = (times - times.min()).dt.total_seconds()
    else:
        raise DataError(f"{where}: expected a 't_s' (seconds) or 'time' column")
    if reference not in series.columns:
        raise DataError(f"{where}: no reference sensor column {reference!r}")
    sensors = [
        c
        for c in series.columns
        if c not in (id_col, "time", "t_s")
        and pd.api.types.is_numeric_dtype(series[c])
        and c != reference
    ]
    out = []
    for heat, part in series.assign(_t=seconds).groupby(id_col, sort=False):
        part = part.sort_values("_t")
        t = part["_t"].to_numpy(float)
        if len(t) < 4:
            continue
        dt = np.diff(t)
        nominal = float(np.median(dt))
        gaps = float(np.mean(dt > 2 * nominal)) if nominal > 0 else 0.0
        lags = {
            s: sensor_lag(
                t, part[reference].to_numpy(float), part[s].to_numpy(float), nominal, max_lag_s
            )
            for s in sensors
        }
        out.append(
            {
                "heat": str(heat),
                "gap_rate": gaps,
                "interval_s": nominal,
                "max_gap_s": float(dt.max()),
                "lags": lags,
            }
        )
    return out


class QualityTask:
    """One `steel.quality.<aspect>` check over the subject's heat table."""

    def __init__(self, params: QualityParams, aspect: str) -> None:
        self.params = params
        self.aspect = aspect

    def units(self, subject: Any) -> list[WorkUnit]:
        table: HeatTable = subject.table
        p, aspect = self.params, self.aspect
        feats = p.features or [c for c in table.schema.features() if c in table.frame.columns]
        ids = table.frame[table.id_col].tolist()
        items: list[tuple[str, dict[str, Any], dict[str, Any]]] = []  # sample id, scores, data
        if aspect == "completeness":
            share, missing = completeness(table)
            items = [
                (h, {"steel_completeness": float(s)}, {"missing": m})
                for h, s, m in zip(ids, share, missing, strict=True)
            ]
        elif aspect == "validity":
            share, bad = validity(table)
            items = [
                (h, {"steel_validity": float(s)}, {"out_of_range": b})
                for h, s, b in zip(ids, share, bad, strict=True)
            ]
        elif aspect == "duplicates":
            items = [
                (h, {"steel_duplicate_rate": int(d)}, {})
                for h, d in zip(ids, duplicates(table), strict=True)
            ]
        elif aspect == "outliers":
            z, forest, which = outliers(table, feats, p.z_threshold, p.seed)
            items = [
                (
                    h,
                    {"steel_outlier_rate": int(a), "steel_isoforest_outlier_rate": int(b)},
                    {"fields": w},
                )
                for h, a, b, w in zip(ids, z, forest, which, strict=True)
            ]
        elif aspect == "consistency":
            ok, res = consistency(table)
            times = table.frame[table.time_col].astype(str).tolist()
            camps = table.frame["campaign"] if "campaign" in table.frame.columns else None
            for i, (h, o, (_, r)) in enumerate(zip(ids, ok, res.iterrows(), strict=True)):
                data: dict[str, Any] = {
                    k: (None if pd.isna(v) or not np.isfinite(v) else round(float(v), 4))
                    for k, v in r.items()
                }
                data["time"] = times[i]
                if camps is not None and not pd.isna(camps.iloc[i]):
                    data["campaign"] = int(camps.iloc[i])
                items.append((h, {"steel_balance_consistency": int(o)} if o >= 0 else {}, data))
        elif aspect == "leakage":
            items = [
                (r["column"], {"steel_leakage_rate": r["leak"]}, r) for r in leakage(table, feats)
            ]
        elif aspect == "drift":
            items = [
                (r["column"], {"steel_drift_rate": r["drift"]}, r)
                for r in drift(table, feats, p.drift_p)
            ]
        else:
            series = subject.series(p.series)
            where = f"sensor series {p.series or subject.series_source()}"
            for r in series_checks(series, table.id_col, p.reference, p.max_lag_s, where):
                scores = {"steel_ts_gap_rate": r["gap_rate"]}
                if r["lags"]:
                    scores["steel_sensor_lag_s"] = next(iter(r["lags"].values()))
                items.append((r["heat"], scores, r))
        fp = content_hash(subject.fingerprint(), p.model_dump(mode="json"), aspect)
        return [
            WorkUnit(content_hash(fp, pos, sid, scores, data), str(sid), pos, (scores, data))
            for pos, (sid, scores, data) in enumerate(items)
        ]

    def process(self, subject: Any, units: list[WorkUnit]) -> list[Outcome]:
        return [Outcome(scores=u.payload[0], data=_jsonable(u.payload[1])) for u in units]


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(json.dumps(data, default=str))


def load_series(path: str) -> pd.DataFrame:
    return read_table(path, "sensor series")
