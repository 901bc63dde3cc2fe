"""Shared measurement: latency statistics, throughput, peak memory, power/energy, inventory.

Every standard that times, sizes or meters something uses these, so a latency in the
server-performance report and one in the compression report mean the same thing.

- `LatencyStats`: per-call latencies in milliseconds with percentiles (MLPerf loadgen's
  nearest-rank rule, see `percentile_ms`) and a bootstrap CI of the mean from
  `pingce.core.stats`.
- `measure_latency` / `throughput`: time a callable with `time.perf_counter_ns`, after warm-up.
- `peak_rss_mb` / `PeakMemory`: resident-set high-water mark. On Linux the kernel's own
  high-water mark (VmHWM in /proc/self/status) is read, and `PeakMemory` resets it on entry by
  writing "5" to /proc/self/clear_refs, so the peak is exact rather than sampled. Where that is
  not possible it falls back to polling RSS with psutil every `interval_s` (a sampled peak: short
  spikes between polls are missed); `method` says which one was used.
- `PowerSampler`: a background thread reading cumulative energy counters: Intel/AMD RAPL
  (/sys/class/powercap/intel-rapl:N/energy_uj, package domains) and NVIDIA NVML (pynvml).
  Without a readable counter it reports `measured=False` and no numbers: energy is never
  estimated or invented.
- `system_inventory`: CPU, cores, memory, accelerators, driver and runtime versions, threads.
- `set_threads`: a context manager pinning torch's intra-op threads and the OMP/MKL variables.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pingce.core import fingerprint
from pingce.core.stats import estimate

__all__ = [
    "LatencyStats",
    "MemoryPeak",
    "PeakMemory",
    "PowerReading",
    "PowerSampler",
    "measure_latency",
    "peak_rss_mb",
    "percentile_ms",
    "set_threads",
    "system_inventory",
    "throughput",
]

# Above this many samples the bootstrap of the mean uses fewer resamples: the CI of a mean over
# tens of thousands of latencies is narrow and stable, and 1,000 resamples would cost seconds.
_BOOTSTRAP_FULL_UP_TO = 10_000
_BOOTSTRAP_LARGE_N = 200

THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def percentile_ms(sorted_ms: Sequence[float], q: float) -> float:
    """The q-quantile (0 < q <= 1) of ascending `sorted_ms` by MLPerf loadgen's rule.

    loadgen takes sorted[min(floor(q * n), n - 1)] (results.cc, ProcessLatencies), which is
    one rank above the textbook nearest rank when q * n is whole, so it never understates a
    tail. Units are those of the input.
    """
    n = len(sorted_ms)
    if n == 0:
        raise ValueError("percentile of no samples")
    if not 0.0 < q <= 1.0:
        raise ValueError(f"percentile must be in (0, 1], got {q!r}")
    return float(sorted_ms[min(int(math.floor(q * n)), n - 1)])


@dataclass(frozen=True)
class LatencyStats:
    """Latencies of n calls in milliseconds: mean (with a 95% bootstrap CI), percentiles, range.

    `samples_ms` keeps every latency in the order measured, so reports can draw histograms
    and CDFs and later statistics can be recomputed.
    """

    n: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    min_ms: float
    max_ms: float
    ci_low_ms: float
    ci_high_ms: float
    samples_ms: list[float] = field(default_factory=list, repr=False)

    @classmethod
    def from_samples(cls, seconds: Sequence[float]) -> LatencyStats:
        """Statistics of latencies given in seconds (stored and reported in milliseconds)."""
        ms = [float(s) * 1000.0 for s in seconds]
        if not ms:
            raise ValueError("LatencyStats needs at least one latency")
        if any(not math.isfinite(v) or v < 0 for v in ms):
            raise ValueError("latencies must be finite and non-negative")
        ordered = sorted(ms)
        resamples = 1000 if len(ms) <= _BOOTSTRAP_FULL_UP_TO else _BOOTSTRAP_LARGE_N
        est = estimate(ms, n_resamples=resamples, seed=0)
        return cls(
            n=len(ms),
            mean_ms=est.value,
            p50_ms=percentile_ms(ordered, 0.50),
            p90_ms=percentile_ms(ordered, 0.90),
            p95_ms=percentile_ms(ordered, 0.95),
            p99_ms=percentile_ms(ordered, 0.99),
            min_ms=ordered[0],
            max_ms=ordered[-1],
            ci_low_ms=float(est.ci_low if est.ci_low is not None else est.value),
            ci_high_ms=float(est.ci_high if est.ci_high is not None else est.value),
            samples_ms=ms,
        )

    def percentile(self, q: float) -> float:
        """Any quantile (0 < q <= 1) of the samples in milliseconds, by the loadgen rule."""
        return percentile_ms(sorted(self.samples_ms), q)

    def to_dict(self, with_samples: bool = False) -> dict[str, Any]:
        """A JSON-safe dict; the raw samples only when asked for."""
        out = asdict(self)
        if not with_samples:
            out.pop("samples_ms")
        return out


def measure_latency(
    fn: Callable[[], Any],
    *,
    warmup: int = 3,
    repeats: int = 30,
    threads: int | None = None,
) -> LatencyStats:
    """Call `fn` `warmup` times untimed, then `repeats` times, timing each call (wall clock).

    With `threads`, the calls run inside `set_threads(threads)`.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    ctx = set_threads(threads) if threads is not None else contextlib.nullcontext()
    with ctx:
        for _ in range(warmup):
            fn()
        seconds = []
        clock = time.perf_counter_ns
        for _ in range(repeats):
            t0 = clock()
            fn()
            seconds.append((clock() - t0) / 1e9)
    return LatencyStats.from_samples(seconds)


