"""`pingce list filters|metrics` rows come from the core registries (pingce.core.listing)."""

from __future__ import annotations

from pingce.core import registry
from pingce.core.listing import filter_rows, metric_rows
from pingce.core.metric import MetricDef

METRIC = MetricDef("listing_probe", "探针", "A metric registered by this test.\n\nMore.", scale=100)


def probe_filter(fallback: str = "?", *, strict: bool) -> None:
    """Keep the probe.

    Second paragraph, not listed."""


def test_metric_and_filter_rows_read_the_registries() -> None:
    if not registry.metrics.has_loaded(METRIC.name):
        registry.metrics.register(METRIC.name, METRIC)
    if not registry.filters.has_loaded("listing_probe"):
        registry.filters.register("listing_probe", probe_filter)
    row = next(r for r in metric_rows() if r[0] == "listing_probe")
    assert row == (
        "listing_probe",
        "探针",
        "higher",
        "0–100",
        "—",
        "A metric registered by this test. More.",
    )
    frow = next(r for r in filter_rows() if r[0] == "listing_probe")
    assert frow == ("listing_probe", "fallback='?', strict (required)", "Keep the probe.")
