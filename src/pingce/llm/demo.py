"""The llm step of `pingce demo`: the tiny local model on the built-in llm/quick suite."""

from __future__ import annotations

from pingce.core.demo import DemoContext
from pingce.core.run import RunRequest, execute_run

INTRO = (
    "The demo model is a tiny Qwen2-architecture model, randomly initialised and trained for "
    "a few dozen steps on local text. It is NOT a real LLM: near-chance scores are expected. "
    "The point is the pipeline: run → store → report."
)


def run_llm_demo(ctx: DemoContext) -> str:
    from pingce.llm.demo_model import ensure_demo_model

    ctx.console.print(f"[bold]llm[/bold]: {INTRO}")
    with ctx.console.status("building the demo model (first run only)…"):
        path = ensure_demo_model()
    ctx.console.print(f"demo model: {path}")
    request = RunRequest(
        suite="llm/quick",
        subject=f"hf:{path}",
        standard="llm",
        options={
            "device": "cpu",
            "dtype": "float32",
            "batch_size": 16,
            "seed": 1234,
            "num_fewshot": None,
            "limit": ctx.limit,
            "threads": None,
            "demo": True,
        },
    )
    return execute_run(ctx.store, request, show_progress=not ctx.quiet)