def throughput(
    fn: Callable[[], Any],
    batch_size: int,
    *,
    warmup: int = 3,
    repeats: int = 30,
    threads: int | None = None,
) -> tuple[float, LatencyStats]:
    """Items per second of `fn`, which processes `batch_size` items per call, with its latencies.

    items/s = batch_size * repeats / (sum of the timed call durations in seconds).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    stats = measure_latency(fn, warmup=warmup, repeats=repeats, threads=threads)
    total_s = sum(stats.samples_ms) / 1000.0
    rate = batch_size * stats.n / total_s if total_s > 0 else math.inf
    return rate, stats


# ---------------------------------------------------------------------------------------------
# Memory


def _read_status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _current_rss_mb() -> float:
    kb = _read_status_kb("VmRSS")
    if kb is not None:
        return kb / 1024.0
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:  # pragma: no cover - non-Linux without psutil
        return math.nan


def peak_rss_mb() -> float:
    """This process's resident-set high-water mark in MiB (since start or the last reset).

    Linux: VmHWM from /proc/self/status (reset by `PeakMemory`). Elsewhere:
    resource.getrusage(RUSAGE_SELF).ru_maxrss (KiB on Linux, bytes on macOS), never reset.
    """
    kb = _read_status_kb("VmHWM")
    if kb is not None:
        return kb / 1024.0
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024.0


def _reset_kernel_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where not permitted."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


@dataclass(frozen=True)
class MemoryPeak:
    """RSS at entry, peak RSS inside the block, and their difference, all in MiB."""

    start_mb: float
    peak_mb: float
    delta_mb: float
    method: str  # "kernel-hwm" (exact) or "psutil-poll" (sampled every interval_s)


class PeakMemory:
    """Context manager measuring the RSS high-water mark of this process inside a block.

    Uses the kernel's high-water mark (exact) when /proc/self/clear_refs is writable, else
    polls RSS with psutil from a background thread every `interval_s` seconds. After the block,
    `result` holds a `MemoryPeak`. Counts the whole process (all threads), not one call.
    """

    def __init__(self, interval_s: float = 0.005) -> None:
        self.interval_s = interval_s
        self.result: MemoryPeak | None = None
        self._method = ""
        self._start = 0.0
        self._peak = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakMemory:
        self._start = _current_rss_mb()
        if _reset_kernel_peak() and _read_status_kb("VmHWM") is not None:
            self._method = "kernel-hwm"
        else:
            self._method = "psutil-poll"
            self._peak = self._start
            self._thread = threading.Thread(target=self._poll, name="pingce-peakmem", daemon=True)
            self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._peak = max(self._peak, _current_rss_mb())

    def __exit__(self, *exc: object) -> None:
        if self._method == "kernel-hwm":
            peak = peak_rss_mb()
        else:
            self._stop.set()
            if self._thread is not None:
                self._thread.join()
            peak = max(self._peak, _current_rss_mb())
        self.result = MemoryPeak(self._start, peak, max(0.0, peak - self._start), self._method)


# ---------------------------------------------------------------------------------------------
# Power and energy

RAPL_ROOT = Path("/sys/class/powercap")


@dataclass(frozen=True)
class PowerReading:
    """Energy over a measured interval. All numbers are None when `measured` is False.

    energy_j: joules over the interval; avg_w = energy_j / duration_s; max_w: the largest
    average power over a window of at least max_window_s (0.5 s by default); source: "rapl", "nvml", "rapl+nvml" or "none";
    reason: why nothing was measured (empty when measured).
    """

    measured: bool
    source: str
    energy_j: float | None
    avg_w: float | None
    max_w: float | None
    duration_s: float
    n_samples: int
    domains: list[str] = field(default_factory=list)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _RaplDomain:
    """One RAPL package counter (energy_uj wraps at max_energy_range_uj)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = (path / "name").read_text().strip() if (path / "name").exists() else path.name
        self.range_uj = int((path / "max_energy_range_uj").read_text())

    def read_uj(self) -> int:
        return int((self.path / "energy_uj").read_text())

    def delta_uj(self, before: int, after: int) -> int:
        return after - before if after >= before else after + self.range_uj + 1 - before


