"""What a report adds for a served model: usage and cost, latency per token, cache reuse,
failures. Everything is recomputed from stored records and the run's recorded settings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pingce.core.report.kit import LinesChart, LineSeries, Section, Table
from pingce.llm.failures import failure_summary

PERCENTILES = (50, 90, 99)


def _pct(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {f"p{p}": None for p in PERCENTILES} | {"mean": None}
    arr = np.asarray(values, dtype=float)
    out: dict[str, float | None] = {f"p{p}": float(np.percentile(arr, p)) for p in PERCENTILES}
    out["mean"] = float(arr.mean())
    return out


def _cdf(values: Sequence[float], points: int = 50) -> tuple[list[float], list[float]]:
    arr = np.sort(np.asarray(values, dtype=float))
    idx = np.unique(np.linspace(0, len(arr) - 1, min(points, len(arr))).astype(int))
    return [float(arr[i]) for i in idx], [float((i + 1) / len(arr)) for i in idx]


def served_summary(
    records: Sequence[dict[str, Any]], failed: Sequence[dict[str, Any]], config: dict[str, Any]
) -> dict[str, Any]:
    """{"notes", "sections", "extra"} for a run on a served backend (empty otherwise)."""
    settings = config.get("settings", {})
    if settings.get("backend") != "openai" and not failed:
        return {"notes": [], "sections": [], "extra": {}}
    extra: dict[str, Any] = {}
    notes: list[str] = []
    sections: list[dict[str, Any]] = []
    if failed:
        extra["failures"] = failure_summary(failed)
    if settings.get("backend") != "openai":
        return {"notes": notes, "sections": sections, "extra": extra}

    usage = [r["data"].get("usage", {}) for r in records]
    tokens_in = int(sum(u.get("tokens_in", 0) for u in usage))
    tokens_out = int(sum(u.get("tokens_out", 0) for u in usage))
    requests = int(sum(u.get("requests", 0) for u in usage))
    price = settings.get("price")
    cost = None
    if price:
        cost = (tokens_in * price["input_per_mtok"] + tokens_out * price["output_per_mtok"]) / 1e6
    missing = sum(1 for r in records if r["data"].get("usage_source") == "missing")
    cached = sum(1 for r in records if r["data"].get("cached"))
    ttft = [r["data"]["ttft_ms"] for r in records if r["data"].get("ttft_ms") is not None]
    tpot = [r["data"]["tpot_ms"] for r in records if r["data"].get("tpot_ms") is not None]
    extra["usage"] = {
        "requests": requests,
        "prompt_tokens": tokens_in,
        "completion_tokens": tokens_out,
        "cost": cost,
        "currency": price["currency"] if price else None,
        "samples_answered_from_cache": cached,
        "samples_without_server_usage": missing,
    }
    extra["timing"] = {"ttft_ms": _pct(ttft), "tpot_ms": _pct(tpot), "streamed_samples": len(ttft)}
    if missing:
        notes.append(
            f"{missing} generations came without token usage from the server; their output "
            "tokens are counted as stream chunks and their prompt tokens as 0 (give "
            "tokenizer=PATH to count them locally)."
        )
    if cached:
        notes.append(
            f"{cached} generation samples were answered from the request cache; their "
            "timings are those measured when the server first answered them."
        )
    rows: list[list[Any]] = [
        ["requests", requests],
        ["prompt tokens", tokens_in],
        ["completion tokens", tokens_out],
        ["cost" + (f" ({price['currency']})" if price else ""), cost],
        ["samples from request cache", cached],
        ["failed samples", len(failed)],
    ]
    for name, stats in (("TTFT", extra["timing"]["ttft_ms"]), ("TPOT", extra["timing"]["tpot_ms"])):
        for key in ("p50", "p90", "p99"):
            rows.append([f"{name} {key} (ms)", stats[key]])
    charts = None
    if len(ttft) >= 2:
        x, y = _cdf(ttft)
        cdf = LineSeries("TTFT", x, y)
        charts = [LinesChart("Time to first token (CDF)", [cdf], "ms", "share of requests")]
    section = Section(
        id="served-usage",
        title="Served model: usage, cost and latency",
        title_zh="服务化模型：用量、费用与时延",
        text=f"Model {settings.get('model')} at {settings.get('base_url')}.",
        table=Table(["quantity", "value"], rows),
        charts=charts,
    )
    sections.append(section.to_dict())
    return {"notes": notes, "sections": sections, "extra": extra}
