"""How a per-sample score rolls up into a task score; shared by every standard.

Per-sample values live in a record's `scores`. A mean metric stores a float; a corpus metric
(BLEU, perplexity, EER) stores what it needs per sample and names a `statistic` that turns a
list of those into one number, so both the score and its bootstrap CI come from the stored
records alone. Register each metric once in `pingce.core.registry.metrics` under its name
(names are global across standards); `pingce compare` uses `binary` and `statistic` to choose
the paired test.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pingce.core.report.kit import finite_or_none  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from pingce.core.spec import Indicator
    from pingce.core.stats import Estimate


@dataclass(frozen=True)
class MetricDef:
    name: str
    name_zh: str
    definition: str
    direction: Literal["higher", "lower"] = "higher"
    scale: float = 1.0  # full-scale value (1 for rates, 100 for BLEU, 0 for unbounded)
    unit: str = ""
    statistic: Callable[[Sequence[Any]], float] | None = None  # None: mean of floats
    binary: bool = False  # per-sample values are 0/1 (McNemar applies)
    # A sample fails below (higher) or above (lower) this per-sample value; None: the default
    # rule of `pingce.core.sample_failure.metric_rule` (0 fails, or full scale for "lower").
    sample_pass: float | None = None

    def indicator(self, threshold: float | None = None, unit: str | None = None) -> Indicator:
        """This metric as a standard's declared indicator (same id, names and definition)."""
        from pingce.core.spec import Indicator

        return Indicator(
            id=self.name,
            name=self.name,
            name_zh=self.name_zh,
            unit=self.unit if unit is None else unit,
            direction=self.direction,
            definition=self.definition,
            threshold=threshold,
        )

    def row(
        self, items: Sequence[Any], *, seed: int = 0, n_resamples: int = 1000
    ) -> dict[str, Any]:
        """The report's metric row for per-sample `items`: value, stderr, seeded bootstrap CI
        (`pingce.core.report.kit.MetricRow.from_items(...).to_dict()`)."""
        from pingce.core.report.kit import MetricRow

        return MetricRow.from_items(self, items, seed=seed, n_resamples=n_resamples).to_dict()

    def estimate_row(
        self, est: Estimate, *, n: int | None = None, stderr_needs_ci: bool = False
    ) -> dict[str, Any]:
        """The report's metric row for an estimate computed elsewhere (e.g. a bootstrap over
        index vectors). `n` overrides the estimate's count; with `stderr_needs_ci` the stderr
        is dropped when the CI is undefined (a degenerate resample distribution)."""
        from pingce.core.report.kit import MetricRow

        return MetricRow.from_estimate(self, est, n=n, stderr_needs_ci=stderr_needs_ci).to_dict()

    def indicator_row(
        self,
        row: dict[str, Any],
        scope: str,
        *,
        threshold: float | None = None,
        verdict: str | None = None,
        unit: str | None = None,
    ) -> dict[str, Any]:
        """A report `indicators` entry: this metric's metric `row` (from `row()` or
        `fixed_row()`) for one `scope` (a task id), with its declared names and definition."""
        from pingce.core.report.kit import IndicatorEntry

        return IndicatorEntry.from_metric(
            self,
            row,
            scope,
            threshold=threshold,
            verdict=verdict,
            unit=unit,  # type: ignore[arg-type]
        ).to_dict()

    def fixed_row(self, value: float | None, n: int) -> dict[str, Any]:
        """The report's metric row for one figure with no sampling distribution (a throughput,
        an energy total): no stderr and no CI, `n` the count it was measured over."""
        from pingce.core.report.kit import MetricRow

        return MetricRow.fixed(self, value, n).to_dict()
