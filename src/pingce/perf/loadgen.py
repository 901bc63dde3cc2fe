"""The inference load generator: issues queries to a SUT by a scenario and times them.

Closed loop (continuous arrivals: SingleStream, MultiStream): one query at a time, the next
issued when the previous completes; latency = completion - issue.

Open loop (periodic, poisson, mixed: Server): a scheduler thread issues each query at its
scheduled time into a queue that `workers` threads drain; latency = completion - *scheduled*
time (as in mlcommons loadgen), so any delay in issuing counts against the result. The
scheduler sleeps until ~1.5 ms before a query, then spins on perf_counter; the interpreter's
GIL switch interval is lowered to 0.2 ms during the run so a busy worker cannot hold the
scheduler back for the default 5 ms. The scheduling error (issued - scheduled) of every query
is recorded and reported.

Offline: one query with every sample; throughput = samples / (completion - issue).

Each run wraps a `PowerSampler`, so energy is attached whenever a counter is readable.
"""

from __future__ import annotations

import math
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pingce.core.errors import ModelError
from pingce.core.measure import PowerSampler
from pingce.perf.scenarios import ScenarioConfig, arrival_times
from pingce.perf.sut import SUT
from pingce.perf.workloads import Dataset

SPIN_BEFORE_S = 0.0015
GIL_SWITCH_S = 0.0002
# An open-loop run stops issuing when this many queries wait unserved: the SUT cannot keep up
# and the run is invalid anyway; waiting for a huge backlog would only waste time.
MAX_BACKLOG = 2000
OFFLINE_RESIZES = 3
PROBE_S = 0.25


@dataclass
class RunData:
    """Raw timings of one scenario run; everything the summary recomputes from.

    Times are seconds relative to the run start; latencies_s[i] belongs to query i.
    """

    scenario: str
    arrival: str
    config: dict[str, Any]
    latencies_s: list[float]
    sched_error_s: list[float]  # issued - scheduled (open loop only)
    samples_per_query: int
    n_samples: int
    duration_s: float  # first issue to last completion
    issued: int
    completed: int
    stopped_early: str = ""  # why issuing stopped before the schedule ended, if it did
    power: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "arrival": self.arrival,
            "config": self.config,
            "latencies_s": self.latencies_s,
            "sched_error_s": self.sched_error_s,
            "samples_per_query": self.samples_per_query,
            "n_samples": self.n_samples,
            "duration_s": self.duration_s,
            "issued": self.issued,
            "completed": self.completed,
            "stopped_early": self.stopped_early,
            "power": self.power,
        }


def _sample_indices(rng: np.random.Generator, data: Dataset, n: int) -> np.ndarray:
    return rng.integers(0, len(data), size=n)


def _call(sut: SUT, data: Dataset, idx: np.ndarray) -> None:
    out = sut.predict(data.inputs[idx])
    if len(out) != len(idx):
        raise ModelError(f"SUT {sut.name} returned {len(out)} outputs for {len(idx)} samples")


def run_closed_loop(sut: SUT, data: Dataset, cfg: ScenarioConfig) -> RunData:
    """SingleStream / MultiStream with continuous arrivals."""
    rng = np.random.default_rng(cfg.seed)
    lat: list[float] = []
    clock = time.perf_counter
    t0 = clock()
    stopped = ""
    while True:
        idx = _sample_indices(rng, data, cfg.samples_per_query)
        start = clock()
        _call(sut, data, idx)
        lat.append(clock() - start)
        elapsed = clock() - t0
        if len(lat) >= cfg.min_query_count and elapsed >= cfg.min_duration_s:
            break
        if elapsed >= cfg.max_duration_s:
            stopped = f"max_duration_s={cfg.max_duration_s} reached"
            break
    return RunData(
        cfg.scenario,
        cfg.arrival,
        cfg.to_dict(),
        lat,
        [],
        cfg.samples_per_query,
        len(lat) * cfg.samples_per_query,
        clock() - t0,
        len(lat),
        len(lat),
        stopped,
    )


def run_open_loop(sut: SUT, data: Dataset, cfg: ScenarioConfig) -> RunData:
    """Server (and any periodic / poisson / mixed arrivals) with `cfg.workers` workers."""
    schedule = arrival_times(cfg)
    n = len(schedule)
    rng = np.random.default_rng(cfg.seed + 1)
    indices = [_sample_indices(rng, data, cfg.samples_per_query) for _ in range(n)]
    issued_at = np.full(n, np.nan)
    done_at = np.full(n, np.nan)
    work: queue.Queue[int | None] = queue.Queue()
    errors: list[BaseException] = []
    stop_reason = ""
    clock = time.perf_counter

    def worker() -> None:
        while True:
            i = work.get()
            if i is None:
                return
            try:
                _call(sut, data, indices[i])
            except BaseException as exc:  # re-raised in the caller's thread
                errors.append(exc)
                return
            done_at[i] = clock()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(cfg.workers)]
    old_switch = sys.getswitchinterval()
    sys.setswitchinterval(GIL_SWITCH_S)
    try:
        for th in threads:
            th.start()
        t0 = clock()
        issued = 0
        for i, offset in enumerate(schedule):
            target = t0 + offset
            remaining = target - clock()
            if remaining > SPIN_BEFORE_S:
                time.sleep(remaining - SPIN_BEFORE_S)
            while clock() < target:
                pass
            issued_at[i] = clock()
            work.put(i)
            issued += 1
            if errors:
                break
            if work.qsize() > MAX_BACKLOG:
                stop_reason = f"backlog above {MAX_BACKLOG} queries: the SUT cannot keep up"
                break
            if clock() - t0 > cfg.max_duration_s:
                stop_reason = f"max_duration_s={cfg.max_duration_s} reached"
                break
        if stop_reason:  # drop what is still queued; it will never be served in time
            with work.mutex:
                work.queue.clear()
        for _ in threads:
            work.put(None)
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(old_switch)
    if errors:
        raise errors[0]
    ok = ~np.isnan(done_at)
    sched = t0 + schedule
    latencies = (done_at[ok] - sched[ok]).tolist()
    sched_err = (issued_at[:issued] - sched[:issued]).tolist()
    end = float(np.nanmax(done_at)) if ok.any() else clock()
    return RunData(
        cfg.scenario,
        cfg.arrival,
        cfg.to_dict(),
        latencies,
        sched_err,
        cfg.samples_per_query,
        int(ok.sum()) * cfg.samples_per_query,
        end - t0,
        issued,
        int(ok.sum()),
        stop_reason,
    )


