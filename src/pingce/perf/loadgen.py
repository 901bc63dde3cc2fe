"""The inference load generator: issues queries to a SUT by a scenario and times them.

Closed loop (continuous arrivals: SingleStream, MultiStream): one query at a time, the next
issued when the previous completes; latency = completion - issue.

Open loop (periodic, poisson, mixed: Server): an issuer hands each query over at its
scheduled time to `workers` threads that run the SUT; latency = completion - *scheduled* time
(as in mlcommons loadgen, loadgen.cc: `sched.delta(complete_begin_time)`), so any delay in
issuing counts against the result. The issuer does nothing but wait and hand over: the worker
that ran a query timestamps its completion. On Linux/POSIX the issuer is a process of its own
(`pingce.perf.issuer`: no GIL shared with a Python SUT, real-time priority when permitted, a
1 ns timer slack, a 0.1 ms spin before each query) writing one record per query into a pipe
the workers read; elsewhere a thread does the same (weaker on a loaded machine: it waits for
the GIL). The issue instant of every query is recorded at the hand-over, and the scheduling
error (issued - scheduled) is reported. How the issuer ran is in RunData.issuer.

Offline: one query with every sample; throughput = samples / (completion - issue).

Each run wraps a `PowerSampler`, so energy is attached whenever a counter is readable.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pingce.core.errors import ModelError
from pingce.core.measure import PowerSampler
from pingce.perf import issuer as issuer_mod
from pingce.perf.scenarios import ScenarioConfig, arrival_times
from pingce.perf.sut import SUT
from pingce.perf.workloads import Dataset

# The issuer sleeps until this long before a query, then spins. Short on purpose: in the thread
# issuer a spin holds the GIL (a 1.5 ms spin at 1,000 QPS starved a Python SUT of it).
SPIN_BEFORE_S = 0.0001
GIL_SWITCH_S = 0.00005  # the interpreter's switch interval during an open-loop run
MONITOR_S = 0.005  # how often the run checks errors and the backlog
ISSUER_START_S = 60.0  # a hang guard for the issuer process's start
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
    issuer: dict[str, Any] = field(default_factory=dict)  # how the open-loop issuer ran

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
            "issuer": self.issuer,
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


def open_loop_timings(
    scheduled_s: np.ndarray, t0: float, issued_at: np.ndarray, done_at: np.ndarray, issued: int
) -> tuple[list[float], list[float]]:
    """(latencies, scheduling errors) in seconds from the recorded clock readings.

    scheduled_s are offsets from t0; issued_at / done_at absolute readings (NaN: not issued /
    not completed). Latency is completion - *scheduled* time (MLPerf's Server semantics: a late
    issue counts against the SUT); the scheduling error is issued - scheduled, for the first
    `issued` queries.
    """
    sched = t0 + np.asarray(scheduled_s, dtype=float)
    ok = ~np.isnan(done_at)
    latencies = (done_at[ok] - sched[ok]).tolist()
    sched_err = (issued_at[:issued] - sched[:issued]).tolist()
    return latencies, sched_err


def _fcntl() -> Any:
    try:
        import fcntl
    except ImportError:  # not POSIX
        return None
    return fcntl


def process_issuer_available() -> bool:
    """True where the issuer can run as a process: POSIX pipes, and perf_counter reading the
    system-wide CLOCK_MONOTONIC (so the two processes' timestamps compare)."""
    impl = time.get_clock_info("perf_counter").implementation
    return os.name == "posix" and "CLOCK_MONOTONIC" in impl


class _ProcessIssuer:
    """Runs pingce.perf.issuer in a child process; `take()` blocks for the next due query."""

    mode = "process"

    def __init__(self, offsets_ns: np.ndarray, max_s: float) -> None:
        rfd, wfd = os.pipe()
        self._rfd = rfd
        self._killed = False
        self._err = ""
        fcntl_mod = _fcntl()
        if fcntl_mod is not None:
            with contextlib.suppress(OSError):  # room for bursts (64 KiB holds 5,461 records)
                fcntl_mod.fcntl(wfd, getattr(fcntl_mod, "F_SETPIPE_SZ", 1031), 1 << 20)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", issuer_mod.__file__, str(wfd)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(wfd,),
            )
        finally:
            os.close(wfd)  # the child holds the write end: EOF once it exits
        assert self._proc.stdin is not None and self._proc.stdout is not None
        header = issuer_mod.HEADER.pack(int(SPIN_BEFORE_S * 1e9), int(max_s * 1e9), len(offsets_ns))
        with contextlib.suppress(BrokenPipeError):  # it died: reported below
            self._proc.stdin.write(header + offsets_ns.astype("<i8").tobytes())
            self._proc.stdin.close()
        line = self._proc.stdout.readline()  # the child's start time and what it obtained
        if not line:
            self.close()
            raise RuntimeError(f"the query issuer process did not start: {self.failure()}")
        info = json.loads(line)
        self.t0 = int(info.pop("start_ns")) / 1e9
        self.info = info

    def take(self) -> tuple[int, float] | None:
        """(query index, issue instant in s), or None once the issuer has finished."""
        size = issuer_mod.RECORD.size
        buf = os.read(self._rfd, size)  # records are written whole (< PIPE_BUF): never split
        if not buf:
            return None
        i, t_ns = issuer_mod.RECORD.unpack(buf)
        return i, t_ns / 1e9

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._killed = True
            self._proc.kill()

    def finished(self) -> bool:
        return self._proc.poll() is not None

    def failure(self) -> str:
        """Why the issuer process failed, or "" (it finished, or this process stopped it)."""
        rc = self._proc.poll()
        if rc == 0 or rc is None or self._killed:
            return ""
        return f"exit code {rc}: {self._err.strip()[-500:]}"

    def close(self) -> None:
        crashed = self._proc.poll() not in (None, 0)
        self.stop()
        self._proc.wait(ISSUER_START_S)
        if self._rfd >= 0:
            os.close(self._rfd)
            self._rfd = -1
        if crashed and self._proc.stderr is not None:
            self._err = self._proc.stderr.read().decode(errors="replace")
        for f in (self._proc.stdout, self._proc.stderr):
            if f is not None:
                f.close()


