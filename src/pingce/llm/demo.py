"""The llm step of `pingce demo`: the tiny local model on the built-in llm/quick suite."""

from __future__ import annotations

from pingce.core.demo import DemoContext

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
    return ctx.run_suite(
        "llm/quick",
        f"hf:{path}",
        {
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


def run_served_demo(ctx: DemoContext) -> str | None:
    """The same tiny model behind `transformers serve`, evaluated over its OpenAI-compatible API.

    Skipped with a one-line note when transformers' serving extra is not installed. Only the
    generative tasks run: `transformers serve` returns no prompt logprobs, so loglikelihood
    tasks need a server that does (vLLM; see docs/standards/llm-served.md).
    """
    import importlib.util
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    from pingce.llm.demo_model import ensure_demo_model

    exe = Path(sys.executable).with_name("transformers")
    missing = [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing or not exe.exists():
        ctx.console.print(
            # \[ keeps rich from reading "[serving]" as a style tag and dropping it.
            "[yellow]note:[/yellow] served-model demo skipped: install 'transformers\\[serving]' "
            "to evaluate the demo model through `transformers serve`"
        )
        return None
    path = ensure_demo_model()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cmd = [str(exe), "serve", str(path), "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--device", "cpu", "--dtype", "float32"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    ctx.console.print(
        f"[bold]llm (served)[/bold]: starting `transformers serve` on 127.0.0.1:{port}"
    )
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                ctx.console.print(
                    "[yellow]note:[/yellow] served-model demo skipped: the server exited"
                )
                return None
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    ctx.console.print("[yellow]note:[/yellow] served-model demo skipped: no health")
                    return None
                time.sleep(0.2)
        return ctx.run_suite(
            "llm/quick-served",
            f"openai://127.0.0.1:{port}/v1?model={path}",
            {"concurrency": 4, "seed": 1234, "limit": ctx.limit or 8, "demo": True},
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
