"""The compression step of `pingce demo`: INT8 dynamic quantisation of the digits CNN, tested
with the built-in suite `compression/test` through the shared run path."""

from __future__ import annotations

from pingce.core.demo import DemoContext

INTRO = (
    "quantises pingce's digits CNN (trained on scikit-learn's 8x8 digits) to INT8 with "
    "torch.ao dynamic quantisation and tests it against the float model: compression ratios, "
    "accuracy drop against a 1% budget, agreement, SQNR, latency with speed-up significance."
)


def run_compression_demo(ctx: DemoContext) -> str:
    from pingce.compression.compressors import compress, parse_recipes
    from pingce.compression.suite import compression_suite
    from pingce.core.paths import cache_root
    from pingce.core.spec import suite_from_dict
    from pingce.models.datasets import load_data
    from pingce.models.loaded import load_model

    ctx.console.print(f"[bold]compression[/bold]: {INTRO}")
    base = load_model("zoo:digits-cnn")
    data = load_data("zoo:digits", base.input_names)
    recipe = parse_recipes("int8-dynamic")[0]
    with ctx.console.status("quantising the digits CNN…"):
        path = compress(base, recipe, data, cache_root() / "demo" / "compressed")
    suite = compression_suite([recipe.label], batch_sizes=[1, 32], repeats=10, limit=ctx.limit)
    return ctx.run_suite(
        suite_from_dict(suite, "pingce demo (compression)", path.parent),
        "zoo:digits-cnn",
        {"variants": {recipe.label: f"torchscript:{path}"}, "data": "zoo:digits", "threads": 1},
    )
