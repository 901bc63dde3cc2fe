"""The data-quality measures as metrics (global names `data_*`): registered by the plugin,
and the definitions the report's rows and indicator entries are built from."""

from __future__ import annotations

from pingce.core.metric import MetricDef
from pingce.data.quality.indicators import MEASURES, Measure

# Record-level measures whose per-document values are not 0/1 (no McNemar test).
GRADED_RECORD_MEASURES = ("data_lexical_diversity", "data_bigram_entropy", "data_heuristic_score")


def measure_metric(m: Measure) -> MetricDef:
    """The metric of measure `m` (full scale 1 for rates, none for entropies in bits)."""
    return MetricDef(
        name=m.id,
        name_zh=m.name_zh,
        definition=m.definition,
        direction=m.direction,
        scale=0.0 if m.unit == "bits" else 1.0,
        unit=m.unit,
        binary=m.level == "record" and m.id not in GRADED_RECORD_MEASURES,
    )


METRIC_DEFS: dict[str, MetricDef] = {m.id: measure_metric(m) for m in MEASURES}
