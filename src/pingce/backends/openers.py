"""Subject openers of the registered backends: a subject spec and run options -> a model.

Each imports its backend module on use, so registering them costs nothing at CLI start
(transformers/torch for `hf`, the HTTP stack for `openai`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # registering the openers imports nothing else
    from pingce.core.spec import SubjectSpec


def open_hf(subject: SubjectSpec, options: dict[str, Any]) -> Any:
    """`hf:PATH` — a local Hugging Face causal LM (options: device, dtype, batch_size, threads,
    max_length, trust_remote_code; subject parameters device, dtype, revision, weight_only)."""
    from pingce.backends.hf import HFCausalLM

    return HFCausalLM(
        subject.target,
        device=str(options.get("device", subject.params.get("device", "auto"))),
        dtype=str(options.get("dtype", subject.params.get("dtype", "auto"))),
        batch_size=options.get("batch_size", 16),
        threads=options.get("threads"),
        max_length=options.get("max_length"),
        trust_remote_code=bool(options.get("trust_remote_code", False)),
        revision=subject.params.get("revision"),
        weight_only=subject.params.get("weight_only", "auto"),
    )


def open_openai(subject: SubjectSpec, options: dict[str, Any]) -> Any:
    """`openai://HOST:PORT/v1?model=NAME` — an OpenAI-compatible server."""
    # Imported on use: the HTTP stack (aiohttp) costs ~0.1 s at every CLI start otherwise.
    from pingce.backends.openai import open_openai as open_served

    return open_served(subject, options)
