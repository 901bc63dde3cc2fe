"""LLM-serving metrics, computed from per-request timings (all latencies in ms).

Per request (successful ones only):
  TTFT = first text chunk time - send time
  E2E  = last byte time - send time
  TPOT = (E2E - TTFT) / (output tokens - 1)     (undefined for a one-token answer)
  ITL  = every gap between consecutive text chunks (a request with k chunks gives k-1)
Per load level, over the measured window (first send to last completion, warm-up excluded):
  request throughput      = completed requests / window
  output-token throughput = sum of output tokens / window
  goodput                 = requests meeting every SLO (TTFT <= slo_ttft_ms and
                            TPOT <= slo_tpot_ms; a one-token answer meets the TPOT SLO) / window
Percentiles (p50/p90/p95/p99) use MLPerf loadgen's rank rule (pingce.core.measure.percentile_ms).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pingce.core.measure import percentile_ms

PERCENTILES = (0.50, 0.90, 0.95, 0.99)


def request_metrics(rt: dict[str, Any]) -> dict[str, Any]:
    """TTFT, E2E, TPOT (ms) and ITL gaps (ms) of one stored request timing."""
    chunks = rt["chunk_times"]
    ttft = (chunks[0] - rt["start"]) * 1000.0
    e2e = (rt["end"] - rt["start"]) * 1000.0
    out_tokens = rt["usage_output_tokens"] or len(chunks)
    tpot = (e2e - ttft) / (out_tokens - 1) if out_tokens > 1 else None
    itl = [(b - a) * 1000.0 for a, b in zip(chunks, chunks[1:], strict=False)]
    return {
        "ttft_ms": ttft,
        "e2e_ms": e2e,
        "tpot_ms": tpot,
        "itl_ms": itl,
        "output_tokens": out_tokens,
    }


def distribution(values: Sequence[float]) -> dict[str, float | int | None]:
    """mean, p50/p90/p95/p99, min, max and n of a list of ms values (None when empty)."""
    if not values:
        return {
            "n": 0,
            "mean": None,
            "min": None,
            "max": None,
            **{f"p{int(q * 100)}": None for q in PERCENTILES},
        }
    ordered = sorted(values)
    return {
        "n": len(values),
        "mean": sum(values) / len(values),
        "min": ordered[0],
        "max": ordered[-1],
        **{f"p{int(q * 100)}": percentile_ms(ordered, q) for q in PERCENTILES},
    }


def meets_slo(m: dict[str, Any], slo_ttft_ms: float | None, slo_tpot_ms: float | None) -> bool:
    if slo_ttft_ms is not None and m["ttft_ms"] > slo_ttft_ms:
        return False
    return not (slo_tpot_ms is not None and m["tpot_ms"] is not None and m["tpot_ms"] > slo_tpot_ms)


def level_summary(
    requests: Sequence[dict[str, Any]],
    slo_ttft_ms: float | None = None,
    slo_tpot_ms: float | None = None,
) -> dict[str, Any]:
    """Every figure of one load level from its stored (measured, not warm-up) requests."""
    ok = [r for r in requests if not r["error"]]
    per = [request_metrics(r) for r in ok]
    if requests:
        t0 = min(r["start"] for r in requests)
        t1 = max(r["end"] for r in requests)
        window = t1 - t0
    else:
        window = 0.0
    good = sum(1 for m in per if meets_slo(m, slo_ttft_ms, slo_tpot_ms))
    out_tokens = sum(m["output_tokens"] for m in per)
    rate = (lambda x: x / window) if window > 0 else (lambda x: 0.0)
    return {
        "requests": len(requests),
        "completed": len(ok),
        "failed": len(requests) - len(ok),
        "window_s": window,
        "output_tokens": out_tokens,
        "request_throughput": rate(len(ok)),
        "output_token_throughput": rate(out_tokens),
        "goodput": rate(good),
        "good_requests": good,
        "ttft_ms": distribution([m["ttft_ms"] for m in per]),
        "tpot_ms": distribution([m["tpot_ms"] for m in per if m["tpot_ms"] is not None]),
        "itl_ms": distribution([g for m in per for g in m["itl_ms"]]),
        "e2e_ms": distribution([m["e2e_ms"] for m in per]),
        "errors": sorted({r["error"] for r in requests if r["error"]})[:5],
    }
