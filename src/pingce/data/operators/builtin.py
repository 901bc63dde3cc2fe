"""Importing this module registers every built-in data operator in `OPERATORS`."""

from pingce.data.operators import (  # noqa: F401
    cleaning,
    dedup,
    heuristics,
    language,
    perplexity,
    pii,
    toxicity,
)