class _ThreadIssuer:
    """The same issuer as a thread of this process (where a process issuer is unavailable)."""

    mode = "thread"

    def __init__(self, offsets_ns: np.ndarray, max_s: float) -> None:
        self._q: queue.SimpleQueue[tuple[int, float] | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._offsets = offsets_ns.tolist()
        self._max_ns = int(max_s * 1e9)
        self._workers = 0
        self.info: dict[str, Any] = {}
        self.t0 = 0.0
        self._thread = threading.Thread(target=self._run, name="pingce-issuer", daemon=True)
        self._thread.start()
        self._ready.wait()

    def set_workers(self, n: int) -> None:
        self._workers = n

    def _run(self) -> None:
        self.info = issuer_mod.tune_scheduling(threading.get_native_id())
        clock, spin = time.perf_counter_ns, int(SPIN_BEFORE_S * 1e9)
        start = clock() + issuer_mod.START_DELAY_NS
        self.t0 = start / 1e9
        self._ready.set()
        for i, off in enumerate(self._offsets):
            if self._stop.is_set():
                break
            target = start + off
            remaining = target - clock()
            if remaining > spin:
                time.sleep((remaining - spin) / 1e9)
            now = clock()
            while now < target:
                now = clock()
            self._q.put((i, now / 1e9))
            if now - start > self._max_ns:
                break
        for _ in range(max(self._workers, 1)):
            self._q.put(None)

    def take(self) -> tuple[int, float] | None:
        return self._q.get()

    def stop(self) -> None:
        self._stop.set()

    def finished(self) -> bool:
        return not self._thread.is_alive()

    def failure(self) -> str:
        return ""

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def run_open_loop(sut: SUT, data: Dataset, cfg: ScenarioConfig, issuer: str = "auto") -> RunData:
    """Server (and any periodic / poisson / mixed arrivals) with `cfg.workers` workers.

    `issuer`: "process", "thread" or "auto" (a process where `process_issuer_available()`).
    """
    schedule = arrival_times(cfg)
    n = len(schedule)
    rng = np.random.default_rng(cfg.seed + 1)
    indices = [_sample_indices(rng, data, cfg.samples_per_query) for _ in range(n)]
    issued_at = np.full(n, np.nan)
    done_at = np.full(n, np.nan)
    errors: list[BaseException] = []
    cancelled = threading.Event()
    taken = [0] * cfg.workers  # queries each worker has received
    clock = time.perf_counter
    if issuer == "auto":
        issuer = "process" if process_issuer_available() else "thread"
    offsets_ns = np.round(schedule * 1e9).astype(np.int64)
    src: _ProcessIssuer | _ThreadIssuer = (
        _ProcessIssuer(offsets_ns, cfg.max_duration_s)
        if issuer == "process"
        else _ThreadIssuer(offsets_ns, cfg.max_duration_s)
    )
    if isinstance(src, _ThreadIssuer):
        src.set_workers(cfg.workers)

    def worker(w: int) -> None:
        while True:
            got = src.take()
            if got is None:
                return
            i, t_issue = got
            issued_at[i] = t_issue
            taken[w] += 1
            if cancelled.is_set():
                continue  # the run was cut short: drain without serving
            try:
                _call(sut, data, indices[i])
            except BaseException as exc:  # re-raised in the caller's thread
                errors.append(exc)
                cancelled.set()
                src.stop()
                continue  # keep draining so the issuer never blocks on a full pipe
            done_at[i] = clock()

    stop_reason = ""
    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(cfg.workers)]
    old_switch = sys.getswitchinterval()
    sys.setswitchinterval(GIL_SWITCH_S)
    try:
        for th in threads:
            th.start()
        while not src.finished():
            time.sleep(MONITOR_S)
            if errors:
                break
            due = int(np.searchsorted(schedule, clock() - src.t0, side="right"))
            if due - sum(taken) > MAX_BACKLOG:
                stop_reason = f"backlog above {MAX_BACKLOG} queries: the SUT cannot keep up"
                cancelled.set()  # what is still queued will never be served in time: drop it
                break
        src.stop()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(old_switch)
        src.close()
    if errors:
        raise errors[0]
    if failed := src.failure():
        raise RuntimeError(f"the query issuer failed: {failed}")
    if not stop_reason and sum(taken) < n and not cancelled.is_set():
        stop_reason = f"max_duration_s={cfg.max_duration_s} reached"
    t0, issued = src.t0, int(sum(taken))
    # The issuer's targets are whole ns: schedule from them, not from the float seconds.
    latencies, sched_err = open_loop_timings(offsets_ns / 1e9, t0, issued_at, done_at, issued)
    completed = len(latencies)
    end = float(np.nanmax(done_at)) if completed else clock()
    issuer_info = {
        "mode": src.mode,
        **src.info,
        "spin_before_ms": SPIN_BEFORE_S * 1000.0,
        "gil_switch_interval_ms": GIL_SWITCH_S * 1000.0,
    }
    return RunData(
        cfg.scenario,
        cfg.arrival,
        cfg.to_dict(),
        latencies,
        sched_err,
        cfg.samples_per_query,
        completed * cfg.samples_per_query,
        end - t0,
        issued,
        completed,
        stop_reason,
        issuer=issuer_info,
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
