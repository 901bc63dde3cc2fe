"""Registration of the llm standard (the `pingce.plugins` hook, called by `pingce.builtin`).

Registers the standard, its `llm.*` task types (with their short names as aliases), metrics,
answer filters, dataset loaders, `pingce bench` and the two demo steps. Task modules are
imported here because importing them is what registers their types; torch and transformers
load only when a model is opened.
"""

from __future__ import annotations


def register() -> None:
    """Register the llm standard and everything it brings (idempotent)."""
    from pingce.core.registry import demos, standards
    from pingce.llm import filters, metrics  # noqa: F401  (registers metrics and filters)
    from pingce.llm.tasks import generative, judged, multiple_choice, perplexity  # noqa: F401

    if not standards.has_loaded("llm"):
        from pingce.llm.demo import run_llm_demo, run_served_demo
        from pingce.llm.standard import LLMStandard

        standards.register("llm", LLMStandard())
        demos.register("10-llm", run_llm_demo)
        demos.register("12-llm-served", run_served_demo)
    from pingce.llm import catalogue  # built-in benchmarks, safety, robustness, contamination

    catalogue.register()
