"""From a scenario run's raw timings to its figures and its VALID / INVALID verdict.

Everything here works on the stored record alone (`RunData.to_dict()`), so a report can be
rebuilt from the store at any time. Validity rules, per scenario:

- every scenario: the run lasted at least min_duration_s, completed at least min_query_count
  queries, and was not cut short (max duration, backlog);
- SingleStream / MultiStream: enough queries for MLPerf's early-stopping estimate of the p90 /
  p99 latency; with a latency bound, that estimate must be within it;
- Server: the early-stopping check of the p99 latency bound (see early_stopping.check_bound);
- closed division (labelled data with a reference accuracy): the accuracy run reached
  >= 99% of the reference accuracy. Open division (random weights): no accuracy gate.
"""

from __future__ import annotations

from typing import Any

from pingce.core.measure import LatencyStats
from pingce.perf.early_stopping import check_bound, min_queries, percentile_estimate

ACCURACY_FRACTION = 0.99


def accuracy_verdict(acc: dict[str, Any]) -> tuple[bool, str]:
    """Whether an accuracy run passes the gate (>= 99% of the reference), with the reason."""
    ref = acc.get("reference_accuracy")
    if ref is None:
        return True, "open division, no accuracy gate"
    need = ACCURACY_FRACTION * ref
    if acc["accuracy"] + 1e-12 >= need:
        return True, f"accuracy {acc['accuracy']:.4f} >= {need:.4f} (99% of reference {ref:.4f})"
    return False, f"accuracy {acc['accuracy']:.4f} < {need:.4f} (99% of reference {ref:.4f})"


def scenario_figures(rd: dict[str, Any]) -> dict[str, Any]:
    """Latency statistics, throughput, scheduling error and energy of one run."""
    cfg = rd["config"]
    dur = float(rd["duration_s"])
    figs: dict[str, Any] = {
        "queries": rd["completed"],
        "samples": rd["n_samples"],
        "duration_s": dur,
        "samples_per_s": rd["n_samples"] / dur if dur > 0 else None,
        "qps": rd["completed"] / dur if dur > 0 else None,
        "target_qps": cfg.get("target_qps"),
    }
    if rd["latencies_s"]:
        lat = LatencyStats.from_samples(rd["latencies_s"])
        figs["latency"] = lat.to_dict()
        p = float(cfg["percentile"])
        figs["percentile"] = p
        figs["latency_at_percentile_ms"] = lat.percentile(p)
        figs["early_stopping_ms"] = (
            percentile_estimate(lat.samples_ms, p) if rd["scenario"] != "offline" else None
        )
    if rd["sched_error_s"]:
        err = LatencyStats.from_samples([max(0.0, e) for e in rd["sched_error_s"]])
        figs["sched_error"] = err.to_dict()
    power = rd.get("power") or {}
    figs["power_measured"] = bool(power.get("measured"))
    if power.get("measured") and power.get("energy_j"):
        e = float(power["energy_j"])
        figs["energy_j"] = e
        figs["avg_w"] = power.get("avg_w")
        figs["max_w"] = power.get("max_w")
        figs["energy_per_query_mj"] = 1000.0 * e / max(rd["completed"], 1)
        figs["samples_per_j"] = rd["n_samples"] / e
    return figs


def scenario_verdict(
    rd: dict[str, Any], figs: dict[str, Any], accuracy_ok: tuple[bool, str] | None
) -> tuple[bool, list[str]]:
    """(valid, reasons it is not). `accuracy_ok` is the accuracy gate's outcome, if one ran."""
    cfg = rd["config"]
    reasons: list[str] = []
    if rd.get("stopped_early"):
        reasons.append(f"run cut short: {rd['stopped_early']}")
    if rd["duration_s"] < cfg["min_duration_s"]:
        reasons.append(
            f"duration {rd['duration_s']:.2f} s < min_duration_s {cfg['min_duration_s']}"
        )
    if rd["scenario"] != "offline" and rd["completed"] < cfg["min_query_count"]:
        reasons.append(f"{rd['completed']} queries < min_query_count {cfg['min_query_count']}")
    p = float(cfg["percentile"])
    bound = cfg.get("latency_bound_ms")
    lat_ms = [s * 1000.0 for s in rd["latencies_s"]]
    if rd["scenario"] in ("single-stream", "multi-stream"):
        est = figs.get("early_stopping_ms")
        if est is None:
            reasons.append(
                f"{len(lat_ms)} queries: early stopping needs at least {min_queries(p)} "
                f"for the p{p * 100:g} estimate"
            )
        elif bound is not None and est > bound:
            reasons.append(f"early-stopping p{p * 100:g} latency {est:.3f} ms > bound {bound} ms")
    elif rd["scenario"] == "server":
        chk = check_bound(lat_ms, float(bound), p)
        if not chk.passed:
            reasons.append(
                f"p{p * 100:g} latency bound {bound} ms: {chk.overlatency} of {chk.n} queries "
                f"over it; early stopping needs >= {chk.needed} queries for that many"
            )
    if accuracy_ok is not None and not accuracy_ok[0]:
        reasons.append(f"accuracy gate failed: {accuracy_ok[1]}")
    return not reasons, reasons


PRIMARY = {
    "single-stream": ("perf_latency_p90_ms", "p90 latency"),
    "multi-stream": ("perf_latency_p99_ms", "p99 latency"),
    "server": ("perf_qps", "achieved QPS"),
    "offline": ("perf_samples_per_s", "samples/s"),
}
