"""pingce.core.measure: latency statistics, throughput, peak memory, power, inventory, threads."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from pingce.core.measure import (
    LatencyStats,
    PeakMemory,
    PowerSampler,
    measure_latency,
    peak_rss_mb,
    percentile_ms,
    set_threads,
    system_inventory,
    throughput,
)


def test_percentile_hand_computed_loadgen_rule() -> None:
    # Reference: MLPerf loadgen's rule sorted[min(floor(q*n), n-1)], by hand on 1..10.
    ms = [float(v) for v in range(1, 11)]
    assert percentile_ms(ms, 0.5) == 6.0
    assert percentile_ms(ms, 0.9) == 10.0
    assert percentile_ms(ms, 0.99) == 10.0
    assert percentile_ms(ms, 1.0) == 10.0
    with pytest.raises(ValueError):
        percentile_ms([], 0.5)


def test_percentile_matches_numpy_inverted_cdf_when_rank_not_whole() -> None:
    # Reference: numpy's inverted-CDF quantile equals the loadgen rule whenever q*n is not whole.
    rng = np.random.default_rng(3)
    values = sorted(rng.exponential(5.0, size=997).tolist())  # 997 is prime: q*n never whole
    for q in (0.5, 0.9, 0.95, 0.99):
        assert percentile_ms(values, q) == pytest.approx(
            float(np.quantile(values, q, method="inverted_cdf"))
        )


def test_latency_stats_from_seconds() -> None:
    secs = [0.001, 0.002, 0.003, 0.004, 0.010]
    st = LatencyStats.from_samples(secs)
    assert st.n == 5
    assert st.mean_ms == pytest.approx(np.mean(secs) * 1000)  # reference: numpy mean
    assert st.min_ms == pytest.approx(1.0) and st.max_ms == pytest.approx(10.0)
    assert st.p50_ms == pytest.approx(3.0)  # sorted[floor(2.5)] = sorted[2]
    assert st.ci_low_ms <= st.mean_ms <= st.ci_high_ms
    assert st.samples_ms == pytest.approx([1.0, 2.0, 3.0, 4.0, 10.0])
    assert "samples_ms" not in st.to_dict()
    with pytest.raises(ValueError):
        LatencyStats.from_samples([])
    with pytest.raises(ValueError):
        LatencyStats.from_samples([float("nan")])


def test_measure_latency_and_throughput_of_sleep() -> None:
    calls = []

    def fn() -> None:
        calls.append(1)
        time.sleep(0.01)

    st = measure_latency(fn, warmup=2, repeats=5)
    assert len(calls) == 7 and st.n == 5
    assert st.min_ms >= 10.0  # sleep never returns early (a busy machine only adds)
    # the figures are the formulas on the recorded samples (reference: numpy), whatever the load
    assert st.mean_ms == pytest.approx(np.mean(st.samples_ms), rel=1e-12)
    assert (st.min_ms, st.max_ms) == (min(st.samples_ms), max(st.samples_ms))
    rate, st2 = throughput(fn, 4, warmup=0, repeats=5)
    # 4 items per >= 10 ms call: at most 400 items/s; the rate is computed from the same timings.
    assert rate <= 400.0
    assert rate == pytest.approx(4 * 5 / (sum(st2.samples_ms) / 1000))


def test_peak_memory_sees_a_100_mib_allocation() -> None:
    import mmap

    with PeakMemory() as pm:
        # Fresh anonymous pages (malloc could reuse resident heap left by earlier tests);
        # writing one byte per page makes all 100 MiB resident.
        block = mmap.mmap(-1, 100 * 2**20)
        view = np.frombuffer(block, dtype=np.uint8)
        view[::4096] = 1
        del view
        block.close()
    assert pm.result is not None
    assert pm.result.method in ("kernel-hwm", "psutil-poll")
    assert pm.result.delta_mb >= 95.0
    assert peak_rss_mb() >= pm.result.peak_mb - 1.0


def _fake_rapl(root: Path, value: int, max_range: int = 1_000_000) -> Path:
    zone = root / "intel-rapl:0"
    zone.mkdir(parents=True, exist_ok=True)
    (zone / "name").write_text("package-0\n")
    (zone / "max_energy_range_uj").write_text(f"{max_range}\n")
    (zone / "energy_uj").write_text(f"{value}\n")
    sub = zone / "intel-rapl:0:0"  # a sub-zone (core): inside package-0, must not be added twice
    sub.mkdir(exist_ok=True)
    (sub / "max_energy_range_uj").write_text(f"{max_range}\n")
    (sub / "energy_uj").write_text("0\n")
    return zone


def test_power_sampler_rapl_counter_with_wraparound(tmp_path: Path) -> None:
    zone = _fake_rapl(tmp_path, 999_000)
    with PowerSampler(interval_s=0.01, rapl_root=tmp_path, use_nvml=False, max_window_s=0.02) as ps:
        time.sleep(0.03)
        # The counter wraps at max_energy_range_uj: 999000 -> 2000 is 3001 uJ (hand computed:
        # 2000 + 1000000 + 1 - 999000).
        (zone / "energy_uj").write_text("2000\n")
        time.sleep(0.03)
    r = ps.result
    assert r is not None and r.measured and r.source == "rapl"
    assert r.domains == ["package-0"]
    assert r.energy_j == pytest.approx(3001e-6)
    assert r.avg_w == pytest.approx(r.energy_j / r.duration_s)
    assert r.max_w is not None and r.max_w >= r.avg_w


def test_power_sampler_reports_not_measured_without_counters(tmp_path: Path) -> None:
    with PowerSampler(rapl_root=tmp_path / "absent", use_nvml=False) as ps:
        time.sleep(0.01)
    r = ps.result
    assert r is not None and not r.measured
    assert r.energy_j is None and r.avg_w is None and r.max_w is None
    assert "RAPL" in r.reason


def test_set_threads_restores_torch_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    with set_threads(1):
        assert torch.get_num_threads() == 1
        assert os.environ["OMP_NUM_THREADS"] == "1"
        assert os.environ["MKL_NUM_THREADS"] == "1"
    assert torch.get_num_threads() == before
    assert "OMP_NUM_THREADS" not in os.environ
    with pytest.raises(ValueError), set_threads(0):
        pass


def test_system_inventory_fields() -> None:
    inv = system_inventory()
    for key in ("cpu", "cores_logical", "memory_mb", "accelerators", "runtimes", "threads"):
        assert key in inv
    assert inv["cores_logical"] == os.cpu_count()
    assert inv["memory_mb"] > 0
    assert isinstance(inv["power_sources"], list) and inv["power_sources"]
