"""The one seed default of every standard (few-shot selection, sampling, bootstrap CIs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# 1234 is what `pingce run` and all standards but one already used; kg's summary fell back
# to 0 for runs whose options named no seed (`pingce kg evaluate/quality`).
DEFAULT_SEED = 1234


def seed_of(options_or_config: Mapping[str, Any]) -> int:
    """The run's seed from its options (or from a run config's `options`); DEFAULT_SEED if unset."""
    options = options_or_config.get("options", options_or_config)
    if not isinstance(options, Mapping):
        return DEFAULT_SEED
    seed = options.get("seed")
    return DEFAULT_SEED if seed is None else int(seed)
