"""The labeling standard's run options (what `config.options` of a labeling run may hold)."""

from __future__ import annotations

from pingce.core.options import CommonOptions


class LabelingOptions(CommonOptions):
    """Gold labels and images for every task (a task's own `gold` wins), and the labeler's
    inference threads."""

    gold: str | None = None  # gold labels (file or folder); a task may name its own
    gold_format: str | None = None  # None or "auto": guessed
    images: str | None = None  # images folder (sizes, file checks, the labeler's input)
    threads: int | None = None
