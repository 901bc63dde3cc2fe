"""The server-perf step of `pingce demo`: the built-in perf/infer suite on the digits classifier."""

from __future__ import annotations

from importlib.resources import files

from pingce.core.demo import DemoContext
from pingce.core.run import RunRequest, execute_run

INTRO = (
    "A small CNN that pingce trains on sklearn's 8x8 digits (cached), driven by pingce's load "
    "generator: an accuracy run, then Offline and SingleStream scenarios with MLPerf-style "
    "validity rules (2 s minimum each)."
)


def builtin_suite(name: str) -> str:
    """The path of a built-in server-perf suite (`pingce/perf/suites/NAME.yaml`)."""
    return str(files("pingce.perf") / "suites" / f"{name}.yaml")


def run_perf_demo(ctx: DemoContext) -> str:
    ctx.console.print(f"[bold]server-perf[/bold]: {INTRO}")
    request = RunRequest(
        suite=builtin_suite("infer"),
        subject="builtin:digits",
        standard="server-perf",
        options={"batch_size": 64, "threads": None, "seed": 1234, "demo": True},
    )
    return execute_run(ctx.store, request, show_progress=not ctx.quiet)
