"""The server-perf step of `pingce demo`: Offline + SingleStream on the digits classifier."""

from __future__ import annotations

from pathlib import Path

from pingce.core.demo import DemoContext
from pingce.core.run import RunRequest, execute_run
from pingce.core.spec import suite_from_dict

INTRO = (
    "A small CNN that pingce trains on sklearn's 8x8 digits (cached), driven by pingce's load "
    "generator: an accuracy run, then Offline and SingleStream scenarios with MLPerf-style "
    "validity rules (2 s minimum each)."
)


def run_perf_demo(ctx: DemoContext) -> str:
    from pingce.perf.cli import infer_suite

    ctx.console.print(f"[bold]server-perf[/bold]: {INTRO}")
    suite = suite_from_dict(
        infer_suite(["offline", "single-stream"], min_duration_s=2.0),
        "pingce demo (server-perf)",
        Path.cwd(),
    )
    request = RunRequest(
        suite=suite,
        subject="builtin:digits",
        standard="server-perf",
        options={"batch_size": 64, "threads": None, "seed": 1234, "demo": True},
    )
    return execute_run(ctx.store, request, show_progress=not ctx.quiet)
