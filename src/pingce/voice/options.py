"""The voice standard's run options (what `config.options` of a voice run may hold)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pingce.core.options import CommonOptions


class AsvRatesOption(BaseModel):
    """Error rates of the ASV system in front of the countermeasure (fractions)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    pfa: float = Field(ge=0.0, le=1.0)
    pmiss: float = Field(ge=0.0, le=1.0)
    pmiss_spoof: float = Field(ge=0.0, le=1.0)


class VoiceOptions(CommonOptions):
    """`seed` (bootstrap), the t-DCF formulation and ASV rates, and an optional primary metric
    for the task rows (default: EER, or accuracy for hard decisions)."""

    tdcf_formulation: Literal["2019", "2021"] = "2019"
    asv_rates: AsvRatesOption | None = None  # None: the ASVspoof 5 organisers' ASV
    primary_metric: str | None = None
