"""Suites built from `pingce perf` command options (the built-in YAML suites in
`pingce/perf/suites/` are the same suites with their default options)."""

from __future__ import annotations

import math
from typing import Any

from pingce.core.errors import SpecError


def check_counts(values: dict[str, int | None]) -> None:
    """Each given option (None: not given) must be an integer of at least 1."""
    for name, value in values.items():
        if value is not None and value < 1:
            raise SpecError(f"{name} must be at least 1, got {value}")


def check_positive(values: dict[str, float | None]) -> None:
    """Each given option (None: not given) must be a finite number above 0."""
    for name, value in values.items():
        if value is not None and not (math.isfinite(value) and value > 0):
            raise SpecError(f"{name} must be a finite number above 0, got {value}")


def infer_suite(
    scenarios: list[str],
    *,
    accuracy: bool = True,
    arrival: str | None = None,
    target_qps: float | None = None,
    latency_bound_ms: float | None = None,
    samples_per_query: int | None = None,
    min_duration_s: float | None = None,
    min_query_count: int | None = None,
    workers: int = 1,
    search: bool = False,
    search_steps: int = 6,
    seed: int = 1234,
) -> dict[str, Any]:
    """The suite `pingce perf infer` runs, built from its options."""
    tasks: list[dict[str, Any]] = []
    if accuracy:
        tasks.append(
            {
                "id": "accuracy",
                "type": "perf.accuracy",
                "title": "Accuracy run",
                "dimension": "accuracy",
            }
        )
    common = {"min_duration_s": min_duration_s, "min_query_count": min_query_count, "seed": seed}
    common = {k: v for k, v in common.items() if v is not None}
    for sc in scenarios:
        task: dict[str, Any] = {
            "id": sc,
            "type": "perf.scenario",
            "scenario": sc,
            "dimension": "inference",
            **common,
        }
        if sc == "server":
            task.update(
                arrival=arrival or "poisson",
                target_qps=target_qps,
                latency_bound_ms=latency_bound_ms,
                workers=workers,
            )
        elif sc in ("single-stream", "multi-stream"):
            if latency_bound_ms is not None:
                task["latency_bound_ms"] = latency_bound_ms
            if arrival and arrival != "continuous":
                task.update(arrival=arrival, target_qps=target_qps, workers=workers)
        if sc == "multi-stream" and samples_per_query:
            task["samples_per_query"] = samples_per_query
        tasks.append({k: v for k, v in task.items() if v is not None})
    if search:
        if latency_bound_ms is None:
            raise SpecError("--search needs --latency-bound-ms")
        st = {
            "id": "server-search",
            "type": "perf.server-search",
            "latency_bound_ms": latency_bound_ms,
            "steps": search_steps,
            "workers": workers,
            "seed": seed,
        }
        if min_duration_s is not None:
            st["min_duration_s"] = min_duration_s
        if min_query_count is not None:
            st["min_query_count"] = min_query_count
        tasks.append(st)
    if not tasks:
        raise SpecError("nothing to run", hint="give --scenario, --search or --accuracy")
    return {
        "standard": "server-perf",
        "name": "perf-infer",
        "title": "Inference scenarios",
        "tasks": tasks,
    }


def serve_suite(
    *,
    request_rate: list[float] | None = None,
    concurrency: list[int] | None = None,
    num_requests: int = 20,
    burstiness: float = 1.0,
    warmup: int = 2,
    input_len: int = 32,
    output_len: int = 16,
    tokenizer: str | None = None,
    dataset: str | None = None,
    api: str = "completions",
    ignore_eos: bool = False,
    slo_ttft_ms: float | None = None,
    slo_tpot_ms: float | None = None,
    max_concurrency: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The suite `pingce perf serve` runs: one sweep over request rates or concurrencies."""
    if request_rate and concurrency:
        raise SpecError("give --request-rate or --concurrency, not both")
    mode, values = (
        ("concurrency", [float(c) for c in concurrency])
        if concurrency
        else ("poisson", list(request_rate or [1.0]))
    )
    task = {
        "id": "serve",
        "type": "perf.serve",
        "mode": mode,
        "values": values,
        "num_requests": num_requests,
        "burstiness": burstiness,
        "warmup": warmup,
        "input_len": input_len,
        "output_len": output_len,
        "tokenizer": tokenizer,
        "dataset": dataset,
        "api": api,
        "ignore_eos": ignore_eos,
        "slo_ttft_ms": slo_ttft_ms,
        "slo_tpot_ms": slo_tpot_ms,
        "max_concurrency": max_concurrency,
        "seed": seed,
    }
    return {
        "standard": "server-perf",
        "name": "perf-serve",
        "title": "LLM serving load",
        "tasks": [{k: v for k, v in task.items() if v is not None}],
    }


def train_suite(
    *,
    steps: int = 200,
    batch_size: int = 64,
    target_accuracy: float = 0.95,
    repeats: int = 5,
    workers: list[int] | None = None,
    scaling_steps: int = 100,
    backend: str = "auto",
    threads: int = 1,
    seed: int = 0,
) -> dict[str, Any]:
    """The suite `pingce perf train` runs: repeated training runs and DDP scaling."""
    task = {
        "id": "train",
        "type": "perf.train",
        "dimension": "training",
        "steps": steps,
        "batch_size": batch_size,
        "target_accuracy": target_accuracy,
        "repeats": repeats,
        "workers": workers or [1, 2],
        "scaling_steps": scaling_steps,
        "backend": backend,
        "threads": threads,
        "seed": seed,
    }
    return {
        "standard": "server-perf",
        "name": "perf-train",
        "title": "Training performance",
        "tasks": [task],
    }
