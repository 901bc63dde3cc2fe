"""The conversion standard's run options (only these enter its config and config hash)."""

from __future__ import annotations

from pydantic import Field

from pingce.core.options import CommonOptions


class ConversionOptions(CommonOptions):
    """`seed` (CommonOptions) seeds the bootstrap CIs of the report."""

    source: str | None = None  # the source model a converted model is verified against
    data: str | None = None  # comparison data (default: the zoo source's own)
    threads: int | None = Field(default=None, ge=1)  # compute threads for both models
    input_map: str | None = None  # SRC=DST pairs when input names differ
    workdir: str | None = None  # where `zoo:all` writes its exports
