"""The conversion step of `pingce demo`: export the digits CNN to ONNX and verify it with the
built-in suite `conversion/verify` through the shared run path."""

from __future__ import annotations

from pingce.core.demo import DemoContext

INTRO = (
    "exports pingce's digits CNN (trained on scikit-learn's 8x8 digits) to ONNX with the "
    "dynamo exporter and verifies the ONNX model against the torch model: ONNX checks, "
    "per-output errors, dynamic batch sizes, layer-by-layer comparison, latency parity."
)


def run_conversion_demo(ctx: DemoContext) -> str:
    from pingce.conversion.suite import built, verify_suite
    from pingce.core.paths import cache_root
    from pingce.models.converters import convert
    from pingce.models.loaded import load_model

    ctx.console.print(f"[bold]conversion[/bold]: {INTRO}")
    out = cache_root() / "demo" / "digits-cnn.dynamo.onnx"
    with ctx.console.status("exporting the digits CNN to ONNX…"):
        result = convert(load_model("zoo:digits-cnn"), out, to="onnx", exporter="dynamo")
    ctx.console.print(f"exported in {result.seconds:.1f} s → {out}")
    suite = verify_suite(
        limit=ctx.limit, perf_batches=[1, 32], repeats=10, batch_sizes=[1, 2, 7, 16]
    )
    return ctx.run_suite(
        built(suite, "pingce demo (conversion)", out.parent),
        f"onnx:{out}",
        {"source": "zoo:digits-cnn", "data": "zoo:digits", "threads": 1},
    )