def rapl_domains(root: Path = RAPL_ROOT) -> list[_RaplDomain]:
    """Readable top-level RAPL package domains (sub-zones are inside them; not double-counted)."""
    found = []
    if not root.is_dir():
        return found
    for zone in sorted(root.glob("intel-rapl:*")):
        if zone.name.count(":") != 1:  # intel-rapl:0:0 is a sub-zone of intel-rapl:0
            continue
        try:
            dom = _RaplDomain(zone)
            dom.read_uj()
        except (OSError, ValueError):
            continue
        found.append(dom)
    return found


class _NvmlDevices:
    """NVIDIA GPUs through pynvml: the cumulative energy counter (mJ) where supported."""

    def __init__(self) -> None:
        import pynvml  # noqa: PLC0415 - optional dependency

        self.nvml = pynvml
        pynvml.nvmlInit()
        self.handles = [
            pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())
        ]
        for h in self.handles:  # raises NVMLError on GPUs without the counter (pre-Volta)
            pynvml.nvmlDeviceGetTotalEnergyConsumption(h)
        self.names = [f"gpu{i}" for i in range(len(self.handles))]

    def read_mj(self) -> list[int]:
        return [int(self.nvml.nvmlDeviceGetTotalEnergyConsumption(h)) for h in self.handles]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.nvml.nvmlShutdown()


def _open_nvml() -> tuple[_NvmlDevices | None, str]:
    try:
        dev = _NvmlDevices()
    except ImportError:
        return None, "pynvml not installed"
    except Exception as exc:  # NVMLError when no driver/GPU or no energy counter
        return None, f"NVML unavailable: {exc}"
    if not dev.handles:
        dev.close()
        return None, "NVML reports no GPU"
    return dev, ""


