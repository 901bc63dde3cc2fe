"""The compression standard's run options (only these enter its config and config hash)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from pingce.core.options import CommonOptions


class CompressionOptions(CommonOptions):
    """`seed` (CommonOptions) seeds the bootstrap CIs of the report."""

    variants: dict[str, str] = Field(default_factory=dict)  # label -> compressed model reference
    data: str | None = None  # evaluation data reference (default: the zoo model's own)
    threads: int | None = Field(default=None, ge=1)  # compute threads for every model
    image_size: str | None = None  # HxW for ImageFolder data
    calib_data: str | None = None  # what `compress run` calibrated on (recorded for the report)
    train_data: str | None = None  # what `compress run` fine-tuned on (recorded for the report)
    fit_split: dict[str, Any] | None = None  # the split off the evaluation data for fitting
