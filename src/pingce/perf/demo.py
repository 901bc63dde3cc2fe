"""The server-perf step of `pingce demo`: the built-in perf/infer suite on the digits classifier."""

from __future__ import annotations

from pingce.core.demo import DemoContext

INTRO = (
    "A small CNN that pingce trains on sklearn's 8x8 digits (cached), driven by pingce's load "
    "generator: an accuracy run, then Offline and SingleStream scenarios with MLPerf-style "
    "validity rules (2 s minimum each)."
)


def run_perf_demo(ctx: DemoContext) -> str:
    ctx.console.print(f"[bold]server-perf[/bold]: {INTRO}")
    options = {"batch_size": 64, "threads": None, "seed": 1234, "demo": True}
    return ctx.run_suite("perf/infer", "builtin:digits", options)
