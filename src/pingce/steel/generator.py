"""A seeded generator of synthetic basic-oxygen-furnace (BOF) heats.

Synthetic data, not plant data. Each heat follows a simplified oxygen (mass) balance and heat
balance so that the end-point temperature, carbon and phosphorus depend on the charge and the
blow the way they do in a converter, which lets tests and the demo train baseline models
offline:

- The operator's charge model picks scrap (to hit the grade's aim temperature) and oxygen (to
  hit its aim carbon) with nominal constants and a small operator error.
- The actual heat uses the *true* constants: oxygen efficiency varies per heat, heat losses
  grow with blow time and with lining age inside a campaign, and each campaign has its own
  offset. Carbon follows the oxygen left after Si, Mn and Fe oxidation (C -> 88 % CO, 12 % CO2),
  approaching an equilibrium floor smoothly; temperature follows the oxidation heat against the
  heat taken by hot metal, scrap, lime and slag; phosphorus follows a slag/metal partition that
  rises with lime and FeO and falls with temperature.
- Faults are injected by seed: missing values, stuck or dropped sensors, a drifting oxygen flow
  meter in the last campaign, duplicated heats, and a leakage column (the tap temperature,
  measured after the decision time, almost equal to the end-point temperature).

Not modelled: kinetics inside the blow, lance height, slag foaming, post-combustion control,
ore or coolant additions, reblows, alloying, refractory chemistry, dynamic (sub-lance) control.
Numbers are plausible in range and sign, not calibrated to any plant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

# Steel grades: aim end-point carbon (%) and temperature (°C).
GRADES: dict[str, tuple[float, float]] = {
    "SPHC": (0.040, 1675.0),
    "Q235B": (0.070, 1660.0),
    "Q345B": (0.090, 1650.0),
    "SS400": (0.060, 1665.0),
}
FEATURES = (
    "hm_mass_t",
    "hm_temp_c",
    "hm_c_pct",
    "hm_si_pct",
    "hm_mn_pct",
    "hm_p_pct",
    "scrap_mass_t",
    "lime_t",
    "oxygen_nm3",
    "blow_time_s",
    "lining_age",
)
TARGETS = ("endpoint_temp_c", "endpoint_c_pct", "endpoint_p_pct")
LEAK_COLUMN = "tap_temp_c"

CP_STEEL = 0.00084  # MJ/(kg·K), liquid iron
CP_SLAG = 0.0012  # MJ/(kg·K)
SCRAP_MELT = 1.22  # MJ/kg to heat and melt scrap to 1600 °C
LIME_HEAT = 1.7  # MJ/kg to heat and dissolve lime
O2_PER_C = 0.5 * 0.88 + 1.0 * 0.12  # kmol O2 per kmol C at 88 % CO / 12 % CO2
HEAT_PER_C = 0.88 * 9.2 + 0.12 * 32.8  # MJ per kg C burnt
HEAT_SI, HEAT_MN, HEAT_FE = 30.0, 7.0, 4.8  # MJ per kg oxidised
THERMAL_EFF = 0.78  # share of oxidation heat that stays in the bath
NM3_PER_KMOL = 22.414


@dataclass(frozen=True)
class HeatConfig:
    """What to generate. Rates are shares of heats (0 turns a fault off)."""

    heats: int = 600
    seed: int = 0
    campaigns: int = 3
    start: datetime = datetime(2026, 1, 5, tzinfo=UTC)
    heat_interval_min: float = 38.0
    missing_rate: float = 0.02
    fault_rate: float = 0.01
    duplicate_rate: float = 0.01
    drift: float = 0.01  # oxygen meter over-reads by up to this share in the last campaign
    leakage: bool = True


def _softplus_floor(raw: np.ndarray, floor: float, scale: float) -> np.ndarray:
    """`raw` above `floor`, bending smoothly onto it (decarburisation slows near equilibrium)."""
    z = (raw - floor) / scale
    return floor + scale * np.logaddexp(0.0, z)


def _steel_mass_kg(hm_kg, scrap_kg, c_pct, si_pct, mn_pct, end_c, fe_loss_kg):  # type: ignore[no-untyped-def]
    burnt = hm_kg * (c_pct - end_c + si_pct + 0.7 * mn_pct) / 100.0
    return hm_kg + scrap_kg - burnt - fe_loss_kg


def _balance(
    hm_kg: np.ndarray,
    hm_temp: np.ndarray,
    c_pct: np.ndarray,
    si_pct: np.ndarray,
    mn_pct: np.ndarray,
    scrap_kg: np.ndarray,
    lime_kg: np.ndarray,
    oxygen: np.ndarray,
    eta: np.ndarray,
    loss_mw: np.ndarray,
    blow_s: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """End-point carbon (%), temperature (°C) and steel mass (kg) from the two balances."""
    si_kg = hm_kg * si_pct / 100.0
    mn_kg = hm_kg * mn_pct / 100.0 * 0.7
    fe_loss = (hm_kg + scrap_kg) * 0.012
    c_kg = hm_kg * c_pct / 100.0 + scrap_kg * 0.002
    o2 = eta * oxygen / NM3_PER_KMOL - si_kg / 28.09 - 0.5 * mn_kg / 54.94 - 0.5 * fe_loss / 55.85
    c_burnt = np.clip(o2 / O2_PER_C * 12.011, 0.0, None)
    steel0 = hm_kg + scrap_kg
    raw_end_c = (c_kg - c_burnt) / steel0 * 100.0
    end_c = _softplus_floor(raw_end_c, 0.025, 0.012)
    c_burnt = c_kg - end_c / 100.0 * steel0
    heat = THERMAL_EFF * (c_burnt * HEAT_PER_C + si_kg * HEAT_SI + mn_kg * HEAT_MN)
    heat += THERMAL_EFF * fe_loss * HEAT_FE - loss_mw * blow_s
    slag = lime_kg + si_kg * 60.08 / 28.09 + fe_loss * 71.84 / 55.85 + mn_kg * 70.94 / 54.94
    num = (
        heat
        + CP_STEEL * hm_kg * hm_temp
        - scrap_kg * (SCRAP_MELT - CP_STEEL * 1600.0)
        - lime_kg * LIME_HEAT
        + CP_SLAG * slag * 1600.0
    )
    temp = num / (CP_STEEL * (hm_kg + scrap_kg) + CP_SLAG * slag)
    steel = _steel_mass_kg(hm_kg, scrap_kg, c_pct, si_pct, mn_pct, end_c, fe_loss)
    return end_c, temp, steel


def generate_heats(config: HeatConfig | None = None) -> pd.DataFrame:
    """One row per heat (plus injected duplicates), ordered by decision time.

    Units: masses in t, temperatures in °C, compositions in mass %, oxygen in Nm³, blow time
    in s. `decision_time` is the end of the blow (when the end-point prediction is made);
    `tap_temp_c` is measured at `tap_temp_c_recorded_at`, after it (a leakage column).
    """
    cfg = config or HeatConfig()
    if cfg.heats < 1:
        raise ValueError("heats must be >= 1")
    rng = np.random.default_rng(cfg.seed)
    n = cfg.heats
    grades = np.array(list(GRADES))[rng.integers(0, len(GRADES), n)]
    aim_c = np.array([GRADES[g][0] for g in grades])
    aim_t = np.array([GRADES[g][1] for g in grades])
    campaign = np.minimum((np.arange(n) * cfg.campaigns) // n, cfg.campaigns - 1) + 1
    per_campaign = np.bincount(campaign)[campaign]
    first = np.searchsorted(campaign, campaign)
    age = np.arange(n) - first  # heats since the lining was renewed
    progress = age / np.maximum(per_campaign - 1, 1)

    hm_t = rng.uniform(82.0, 98.0, n)
    hm_temp = rng.normal(1335.0, 22.0, n)
    c_pct = rng.normal(4.45, 0.12, n)
    si_pct = np.clip(rng.normal(0.45, 0.13, n), 0.12, 0.95)
    mn_pct = np.clip(rng.normal(0.30, 0.05, n), 0.12, 0.5)
    p_pct = np.clip(rng.normal(0.110, 0.015, n), 0.06, 0.16)
    hm_kg = hm_t * 1000.0

    # The operator's charge model: nominal constants, small errors.
    lime_kg = 3.2 * si_pct / 100.0 * hm_kg * 60.08 / 28.09 / 0.9 + 1500.0
    lime_kg = lime_kg * rng.normal(1.0, 0.05, n)
    nominal_eta, nominal_loss, flow = 0.90, 3.0, rng.normal(360.0, 15.0, n)  # Nm³/min
    scrap_kg = np.full(n, 20000.0)
    oxygen = np.full(n, 5200.0)
    for _ in range(20):  # fixed point: scrap for the aim temperature, oxygen for the aim carbon
        blow = oxygen / flow * 60.0
        end_c, temp, _steel = _balance(
            hm_kg,
            hm_temp,
            c_pct,
            si_pct,
            mn_pct,
            scrap_kg,
            lime_kg,
            oxygen,
            np.full(n, nominal_eta),
            np.full(n, nominal_loss),
            blow,
        )
        scrap_kg = np.clip(scrap_kg + (temp - aim_t) * 70.0, 4000.0, 40000.0)
        oxygen = np.clip(oxygen + (end_c - aim_c) * 1100.0, 3000.0, 8000.0)
    scrap_kg = np.clip(scrap_kg + rng.normal(0.0, 700.0, n), 3000.0, 42000.0)
    oxygen = oxygen + rng.normal(0.0, 35.0, n)
    blow = oxygen / flow * 60.0

    # The actual heat: the true constants.
    eta = np.clip(rng.normal(0.90, 0.005, n), 0.85, 0.95)
    campaign_offset = rng.normal(0.0, 0.25, cfg.campaigns + 1)[campaign]
    loss = nominal_loss * (1.0 + 0.30 * progress) + campaign_offset
    loss = loss + np.where(age < 5, 1.2, 0.0)  # a fresh lining is still soaking up heat
    end_c, temp, steel = _balance(
        hm_kg, hm_temp, c_pct, si_pct, mn_pct, scrap_kg, lime_kg, oxygen, eta, loss, blow
    )
    end_c = end_c * rng.lognormal(0.0, 0.06, n)
    temp = temp + rng.normal(0.0, 5.0, n)
    basicity = lime_kg * 0.9 / (si_pct / 100.0 * hm_kg * 60.08 / 28.09)
    partition = (
        7.5 * (basicity / 3.2) ** 0.8 * np.exp(-(temp - 1650.0) / 90.0) * (0.06 / end_c) ** 0.3
    )
    end_p = p_pct * hm_kg / steel / (1.0 + partition) * rng.lognormal(0.0, 0.08, n)

    times = [cfg.start + timedelta(minutes=cfg.heat_interval_min * i) for i in range(n)]
    times = [
        t + timedelta(seconds=float(s)) for t, s in zip(times, rng.uniform(0, 300, n), strict=True)
    ]
    df = pd.DataFrame(
        {
            "heat_id": [f"H{cfg.seed % 100:02d}{i + 1:05d}" for i in range(n)],
            "decision_time": pd.to_datetime(times, utc=True),
            "campaign": campaign,
            "lining_age": age,
            "steel_grade": grades,
            "hm_mass_t": hm_t.round(2),
            "hm_temp_c": hm_temp.round(1),
            "hm_c_pct": c_pct.round(3),
            "hm_si_pct": si_pct.round(3),
            "hm_mn_pct": mn_pct.round(3),
            "hm_p_pct": p_pct.round(4),
            "scrap_mass_t": (scrap_kg / 1000.0).round(2),
            "lime_t": (lime_kg / 1000.0).round(2),
            "oxygen_nm3": oxygen.round(0),
            "blow_time_s": blow.round(0),
            "steel_mass_t": (steel / 1000.0).round(2),
            "endpoint_temp_c": temp.round(1),
            "endpoint_c_pct": end_c.round(4),
            "endpoint_p_pct": end_p.round(4),
        }
    )
    if cfg.leakage:
        df[LEAK_COLUMN] = (temp + rng.normal(0.0, 2.0, n)).round(1)
        delay = pd.to_timedelta(rng.uniform(180.0, 480.0, n), unit="s")
        df[f"{LEAK_COLUMN}_recorded_at"] = df["decision_time"] + delay
    return _inject_faults(df, cfg, rng, progress, campaign)


def _inject_faults(
    df: pd.DataFrame,
    cfg: HeatConfig,
    rng: np.random.Generator,
    progress: np.ndarray,
    campaign: np.ndarray,
) -> pd.DataFrame:
    n = len(df)
    if cfg.drift:
        last = campaign == cfg.campaigns
        factor = np.where(last, 1.0 + cfg.drift * progress, 1.0)
        df["oxygen_nm3"] = (df["oxygen_nm3"] * factor).round(0)
    for col, share in (("hm_si_pct", 1.0), ("hm_mn_pct", 0.5), ("lime_t", 0.5)):
        hit = rng.random(n) < cfg.missing_rate * share
        df.loc[hit, col] = np.nan
    if cfg.fault_rate:
        stuck = rng.random(n) < cfg.fault_rate
        df.loc[stuck, "hm_temp_c"] = 1200.0  # a failed thermocouple's fixed reading
        dropped = rng.random(n) < cfg.fault_rate / 2
        df.loc[dropped, "oxygen_nm3"] = 0.0  # flow meter dropout
    if cfg.duplicate_rate:
        dup = np.flatnonzero(rng.random(n) < cfg.duplicate_rate)
        if len(dup):
            merged = pd.concat([df, df.iloc[dup]])
            df = merged.sort_values(["decision_time", "heat_id"], kind="stable")
    return df.reset_index(drop=True)


def generate_series(
    heats: pd.DataFrame,
    *,
    seed: int = 0,
    every_s: float = 2.0,
    lag_s: float = 12.0,
    gap_rate: float = 0.02,
    max_heats: int | None = 20,
) -> pd.DataFrame:
    """Sensor series during each heat's blow: oxygen flow (Nm³/min) and off-gas CO (%).

    The off-gas analyser answers `lag_s` seconds after the flow changes (gas transport and
    analysis delay), which `process_data.sensor_lag` should recover. Samples are dropped at
    `gap_rate` and one 20 s gap is cut into every fifth heat.
    """
    rng = np.random.default_rng(seed + 1)
    rows: list[pd.DataFrame] = []
    unique = heats.drop_duplicates("heat_id")
    if max_heats is not None:
        unique = unique.head(max_heats)
    for k, heat in enumerate(unique.itertuples(index=False)):
        blow = float(heat.blow_time_s) if heat.blow_time_s == heat.blow_time_s else 900.0
        t = np.arange(0.0, blow + lag_s + every_s, every_s)
        steps = np.cumsum(rng.uniform(20.0, 60.0, int(blow / 20) + 2))
        levels = rng.normal(360.0, 30.0, len(steps) + 1)
        flow = levels[np.searchsorted(steps, t)] + rng.normal(0.0, 4.0, len(t))
        flow[t > blow] = 0.0
        delayed = np.interp(t - lag_s, t, flow, left=0.0)
        shape = np.sin(np.clip(t - lag_s, 0, blow) / blow * np.pi) ** 0.5
        co = np.clip(0.19 * delayed * shape + rng.normal(0.0, 0.8, len(t)), 0.0, 95.0)
        keep = rng.random(len(t)) >= gap_rate
        if k % 5 == 0:
            start = rng.uniform(0.2, 0.7) * blow
            keep &= ~((t >= start) & (t < start + 20.0))
        start_time = heat.decision_time - pd.Timedelta(seconds=blow)
        rows.append(
            pd.DataFrame(
                {
                    "heat_id": heat.heat_id,
                    "time": start_time + pd.to_timedelta(t[keep], unit="s"),
                    "t_s": t[keep],
                    "oxygen_flow_nm3_min": flow[keep].round(1),
                    "offgas_co_pct": co[keep].round(2),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def time_split(
    heats: pd.DataFrame, test_fraction: float, time_column: str = "decision_time"
) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """Train on the earliest heats, test on the latest: (train, test, first test time)."""
    ordered = heats.sort_values(time_column, kind="stable")
    cut = int(round(len(ordered) * (1.0 - test_fraction)))
    cut = min(max(cut, 1), len(ordered) - 1)
    return ordered.iloc[:cut], ordered.iloc[cut:], ordered[time_column].iloc[cut]
