"""The llm standard's run options (its config and config hash hold these and no others)."""

from __future__ import annotations

from pingce.backends.options import BackendOptions


class LLMOptions(BackendOptions):
    """Common options, the model backends' options, and how the llm tasks run."""

    num_fewshot: int | None = None  # overrides every task's num_fewshot
    fewshot_trials: int | None = None  # few-shot sets drawn per task to measure prompt variance
    executor: str | None = None  # "ray" or ray://HOST:PORT: model work on Ray actors
    sandbox: str | None = None  # isolation of model-written code (code tasks)
    allow_unsafe_code: bool = False  # confirms sandbox "none"
