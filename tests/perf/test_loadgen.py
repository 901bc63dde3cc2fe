"""The load generator: schedules, scenario timings, validity verdicts, accuracy gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from scipy import stats

from pingce.core.errors import SpecError
from pingce.perf.conformance import accuracy_verdict, scenario_figures, scenario_verdict
from pingce.perf.loadgen import RunData, accuracy_run, open_loop_timings, run_scenario
from pingce.perf.scenarios import arrival_times, make_config
from pingce.perf.sut import CallableSUT
from pingce.perf.workloads import Dataset


def _data(n: int = 50) -> Dataset:
    x = np.arange(n, dtype=np.float32)[:, None]
    y = (np.arange(n) % 3).astype(np.int64)
    return Dataset("toy", x, y, 1.0, "closed")


def _sleeper(seconds: float) -> CallableSUT:
    def fn(batch: np.ndarray) -> np.ndarray:
        time.sleep(seconds)
        out = np.zeros((len(batch), 3), dtype=np.float32)
        out[np.arange(len(batch)), batch[:, 0].astype(int) % 3] = 1.0
        return out

    return CallableSUT(fn, "sleeper", batch_size=1000)


def test_poisson_schedule_is_exponential() -> None:
    cfg = make_config("server", target_qps=200.0, latency_bound_ms=10, min_duration_s=5.0)
    t = arrival_times(cfg)
    assert len(t) == 1000 and t[0] == 0.0
    gaps = np.diff(t)
    # Reference: scipy's KS test against Exp(mean 1/200).
    assert stats.kstest(gaps, "expon", args=(0, 1 / 200)).pvalue > 0.01
    assert np.array_equal(t, arrival_times(cfg))  # seeded


def test_periodic_and_mixed_schedules() -> None:
    per = arrival_times(
        make_config(
            "server",
            arrival="periodic",
            target_qps=50,
            latency_bound_ms=5,
            min_duration_s=1,
            min_query_count=1,
        )
    )
    assert np.allclose(np.diff(per), 0.02)
    mixed = arrival_times(
        make_config(
            "server",
            arrival="mixed",
            target_qps=100,
            latency_bound_ms=5,
            min_duration_s=3,
            min_query_count=1,
        )
    )
    assert len(mixed) == 300 and np.all(np.diff(mixed) >= 0)
    # The third phase is a burst: its 50 queries share one start time (1.0 s).
    assert np.count_nonzero(mixed == 1.0) == 50


def test_bad_scenario_settings_are_user_errors() -> None:
    with pytest.raises(SpecError, match="unknown scenario"):
        make_config("batch")
    with pytest.raises(SpecError, match="latency_bound_ms"):
        make_config("server", target_qps=10)
    with pytest.raises(SpecError, match="target_qps"):
        make_config("server", latency_bound_ms=10)
    with pytest.raises(SpecError, match="arrival=offline"):
        make_config("single-stream", arrival="offline")


def test_single_stream_latency_and_validity() -> None:
    cfg = make_config("single-stream", min_duration_s=0.2, min_query_count=64)
    rd = run_scenario(_sleeper(0.002), _data(), cfg, warmup=1).to_dict()
    figs = scenario_figures(rd)
    assert rd["completed"] >= 64 and rd["duration_s"] >= 0.2
    assert figs["latency"]["min_ms"] >= 2.0  # sleep never returns early
    assert figs["early_stopping_ms"] >= figs["latency_at_percentile_ms"]
    valid, reasons = scenario_verdict(rd, figs, None)
    assert valid, reasons
    # The same run against a bound below the sleep is INVALID, with the reason.
    rd["config"]["latency_bound_ms"] = 1.0
    valid, reasons = scenario_verdict(rd, figs, None)
    assert not valid and "early-stopping p90 latency" in reasons[0]


def test_too_few_queries_is_invalid() -> None:
    cfg = make_config("single-stream", min_duration_s=0.05, min_query_count=10)
    rd = run_scenario(_sleeper(0.001), _data(), cfg, warmup=0).to_dict()
    rd["latencies_s"] = rd["latencies_s"][:10]
    rd["completed"] = 10
    valid, reasons = scenario_verdict(rd, scenario_figures(rd), None)
    assert not valid and "early stopping needs at least 64" in " ".join(reasons)


def test_multi_stream_queries_carry_n_samples() -> None:
    seen: list[int] = []

    def fn(batch: np.ndarray) -> np.ndarray:
        seen.append(len(batch))
        return np.zeros((len(batch), 3))

    cfg = make_config("multi-stream", samples_per_query=4, min_duration_s=0.05, min_query_count=30)
    rd = run_scenario(CallableSUT(fn, batch_size=8), _data(), cfg, warmup=0).to_dict()
    assert set(seen) == {4} and rd["n_samples"] == 4 * rd["completed"]


def test_server_valid_when_fast_invalid_when_slow() -> None:
    cfg = make_config(
        "server", target_qps=200, latency_bound_ms=200, min_duration_s=0.5, min_query_count=459
    )
    fast = run_scenario(_sleeper(0.0005), _data(), cfg, warmup=1).to_dict()
    figs = scenario_figures(fast)
    assert fast["completed"] == 459 and len(fast["sched_error_s"]) == 459
    assert figs["sched_error"]["n"] == 459
    # The verdict on scripted latencies, which no busy machine can move (the recorded ones can
    # pass the 200 ms bound under load): the same run, every query answered in the sleeper's
    # 0.5 ms, is VALID; with 1% + 1 of them at 250 ms it is INVALID.
    scripted = {**fast, "latencies_s": [0.0005] * 459}
    assert scenario_verdict(scripted, scenario_figures(scripted), None)[0]
    over = {**fast, "latencies_s": [0.25] * 6 + [0.0005] * 453}
    valid, reasons = scenario_verdict(over, scenario_figures(over), None)
    assert not valid and "over it" in " ".join(reasons)
    # 20 ms per query at 200 QPS on one worker: the queue grows by 3 queries per 20 ms, and
    # after 0.5 s the later queries wait hundreds of ms, far past the 50 ms bound.
    slow_cfg = make_config(
        "server", target_qps=200, latency_bound_ms=50, min_duration_s=0.5, min_query_count=100
    )
    slow = run_scenario(_sleeper(0.02), _data(), slow_cfg, warmup=0).to_dict()
    valid, reasons = scenario_verdict(slow, scenario_figures(slow), None)
    assert not valid and "over it" in " ".join(reasons)


def test_offline_throughput_counts_every_sample() -> None:
    cfg = make_config("offline", min_duration_s=0.1, offline_samples=500)
    rd = run_scenario(_sleeper(0.0), _data(), cfg, warmup=0).to_dict()
    figs = scenario_figures(rd)
    assert rd["n_samples"] == 500
    assert figs["samples_per_s"] == pytest.approx(500 / rd["duration_s"])
    # A run shorter than its minimum duration is INVALID.
    valid, reasons = scenario_verdict(rd, figs, None)
    assert not valid and "min_duration_s" in reasons[0]


def test_accuracy_gate_hand_counted() -> None:
    data = _data(50)
    good = accuracy_run(_sleeper(0.0), data)
    assert good["accuracy"] == 1.0 and accuracy_verdict(good)[0]

    def wrong_on_multiples_of_ten(batch: np.ndarray) -> np.ndarray:
        out = np.zeros((len(batch), 3))
        cls = batch[:, 0].astype(int) % 3
        cls[batch[:, 0].astype(int) % 10 == 0] += 1  # 5 of 50 samples wrong
        out[np.arange(len(batch)), cls % 3] = 1.0
        return out

    bad = accuracy_run(CallableSUT(wrong_on_multiples_of_ten), data)
    assert bad["accuracy"] == pytest.approx(45 / 50)
    ok, why = accuracy_verdict(bad)
    assert not ok and "< 0.9900" in why
    rd = run_scenario(_sleeper(0.0), data, make_config("offline", offline_samples=10), 0).to_dict()
    valid, reasons = scenario_verdict(rd, scenario_figures(rd), (ok, why))
    assert not valid and any("accuracy gate failed" in r for r in reasons)


def test_open_loop_latency_counts_from_scheduled_time() -> None:
    """Scripted clock readings. Reference: mlcommons loadgen (loadgen.cc, ResponseDelegate::
    SampleComplete): a Server sample's latency is complete_begin_time - scheduled_time, so a
    query issued late carries its issue delay; the issue delay is a separate figure."""
    schedule = np.array([0.0, 0.001, 0.002, 0.003])
    t0 = 100.0
    issued_at = np.array([100.0003, 100.0011, 100.0050, np.nan])
    done_at = np.array([100.0010, 100.0020, 100.0060, np.nan])  # query 3 never issued
    lat, err = open_loop_timings(schedule, t0, issued_at, done_at, issued=3)
    # done - scheduled: 1.0, 1.0 and 4.0 ms (done - issued would be 0.7, 0.9 and 1.0 ms).
    assert lat == pytest.approx([0.0010, 0.0010, 0.0040], abs=1e-9)
    assert err == pytest.approx([0.0003, 0.0001, 0.0030], abs=1e-9)
    cfg = make_config("server", target_qps=1000, latency_bound_ms=5, min_duration_s=0.003)
    rd = RunData("server", "poisson", cfg.to_dict(), lat, err, 1, 3, 0.006, 3, 3)
    figs = scenario_figures(rd.to_dict())
    # The run's scheduling-error figures come from the recorded issue times: n, median, max.
    assert figs["sched_error"]["n"] == 3
    assert figs["sched_error"]["p50_ms"] == pytest.approx(0.3)
    assert figs["sched_error"]["max_ms"] == pytest.approx(3.0)
    assert figs["latency"]["max_ms"] == pytest.approx(4.0)


def test_open_loop_run_records_issue_times_and_issuer_settings() -> None:
    cfg = make_config(
        "server", target_qps=500, latency_bound_ms=500, min_duration_s=0.2, min_query_count=100
    )
    rd = run_scenario(_sleeper(0.0005), _data(), cfg, warmup=0).to_dict()
    assert rd["issued"] == 100 and len(rd["sched_error_s"]) == 100
    # The issuer never hands a query over before its scheduled time (to the clock's 1 ns), and
    # a latency counted from the scheduled time is at least the 0.5 ms the SUT sleeps.
    assert min(rd["sched_error_s"]) >= -1e-9
    assert len(rd["latencies_s"]) == 100 and min(rd["latencies_s"]) >= 0.0005
    issuer = rd["issuer"]
    assert set(issuer) >= {"priority", "timer_slack_ns", "spin_before_ms"}
    assert issuer["spin_before_ms"] == pytest.approx(0.1)
    assert scenario_figures(rd)["sched_error"]["n"] == 100


def test_open_loop_worker_error_reaches_the_caller() -> None:
    def broken(batch: np.ndarray) -> np.ndarray:
        raise RuntimeError("SUT exploded")

    cfg = make_config(
        "server", target_qps=200, latency_bound_ms=50, min_duration_s=0.1, min_query_count=10
    )
    with pytest.raises(RuntimeError, match="SUT exploded"):
        run_scenario(CallableSUT(broken, batch_size=1), _data(), cfg, warmup=0)


@pytest.mark.parametrize("issuer", ["process", "thread"])
def test_open_loop_issuers_record_the_same_fields(issuer: str) -> None:
    from pingce.perf.loadgen import run_open_loop

    cfg = make_config(
        "server", target_qps=400, latency_bound_ms=500, min_duration_s=0.1, min_query_count=40
    )
    rd = run_open_loop(_sleeper(0.0002), _data(), cfg, issuer=issuer).to_dict()
    assert rd["issuer"]["mode"] == issuer
    assert rd["issued"] == rd["completed"] == 40 and len(rd["sched_error_s"]) == 40
    assert min(rd["sched_error_s"]) >= -1e-9 and not rd["stopped_early"]


@pytest.mark.parametrize("issuer", ["process", "thread"])
def test_open_loop_stops_on_backlog(issuer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A SUT far slower than the schedule: issuing stops once the backlog passes the limit,
    the queued queries are dropped, and the run says why."""
    from pingce.perf import loadgen

    monkeypatch.setattr(loadgen, "MAX_BACKLOG", 20)
    cfg = make_config(
        "server", target_qps=2000, latency_bound_ms=50, min_duration_s=2.0, min_query_count=1
    )
    rd = loadgen.run_open_loop(_sleeper(0.01), _data(), cfg, issuer=issuer).to_dict()
    assert "backlog above 20" in rd["stopped_early"]
    assert rd["completed"] < rd["issued"] < 4000
    assert len(rd["sched_error_s"]) == rd["issued"]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_issuer_takes_no_realtime_priority_on_one_cpu() -> None:
    """A real-time spinner on the only CPU would starve the SUT: pinned to one CPU, the issuer
    asks for nothing above a nice value (run in a child so this process keeps its settings)."""
    code = (
        "import json, os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
        "from pingce.perf.issuer import tune_scheduling; print(json.dumps(tune_scheduling()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    got = json.loads(out.stdout)
    assert not got["priority"].startswith("SCHED_FIFO")
