"""Run options that the shared model backends read (`hf:` and `openai://` subjects).

A standard that evaluates a language model subject (llm, kg) builds its options model on
`BackendOptions`, so these options enter its stored config and config hash, and nothing else
of another standard's does. Values are checked loosely here; each backend checks its own
(e.g. `backends.openai.parse_model_args`, `--batch-size`).
"""

from __future__ import annotations

from typing import Any

from pingce.core.options import CommonOptions


class BackendOptions(CommonOptions):
    """`hf` (local) and `openai` (served) backend options; see docs/standards/llm-served.md."""

    # local Hugging Face models
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int | str = 16  # a positive integer or "auto"
    threads: int | None = None
    max_length: int | None = None
    trust_remote_code: bool = False
    # served models (OpenAI-compatible APIs): the --model-arg keys and their flags
    base_url: str | None = None
    served_model: str | None = None
    api_key_env: str | None = None
    concurrency: int | None = None
    adaptive: bool | None = None
    timeout_s: float | None = None
    connect_timeout_s: float | None = None
    max_retries: int | None = None
    backoff_base_s: float | None = None
    backoff_max_s: float | None = None
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    stream: bool | str | None = None
    endpoint: str | None = None
    tokenizer: str | None = None
    prices: Any = None  # a price file path or a mapping
    request_cache: bool | str | None = None
    http_transport: str | None = None
    reasoning_effort: str | None = None  # sent as the request's `reasoning_effort` when set
