"""The steel standard's task type names (a leaf module: the others import it, it imports none)."""

from __future__ import annotations

ENDPOINT, IMPORTANCE = "steel.endpoint", "steel.importance"
QUALITY_ASPECTS = (
    "completeness",
    "validity",
    "duplicates",
    "outliers",
    "consistency",
    "leakage",
    "drift",
    "timeseries",
)


def steel_task_types() -> tuple[str, ...]:
    return (ENDPOINT, IMPORTANCE, *(f"steel.quality.{a}" for a in QUALITY_ASPECTS))
