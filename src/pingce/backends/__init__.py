"""Language-model backends shared by every standard that evaluates a model (llm, kg, ...).

`register()` puts the `hf` and `openai` subject schemes into `pingce.core.registry.backends`;
pingce's plugin loader calls it once, whichever standards are enabled, so a standard can
accept ``hf:PATH`` without depending on the llm standard. It imports nothing heavy: each
backend's module (torch/transformers, aiohttp) loads when a subject is opened.
"""

from __future__ import annotations


def register() -> None:
    """Register the `hf` and `openai` backends (idempotent)."""
    from pingce.backends.openers import open_hf, open_openai
    from pingce.core.registry import backends

    for name, opener in (("hf", open_hf), ("openai", open_openai)):
        if not backends.has_loaded(name):
            backends.register(name, opener)
