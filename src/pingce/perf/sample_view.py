"""How a server-perf record looks in the dashboard: the accuracy run's count, or a scenario's
settings, issue/completion counts and its latency distribution (from the stored per-query
latencies) and scheduling error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pingce.core.sample_view import (
    Block,
    Fields,
    SampleView,
    Table,
    flatten,
    get_dict,
    get_list,
    get_str,
    percentiles,
)

COLUMNS = ("Kind", "Scenario", "Queries")
_SKIP = {"latencies_s", "sched_error_s", "correct", "config", "power"}


def _ms_rows(name: str, values: list[Any]) -> list[tuple[Any, ...]]:
    stats = percentiles(values)
    if not stats:
        return []
    return [
        (name, int(stats["n"]), *(stats[k] * 1000 for k in ("min", "p50", "p90", "p99", "max")))
    ]


def view(data: Mapping[str, Any], scores: Mapping[str, Any]) -> SampleView:
    kind = get_str(data, "kind")
    blocks: list[Block] = []
    rows = _ms_rows("latency", get_list(data, "latencies_s"))
    rows += _ms_rows("scheduling error", get_list(data, "sched_error_s"))
    if rows:
        blocks.append(
            Table(
                "per-query timing (ms)",
                ("quantity", "n", "min", "p50", "p90", "p99", "max"),
                tuple(rows),
            )
        )
    blocks.append(
        Fields(
            "result",
            tuple(
                (k, v) for k, v in data.items() if k not in _SKIP and not isinstance(v, dict | list)
            ),
        )
    )
    config = get_dict(data, "config")
    if config:
        blocks.append(Fields("scenario settings", tuple(flatten(config))))
    power = get_dict(data, "power")
    if power:
        blocks.append(Fields("power", tuple(flatten(power))))
    if scores:
        blocks.append(Fields("scores", tuple(scores.items())))
    queries = data.get("completed", data.get("n"))
    return SampleView(
        (kind, get_str(data, "scenario"), None if queries is None else str(queries)), tuple(blocks)
    )