class PowerSampler:
    """Background sampler of cumulative energy counters over a `with` block.

    Every `interval_s` seconds it reads each RAPL package counter and each NVML GPU counter;
    energy is the sum of counter deltas, so it does not depend on the sampling rate (the rate
    only sets the resolution of `max_w`, the highest average over windows of at least
    `max_window_s`). After the block, `result` holds a `PowerReading`.
    `rapl_root` and `use_nvml` exist so tests and users can point at another sysfs tree or
    leave GPUs out.
    """

    def __init__(
        self,
        interval_s: float = 0.1,
        *,
        rapl_root: Path | str = RAPL_ROOT,
        use_rapl: bool = True,
        use_nvml: bool = True,
        max_window_s: float = 0.5,
    ) -> None:
        self.interval_s = interval_s
        self.max_window_s = max_window_s
        self.rapl = rapl_domains(Path(rapl_root)) if use_rapl else []
        self.nvml, nvml_reason = _open_nvml() if use_nvml else (None, "NVML not requested")
        reasons = []
        if not self.rapl:
            reasons.append(f"no readable RAPL counter under {rapl_root}")
        if self.nvml is None:
            reasons.append(nvml_reason)
        self._reason = "; ".join(reasons)
        self.result: PowerReading | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._energy_j = 0.0
        self._max_w = 0.0
        self._win_j = 0.0
        self._win_s = 0.0
        self._n = 0
        self._t0 = 0.0

    @property
    def available(self) -> bool:
        """Whether any energy counter can be read on this machine."""
        return bool(self.rapl) or self.nvml is not None

    def _read(self) -> tuple[float, list[int], list[int]]:
        rapl = [d.read_uj() for d in self.rapl]
        gpu = self.nvml.read_mj() if self.nvml is not None else []
        return time.perf_counter(), rapl, gpu

    def _step(self, prev: tuple[float, list[int], list[int]]) -> tuple[float, list[int], list[int]]:
        cur = self._read()
        joules = sum(d.delta_uj(a, b) for d, a, b in zip(self.rapl, prev[1], cur[1], strict=True))
        joules = joules / 1e6 + sum(b - a for a, b in zip(prev[2], cur[2], strict=True)) / 1e3
        self._energy_j += joules
        # max_w is the highest average over windows of at least max_window_s: energy counters
        # advance in steps (NVML about every 20-100 ms), so per-interval quotients over short
        # intervals overshoot (an H200 showed 1,469 W over 50 ms against a 700 W limit).
        self._win_j += joules
        self._win_s += cur[0] - prev[0]
        if self._win_s >= self.max_window_s:
            self._max_w = max(self._max_w, self._win_j / self._win_s)
            self._win_j, self._win_s = 0.0, 0.0
        self._n += 1
        return cur

    def _loop(self, first: tuple[float, list[int], list[int]]) -> None:
        prev = first
        while not self._stop.wait(self.interval_s):
            prev = self._step(prev)
        self._step(prev)

    def __enter__(self) -> PowerSampler:
        self._t0 = time.perf_counter()
        if self.available:
            first = self._read()
            self._thread = threading.Thread(
                target=self._loop, args=(first,), name="pingce-power", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        duration = time.perf_counter() - self._t0
        if self._thread is None:
            self.result = PowerReading(
                False, "none", None, None, None, duration, 0, [], self._reason
            )
            return
        self._stop.set()
        self._thread.join()
        if self.nvml is not None:
            self.nvml.close()
        if self._max_w == 0.0 and self._win_s > 0:  # the whole block was one short window
            self._max_w = self._win_j / self._win_s
        sources = (["rapl"] if self.rapl else []) + (["nvml"] if self.nvml else [])
        domains = [d.name for d in self.rapl] + (self.nvml.names if self.nvml else [])
        self.result = PowerReading(
            measured=True,
            source="+".join(sources),
            energy_j=self._energy_j,
            avg_w=self._energy_j / duration if duration > 0 else None,
            max_w=self._max_w,
            duration_s=duration,
            n_samples=self._n,
            domains=domains,
        )


# ---------------------------------------------------------------------------------------------
# Threads and inventory


@contextlib.contextmanager
def set_threads(n: int) -> Iterator[None]:
    """Run a block with `n` compute threads: torch intra-op threads and OMP/MKL/OpenBLAS vars.

    torch is set only if it is already imported (importing it here would cost seconds). The
    environment variables affect libraries initialised inside the block (e.g. a new ONNX
    Runtime session reads them at creation); a library already running keeps its pool.
    Previous values are restored on exit.
    """
    if n < 1:
        raise ValueError(f"threads must be at least 1, got {n}")
    saved_env = {k: os.environ.get(k) for k in THREAD_ENV_VARS}
    torch = sys.modules.get("torch")
    saved_torch = torch.get_num_threads() if torch is not None else None
    try:
        for key in THREAD_ENV_VARS:
            os.environ[key] = str(n)
        if torch is not None:
            torch.set_num_threads(n)
        yield
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if torch is not None and saved_torch is not None:
            torch.set_num_threads(saved_torch)


def _memory_total_mb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    try:
        import psutil

        return psutil.virtual_memory().total / 2**20
    except ImportError:  # pragma: no cover
        return None


def _physical_cores() -> int | None:
    try:
        import psutil

        return psutil.cpu_count(logical=False)
    except ImportError:
        pass
    cores = set()
    with contextlib.suppress(OSError):
        phys = core = None
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("physical id"):
                    phys = line.split(":")[1].strip()
                elif line.startswith("core id"):
                    core = line.split(":")[1].strip()
                    cores.add((phys, core))
    return len(cores) or None


def _nvidia_driver() -> str | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            ver = pynvml.nvmlSystemGetDriverVersion()
            return ver.decode() if isinstance(ver, bytes) else str(ver)
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # no pynvml, no driver: nothing to report
        return None


def system_inventory() -> dict[str, Any]:
    """What a performance result was measured on (the standard's system description).

    Keys: cpu (model), cores_physical, cores_logical, cpu_affinity (CPUs this process may use),
    memory_mb, os, python, accelerators (GPUs torch sees, with name and memory), nvidia_driver,
    cuda (torch's CUDA runtime), runtimes (package versions: torch, onnxruntime, numpy, ...),
    threads (torch intra/inter-op counts and OMP/MKL/OpenBLAS variables), load_average_1m,
    power_sources.
    """
    torch = sys.modules.get("torch")
    threads: dict[str, Any] = {k: os.environ.get(k) for k in THREAD_ENV_VARS}
    cuda = None
    if torch is not None:
        threads["torch_intra_op"] = torch.get_num_threads()
        threads["torch_inter_op"] = torch.get_num_interop_threads()
        cuda = getattr(torch.version, "cuda", None)
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        affinity = os.cpu_count()
    sampler = PowerSampler(use_nvml=bool(fingerprint.gpu_inventory()))
    if sampler.nvml is not None:
        sampler.nvml.close()
    power = (["rapl"] if sampler.rapl else []) + (["nvml"] if sampler.nvml else [])
    return {
        "cpu": fingerprint.cpu_model(),
        "cores_physical": _physical_cores(),
        "cores_logical": os.cpu_count(),
        "cpu_affinity": affinity,
        "memory_mb": _memory_total_mb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "accelerators": fingerprint.gpu_inventory(),
        "nvidia_driver": _nvidia_driver() if torch is not None and cuda else None,
        "cuda": cuda,
        "runtimes": fingerprint.package_versions(),
        "threads": threads,
        # Other work on the machine moves every timing; recorded so readers can judge.
        "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "power_sources": power or ["none"],
    }