def offline_sample_count(sut: SUT, data: Dataset, cfg: ScenarioConfig) -> int:
    """Samples for the Offline query: cfg.offline_samples, else enough for 1.1 x min duration
    at the throughput of a short probe (as loadgen sizes it from offline_expected_qps)."""
    if cfg.offline_samples:
        return cfg.offline_samples
    probe = min(len(data), max(sut.batch_size, 64))
    idx = np.arange(probe) % len(data)
    _call(sut, data, idx)  # warm-up
    # Repeat the probe for at least PROBE_S so one lucky or unlucky call does not size the run.
    t, done = time.perf_counter(), 0
    while True:
        _call(sut, data, idx)
        done += probe
        elapsed = time.perf_counter() - t
        if elapsed >= PROBE_S:
            break
    rate = done / elapsed
    want = int(math.ceil(rate * cfg.min_duration_s * 1.1))
    return max(want, cfg.min_query_count, 1)


def run_offline(sut: SUT, data: Dataset, cfg: ScenarioConfig) -> RunData:
    """Offline: one query holding every sample; the SUT batches it internally.

    When the sample count was sized from the probe and the query still finished under
    min_duration_s (the probe ran on a busier machine), the query is re-sized from the run's
    own rate and repeated, at most OFFLINE_RESIZES times; the config records the attempts.
    A count the user fixed is never re-sized.
    """
    n = offline_sample_count(sut, data, cfg)
    attempts = 0
    while True:
        attempts += 1
        idx = np.random.default_rng(cfg.seed).integers(0, len(data), size=n)
        t0 = time.perf_counter()
        _call(sut, data, idx)
        dur = time.perf_counter() - t0
        if cfg.offline_samples or dur >= cfg.min_duration_s or attempts > OFFLINE_RESIZES:
            break
        n = int(math.ceil(n * cfg.min_duration_s / max(dur, 1e-6) * 1.2))
    conf = {**cfg.to_dict(), "offline_samples": n, "offline_attempts": attempts}
    return RunData(cfg.scenario, cfg.arrival, conf, [dur], [], n, n, dur, 1, 1)


def warm_up(sut: SUT, data: Dataset, queries: int = 5) -> None:
    """A few untimed queries so lazy initialisation does not land in the first latency."""
    for i in range(queries):
        _call(sut, data, np.array([i % len(data)]))


def run_scenario(sut: SUT, data: Dataset, cfg: ScenarioConfig, warmup: int = 5) -> RunData:
    """Warm up, then run `cfg` under a power sampler; returns the raw timings."""
    warm_up(sut, data, warmup)
    with PowerSampler() as ps:
        if cfg.scenario == "offline":
            rd = run_offline(sut, data, cfg)
        elif cfg.arrival == "continuous":
            rd = run_closed_loop(sut, data, cfg)
        else:
            rd = run_open_loop(sut, data, cfg)
    assert ps.result is not None
    rd.power = ps.result.to_dict()
    return rd


def accuracy_run(sut: SUT, data: Dataset) -> dict[str, Any]:
    """Every sample once, in order: accuracy of argmax(outputs) against the labels."""
    if data.labels is None or data.reference_accuracy is None:
        # Open division: random weights or no reference; nothing to gate on.
        return {
            "n": 0,
            "correct": [],
            "accuracy": None,
            "reference_accuracy": None,
            "seconds": 0.0,
            "skipped": "open division, no accuracy gate",
        }
    t0 = time.perf_counter()
    out = np.asarray(sut.predict(data.inputs))
    seconds = time.perf_counter() - t0
    if out.ndim != 2 or len(out) != len(data):
        raise ModelError(
            f"SUT {sut.name}: accuracy needs one score vector per sample, got shape {out.shape}"
        )
    pred = out.argmax(axis=1)
    correct = (pred == data.labels).astype(float)
    return {
        "n": len(data),
        "correct": correct.tolist(),
        "accuracy": float(correct.mean()),
        "reference_accuracy": data.reference_accuracy,
        "seconds": seconds,
    }
