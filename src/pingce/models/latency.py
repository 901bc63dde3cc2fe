"""Latency, throughput, memory and energy of two models on the same inputs, with the speed-up's
uncertainty (shared by the conversion and compression standards), and `shaped_inputs`, the
batch of a given size both models are timed on.

Calls alternate (A, B, A, B, ...) after warm-up, so slow drifts of the machine (frequency,
other load) hit both models alike; each call is timed by `pingce.core.measure.measure_latency`
with fixed threads. The speed-up A/B is exp(mean log latency A − mean log latency B); its CI
and p-value come from a paired bootstrap over the alternating pairs (`pingce.core.stats`), and
a speed-up is called significant only when p < 0.05.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pingce.core.measure import LatencyStats, PeakMemory, PowerSampler, measure_latency, set_threads
from pingce.core.stats import paired_bootstrap

ALPHA = 0.05


def _call(model: Any, feeds: dict[str, np.ndarray]) -> Any:
    return lambda: model.run(feeds)


def _stats_dict(stats: LatencyStats, batch: int) -> dict[str, Any]:
    total_s = sum(stats.samples_ms) / 1000.0
    out = stats.to_dict()
    # items/s over the timed calls, as pingce.core.measure.throughput defines it
    out["throughput"] = batch * stats.n / total_s if total_s > 0 else None
    out["samples_ms"] = [round(v, 6) for v in stats.samples_ms]
    return out


def compare_latency(
    a: Any,
    b: Any,
    feeds: dict[str, np.ndarray],
    *,
    batch: int,
    warmup: int = 3,
    repeats: int = 20,
    threads: int = 1,
) -> dict[str, Any]:
    """Time models `a` (reference) and `b` alternately on `feeds`; latencies in ms.

    Returns {"source": stats of a, "target": stats of b, "speedup": a/b with CI and p-value,
    "memory": peak RSS increase of each model's warm-up calls in MiB, "energy": joules per
    inference of each or the reason it was not measured, "threads", "batch"}.
    """
    if repeats < 5:
        raise ValueError("at least 5 repeats are needed for a latency CI")
    fa, fb = _call(a, feeds), _call(b, feeds)
    memory = {}
    with set_threads(threads):
        for name, fn in (("source", fa), ("target", fb)):
            with PeakMemory() as peak:
                for _ in range(max(1, warmup)):
                    fn()
            memory[name] = peak.result.delta_mb if peak.result else None
        seconds: dict[str, list[float]] = {"source": [], "target": []}
        energy: dict[str, Any] = {}
        readings = {name: PowerSampler(interval_s=0.05) for name in ("source", "target")}
        for _ in range(repeats):
            for name, fn in (("source", fa), ("target", fb)):
                # one timed call through the shared timer (no warm-up: done above)
                one = measure_latency(fn, warmup=0, repeats=1)
                seconds[name].append(one.samples_ms[0] / 1000.0)
        for name, fn in (("source", fa), ("target", fb)):
            with readings[name] as sampler:
                for _ in range(repeats):
                    fn()
            reading = sampler.result
            if reading is not None and reading.measured and reading.energy_j is not None:
                energy[name] = {"j_per_inference": reading.energy_j / (repeats * batch)}
            else:
                energy[name] = {"j_per_inference": None, "reason": getattr(reading, "reason", "")}
    sa = LatencyStats.from_samples(seconds["source"])
    sb = LatencyStats.from_samples(seconds["target"])
    log_a = [math.log(max(s, 1e-12)) for s in seconds["source"]]
    log_b = [math.log(max(s, 1e-12)) for s in seconds["target"]]
    # delta = mean(log a) - mean(log b) > 0 when b is faster
    paired = paired_bootstrap(log_b, log_a, seed=0)
    speedup = math.exp(paired.delta)
    significant = (
        paired.p_value < ALPHA
        and paired.ci_low is not None
        and (paired.ci_low > 0 or (paired.ci_high is not None and paired.ci_high < 0))
    )
    return {
        "batch": batch,
        "threads": threads,
        "repeats": repeats,
        "warmup": warmup,
        "source": _stats_dict(sa, batch),
        "target": _stats_dict(sb, batch),
        "speedup": {
            "value": speedup,
            "ci_low": math.exp(paired.ci_low) if paired.ci_low is not None else None,
            "ci_high": math.exp(paired.ci_high) if paired.ci_high is not None else None,
            "p_value": paired.p_value,
            "significant": bool(significant),
            "method": "paired bootstrap of log latencies over alternating calls",
        },
        "memory_mb": memory,
        "energy": energy,
    }


def shaped_inputs(
    feeds: dict[str, np.ndarray], batch: int, seq: int | None
) -> dict[str, np.ndarray]:
    """`batch` samples (cycling through the data) with token inputs cut or tiled to `seq`."""
    out = {}
    for name, arr in feeds.items():
        idx = np.arange(batch) % len(arr)
        x = arr[idx]
        if seq is not None and x.ndim == 2 and np.issubdtype(x.dtype, np.integer):
            reps = -(-seq // x.shape[1])
            x = np.tile(x, (1, reps))[:, :seq]
        out[name] = np.ascontiguousarray(x)
    return out


def speedup_statement(speedup: dict[str, Any], label: str = "") -> str:
    """One sentence on whether a speed-up is statistically significant."""
    value = speedup["value"]
    lo, hi = speedup.get("ci_low"), speedup.get("ci_high")
    ci = f" (95% CI {lo:.2f}–{hi:.2f}, p={speedup['p_value']:.3g})" if lo is not None else ""
    where = f"{label}: " if label else ""
    if speedup["significant"]:
        word = "faster" if value > 1 else "slower"
        return f"{where}the converted/compressed model is {value:.2f}x ({word}){ci}, significant."
    return f"{where}speed-up {value:.2f}x{ci} is not statistically significant."
