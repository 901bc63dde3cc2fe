"""Scenario settings and arrival schedules of the inference load generator.

Scenarios (MLPerf Inference): SingleStream (one sample per query, the next query when the
previous completes; metric: p90 latency), MultiStream (N samples per query, back to back; p99),
Server (Poisson arrivals at a target QPS; valid only if p99 latency stays under the bound) and
Offline (every sample in one query; samples/s).

Arrival modes (GB/T 45087-2024): continuous (closed loop: issue when the previous query
completes), periodic (every 1/qps seconds), poisson (exponential gaps with mean 1/qps),
offline (everything at t=0) and mixed. pingce's reading of "mixed": the run cycles through
phases of `mixed_phase_s` seconds, periodic → poisson → burst (a phase's queries all at its
start), so one run exercises steady, random and bursty load at the same mean rate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from pingce.core.errors import SpecError
from pingce.perf.early_stopping import min_queries

Scenario = Literal["single-stream", "multi-stream", "server", "offline"]
Arrival = Literal["continuous", "periodic", "poisson", "offline", "mixed"]
SCENARIOS: tuple[str, ...] = ("single-stream", "multi-stream", "server", "offline")
ARRIVALS: tuple[str, ...] = ("continuous", "periodic", "poisson", "offline", "mixed")

DEFAULT_ARRIVAL = {
    "single-stream": "continuous",
    "multi-stream": "continuous",
    "server": "poisson",
    "offline": "offline",
}
DEFAULT_PERCENTILE = {"single-stream": 0.90, "multi-stream": 0.99, "server": 0.99, "offline": 0.90}

# Defaults sized for a 2-core machine and short CI runs (MLPerf's own minimum is 600 s); the
# report states the values used.
DEFAULT_MIN_DURATION_S = 2.0
DEFAULT_MAX_DURATION_S = 60.0
DEFAULT_OFFLINE_MIN_SAMPLES = 1024


@dataclass(frozen=True)
class ScenarioConfig:
    """Everything that shapes one scenario run. Times in seconds, bounds in milliseconds."""

    scenario: str
    arrival: str
    target_qps: float | None = None  # server / periodic / poisson / mixed
    samples_per_query: int = 1  # MultiStream's N
    min_duration_s: float = DEFAULT_MIN_DURATION_S
    min_query_count: int = 0
    max_duration_s: float = DEFAULT_MAX_DURATION_S
    latency_bound_ms: float | None = None
    percentile: float = 0.90
    workers: int = 1  # SUT instances consuming open-loop queries in parallel
    offline_samples: int | None = None  # None: sized from a throughput probe
    mixed_phase_s: float = 0.5
    seed: int = 1234

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_config(
    scenario: str,
    *,
    arrival: str | None = None,
    target_qps: float | None = None,
    samples_per_query: int | None = None,
    min_duration_s: float | None = None,
    min_query_count: int | None = None,
    max_duration_s: float | None = None,
    latency_bound_ms: float | None = None,
    percentile: float | None = None,
    workers: int = 1,
    offline_samples: int | None = None,
    mixed_phase_s: float = 0.5,
    seed: int = 1234,
    where: str = "scenario",
) -> ScenarioConfig:
    """A checked ScenarioConfig with the scenario's defaults filled in."""
    if scenario not in SCENARIOS:
        raise SpecError(f"{where}: unknown scenario {scenario!r}", hint=f"one of {SCENARIOS}")
    arrival = arrival or DEFAULT_ARRIVAL[scenario]
    if arrival not in ARRIVALS:
        raise SpecError(f"{where}: unknown arrival mode {arrival!r}", hint=f"one of {ARRIVALS}")
    if scenario == "offline" and arrival != "offline":
        raise SpecError(
            f"{where}: the offline scenario issues everything at once (arrival=offline)"
        )
    if scenario != "offline" and arrival == "offline":
        raise SpecError(f"{where}: arrival=offline belongs to the offline scenario")
    open_loop = arrival in ("periodic", "poisson", "mixed")
    if open_loop and (target_qps is None or target_qps <= 0):
        raise SpecError(f"{where}: arrival {arrival!r} needs target_qps > 0")
    if scenario == "server" and not open_loop:
        raise SpecError(f"{where}: the server scenario needs periodic, poisson or mixed arrivals")
    p = percentile if percentile is not None else DEFAULT_PERCENTILE[scenario]
    if not 0.5 <= p < 1.0:
        raise SpecError(f"{where}: percentile must be in [0.5, 1), got {p}")
    if scenario == "server" and latency_bound_ms is None:
        raise SpecError(f"{where}: the server scenario needs latency_bound_ms")
    n = (
        samples_per_query
        if samples_per_query is not None
        else (8 if scenario == "multi-stream" else 1)
    )
    if n < 1:
        raise SpecError(f"{where}: samples_per_query must be >= 1")
    if workers < 1:
        raise SpecError(f"{where}: workers must be >= 1")
    min_count = min_query_count
    if min_count is None:
        # Enough queries for the early-stopping estimate at the scenario's percentile.
        min_count = 1 if scenario == "offline" else min_queries(p)
    return ScenarioConfig(
        scenario=scenario,
        arrival=arrival,
        target_qps=target_qps,
        samples_per_query=n,
        min_duration_s=DEFAULT_MIN_DURATION_S if min_duration_s is None else min_duration_s,
        min_query_count=min_count,
        max_duration_s=DEFAULT_MAX_DURATION_S if max_duration_s is None else max_duration_s,
        latency_bound_ms=latency_bound_ms,
        percentile=p,
        workers=workers,
        offline_samples=offline_samples,
        mixed_phase_s=mixed_phase_s,
        seed=seed,
    )


def arrival_times(cfg: ScenarioConfig) -> np.ndarray:
    """Scheduled issue times (seconds from the start) of an open-loop run.

    As many queries as the longer of min_duration_s at target_qps and min_query_count need.
    Deterministic for a given seed.
    """
    qps = float(cfg.target_qps or 0)
    n = max(cfg.min_query_count, int(math.ceil(qps * cfg.min_duration_s)), 1)
    rng = np.random.default_rng(cfg.seed)
    if cfg.arrival == "periodic":
        return np.arange(n, dtype=float) / qps
    if cfg.arrival == "poisson":
        gaps = rng.exponential(1.0 / qps, size=n)
        return np.concatenate([[0.0], np.cumsum(gaps[:-1])])
    if cfg.arrival == "mixed":
        per_phase = max(1, int(round(qps * cfg.mixed_phase_s)))
        times: list[float] = []
        phase = 0
        while len(times) < n:
            start = phase * cfg.mixed_phase_s
            kind = phase % 3
            if kind == 0:  # periodic
                times.extend(start + np.arange(per_phase) / qps)
            elif kind == 1:  # poisson, clipped to the phase
                gaps = rng.exponential(1.0 / qps, size=per_phase)
                t = start + np.concatenate([[0.0], np.cumsum(gaps[:-1])])
                times.extend(np.minimum(t, start + cfg.mixed_phase_s * 0.999))
            else:  # burst
                times.extend([start] * per_phase)
            phase += 1
        return np.sort(np.asarray(times[:n], dtype=float))
    raise ValueError(f"arrival {cfg.arrival!r} has no schedule")
