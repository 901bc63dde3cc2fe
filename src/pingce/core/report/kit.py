"""The typed report kit: the rows, indicator entries, sections and charts of a report document.

Every standard's `summarize()` builds its part of the report document (``schema.json``) from
these records instead of hand-written dicts, so the shapes are written once. Each record is a
frozen dataclass whose `to_dict()` gives exactly the JSON shape the schema describes; optional
keys that are `None` are left out (an empty list is kept: it is a value).

- `MetricRow`: a task's metric (value, stderr, CI, n, direction, unit, scale).
- `TaskRow`: one entry of `tasks` (absorbs `pingce.core.standard.task_row`).
- `IndicatorEntry`: one entry of `indicators`, from a `MetricDef` or a declared `Indicator`.
- `Section`, `Table`, `LinesChart`/`BarsChart`/`HeatmapChart`/`BoxesChart`: `sections`.
- `verdict()`: the one pass/fail rule; `rnd()`: the one rounding helper.
- `summarize_tasks()`: the loop most standards share (records per task -> metric rows ->
  task row with the primary metric -> indicator entries).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from pingce.core.seed import seed_of

if TYPE_CHECKING:
    from pingce.core.metric import MetricDef
    from pingce.core.spec import Indicator
    from pingce.core.stats import Estimate

Direction = Literal["higher", "lower"]
Verdict = Literal["pass", "fail"]
Cell = str | int | float | None


# --------------------------------------------------------------------------- numbers


def finite_or_none(x: Any) -> float | None:
    """A float, or None for None/NaN/±inf (reports hold no non-finite numbers)."""
    if x is None:
        return None
    value = float(x)
    return value if math.isfinite(value) else None


def rnd(x: Any, digits: int = 4, *, significant: bool = False) -> Any:
    """`x` rounded for a report: None/NaN/±inf -> None.

    Floats are rounded to `digits` decimals (`round(x, digits)`), or to `digits` significant
    figures with `significant=True` (`float(f"{x:.{digits}g}")`, for values spanning many
    magnitudes). Integers (not bools) come back unchanged; anything else that is a number is
    treated as a float; strings and other values come back unchanged.
    """
    if x is None or isinstance(x, bool | str):
        return x
    if isinstance(x, int):
        return x
    try:
        value = float(x)
    except (TypeError, ValueError):
        return x
    if not math.isfinite(value):
        return None
    return float(f"{value:.{digits}g}") if significant else round(value, digits)


def verdict(value: Any, threshold: Any, direction: str) -> Verdict | None:
    """ "pass" when `value` meets `threshold` in `direction` ("higher": value >= threshold,
    "lower": value <= threshold), "fail" when not, None when either is None or not finite."""
    v, t = finite_or_none(value), finite_or_none(threshold)
    if v is None or t is None:
        return None
    if direction not in ("higher", "lower"):
        raise ValueError(f"direction must be 'higher' or 'lower', got {direction!r}")
    ok = v >= t if direction == "higher" else v <= t
    return "pass" if ok else "fail"


def unit_score(value: Any, direction: str) -> float | None:
    """A 0..1 rate as a score where higher is better (a "lower" rate enters as 1 - rate)."""
    v = finite_or_none(value)
    if v is None:
        return None
    return 1.0 - v if direction == "lower" else v


# --------------------------------------------------------------------------- metric rows


@dataclass(frozen=True)
class MetricRow:
    """A task's metric as in a report's `tasks[].metrics` (schema `$defs/metric`)."""

    value: float
    stderr: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    direction: Direction
    unit: str
    scale: float

    @classmethod
    def from_items(
        cls, mdef: MetricDef, items: Sequence[Any], *, seed: int, n_resamples: int = 1000
    ) -> MetricRow:
        """Value, stderr and seeded bootstrap CI of per-sample `items` under `mdef`'s statistic."""
        from pingce.core.stats import estimate

        est = estimate(items, mdef.statistic, n_resamples=n_resamples, seed=seed)
        return cls.from_estimate(mdef, est)

    @classmethod
    def from_estimate(
        cls, mdef: MetricDef, est: Estimate, *, n: int | None = None, stderr_needs_ci: bool = False
    ) -> MetricRow:
        """An estimate computed elsewhere. `n` overrides its count; with `stderr_needs_ci` the
        stderr is dropped when the CI is undefined (a degenerate resample distribution)."""
        lo, hi = finite_or_none(est.ci_low), finite_or_none(est.ci_high)
        stderr = finite_or_none(est.stderr)
        if stderr_needs_ci and (lo is None or hi is None):
            stderr = None
        return cls(
            value=est.value,
            stderr=stderr,
            ci_low=lo,
            ci_high=hi,
            n=est.n if n is None else n,
            direction=mdef.direction,
            unit=mdef.unit,
            scale=mdef.scale,
        )

    @classmethod
    def fixed(cls, mdef: MetricDef, value: float | None, n: int) -> MetricRow:
        """One figure with no sampling distribution (a throughput, an energy total)."""
        return cls(
            value=finite_or_none(value),  # type: ignore[arg-type]  # the schema refuses None; callers check
            stderr=None,
            ci_low=None,
            ci_high=None,
            n=n,
            direction=mdef.direction,
            unit=mdef.unit,
            scale=mdef.scale,
        )

    @property
    def finite(self) -> bool:
        """Whether the value is a finite number (a NaN row, e.g. an undefined F1, is left out)."""
        return finite_or_none(self.value) is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "stderr": self.stderr,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "direction": self.direction,
            "unit": self.unit,
            "scale": self.scale,
        }


def _row_dict(row: MetricRow | Mapping[str, Any]) -> Mapping[str, Any]:
    return row.to_dict() if isinstance(row, MetricRow) else row


# --------------------------------------------------------------------------- task rows


@dataclass(frozen=True)
class TaskRow:
    """One entry of a report's `tasks` (schema `$defs/task`)."""

    id: str
    title: str
    title_zh: str
    type: str | None
    dimension: str
    language: str
    n_samples: int
    primary_metric: str
    metrics: Mapping[str, MetricRow | Mapping[str, Any]]

    @classmethod
    def of(
        cls,
        spec: Mapping[str, Any],
        n_samples: int,
        primary: str,
        metrics: Mapping[str, MetricRow | Mapping[str, Any]],
        *,
        default_dimension: str = "general",
        default_language: str = "en",
        **overrides: Any,
    ) -> TaskRow:
        """The row of suite task `spec` (a dict of the suite's task): the task may set its own
        title, dimension and language, the defaults say what the standard uses when it does
        not; `overrides` replace any field (e.g. a fixed `type` or `dimension`)."""
        fields: dict[str, Any] = {
            "id": spec["id"],
            "title": spec.get("title") or spec["id"],
            "title_zh": spec.get("title_zh") or "",
            "type": spec.get("type"),
            "dimension": spec.get("dimension", default_dimension),
            "language": spec.get("language", default_language),
            "n_samples": n_samples,
            "primary_metric": primary,
            "metrics": metrics,
        }
        fields.update(overrides)
        return cls(**fields)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "title_zh": self.title_zh,
            "type": self.type,
            "dimension": self.dimension,
            "language": self.language,
            "n_samples": self.n_samples,
            "primary_metric": self.primary_metric,
            "metrics": {name: dict(_row_dict(row)) for name, row in self.metrics.items()},
        }


def task_row(
    spec: Mapping[str, Any],
    n_samples: int,
    primary: str,
    metrics: Mapping[str, Any],
    *,
    default_dimension: str = "general",
    default_language: str = "en",
    **fields: Any,
) -> dict[str, Any]:
    """`TaskRow.of(...).to_dict()`: one entry of a report's `tasks` list as a dict."""
    return TaskRow.of(
        spec,
        n_samples,
        primary,
        metrics,
        default_dimension=default_dimension,
        default_language=default_language,
        **fields,
    ).to_dict()


# --------------------------------------------------------------------------- indicators


class _Auto:
    def __repr__(self) -> str:
        return "AUTO"


AUTO: Any = _Auto()  # verdict=AUTO: judged by `verdict(value, threshold, direction)`


@dataclass(frozen=True)
class IndicatorEntry:
    """One entry of a report's `indicators` (schema `$defs/indicator`)."""

    id: str
    name: str
    name_zh: str
    unit: str
    direction: Direction
    definition: str
    value: float | None
    stderr: float | None
    ci_low: float | None
    ci_high: float | None
    n: int | None
    scope: str
    threshold: float | None = None
    verdict: Verdict | None = None

    @classmethod
    def from_metric(
        cls,
        mdef: MetricDef,
        row: MetricRow | Mapping[str, Any],
        scope: str,
        *,
        threshold: float | None = None,
        verdict: Verdict | None = AUTO,
        unit: str | None = None,
        id: str | None = None,
        name: str | None = None,
        direction: Direction | None = None,
    ) -> IndicatorEntry:
        """`mdef`'s metric `row` for one `scope` (a task id, or "run"), with its declared names
        and definition. The verdict is judged on the row's value against `threshold` unless
        given (e.g. judged on the CI's upper end: `verdict=verdict(row.ci_high, t, "lower")`);
        `id`, `name`, `unit`, `direction` override the metric's own."""
        r = _row_dict(row)
        direction = direction or mdef.direction
        value = finite_or_none(r["value"])
        return cls(
            id=mdef.name if id is None else id,
            name=mdef.name if name is None else name,
            name_zh=mdef.name_zh,
            unit=mdef.unit if unit is None else unit,
            direction=direction,
            definition=mdef.definition,
            value=value,
            stderr=r["stderr"],
            ci_low=r["ci_low"],
            ci_high=r["ci_high"],
            n=r["n"],
            scope=scope,
            threshold=threshold,
            verdict=_judge(verdict, value, threshold, direction),
        )

    @classmethod
    def from_indicator(
        cls,
        ind: Indicator,
        value: Any,
        scope: str,
        *,
        n: int | None = None,
        stderr: float | None = None,
        ci_low: float | None = None,
        ci_high: float | None = None,
        threshold: float | None = AUTO,
        verdict: Verdict | None = AUTO,
        unit: str | None = None,
    ) -> IndicatorEntry:
        """A standard's declared indicator with a measured `value` for `scope`. The threshold
        defaults to the indicator's own; the verdict is judged against it unless given."""
        threshold = ind.threshold if threshold is AUTO else threshold
        v = finite_or_none(value)
        return cls(
            id=ind.id,
            name=ind.name,
            name_zh=ind.name_zh,
            unit=ind.unit if unit is None else unit,
            direction=ind.direction,
            definition=ind.definition,
            value=v,
            stderr=finite_or_none(stderr),
            ci_low=finite_or_none(ci_low),
            ci_high=finite_or_none(ci_high),
            n=n,
            scope=scope,
            threshold=threshold,
            verdict=_judge(verdict, v, threshold, ind.direction),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "name_zh": self.name_zh,
            "unit": self.unit,
            "direction": self.direction,
            "definition": self.definition,
            "value": self.value,
            "stderr": self.stderr,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "scope": self.scope,
            "threshold": self.threshold,
            "verdict": self.verdict,
        }


def _judge(given: Any, value: float | None, threshold: float | None, direction: str) -> Any:
    return verdict(value, threshold, direction) if given is AUTO else given


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class Table:
    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]]

    def to_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "rows": [list(r) for r in self.rows]}


def spans_decades(*series: Sequence[float | None], decades: float = 2.0) -> bool:
    """True when the positive finite values of `series` span more than `decades` powers of
    ten (max / min > 10**decades): the axis then needs a log scale to show them all."""
    xs = [float(v) for s in series for v in s if finite_or_none(v) is not None and float(v) > 0]
    return bool(xs) and max(xs) / min(xs) > 10**decades


@dataclass(frozen=True)
class LineSeries:
    name: str
    x: Sequence[float | None]
    y: Sequence[float | None]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "x": list(self.x), "y": list(self.y)}


@dataclass(frozen=True)
class BarSeries:
    name: str
    values: Sequence[float | None]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "values": list(self.values)}


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


AxisScale = Literal["linear", "log", "probit"]


@dataclass(frozen=True)
class LinesChart:
    """Line series on x/y axes (latency CDFs, DET curves); a None point leaves a gap."""

    title: str
    series: Sequence[LineSeries]
    x_label: str | None = None
    y_label: str | None = None
    x_log: bool | None = None
    y_log: bool | None = None
    x_scale: AxisScale | None = None
    y_scale: AxisScale | None = None

    def to_dict(self) -> dict[str, Any]:
        return _drop_none(
            {
                "kind": "lines",
                "title": self.title,
                "x_label": self.x_label,
                "y_label": self.y_label,
                "x_log": self.x_log,
                "y_log": self.y_log,
                "x_scale": self.x_scale,
                "y_scale": self.y_scale,
                "series": [s.to_dict() for s in self.series],
            }
        )


@dataclass(frozen=True)
class BarsChart:
    """Grouped bars: one group per label, one bar per series; None shows as n/a."""

    title: str
    labels: Sequence[str]
    series: Sequence[BarSeries]
    unit: str | None = None

    @classmethod
    def single(
        cls,
        title: str,
        labels: Sequence[str],
        values: Sequence[float | None],
        name: str,
        unit: str | None = None,
    ) -> BarsChart:
        """One series of bars named `name`."""
        return cls(title, labels, [BarSeries(name, values)], unit)

    def to_dict(self) -> dict[str, Any]:
        return _drop_none(
            {
                "kind": "bars",
                "title": self.title,
                "labels": list(self.labels),
                "series": [s.to_dict() for s in self.series],
                "unit": self.unit,
            }
        )


@dataclass(frozen=True)
class HeatmapChart:
    """A rows x columns grid (confusion matrices, per-class by per-condition scores)."""

    title: str
    rows: Sequence[str]
    columns: Sequence[str]
    values: Sequence[Sequence[float | None]]
    unit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _drop_none(
            {
                "kind": "heatmap",
                "title": self.title,
                "rows": list(self.rows),
                "columns": list(self.columns),
                "values": [list(v) for v in self.values],
                "unit": self.unit,
            }
        )


class GoldBox(TypedDict, total=False):
    """A reference box in pixels of the original image (COCO x/y/w/h); `status` optional."""

    x: float
    y: float
    w: float
    h: float
    label: str
    status: Literal["valid", "low_overlap", "mismatched", "missing"]


class PredBox(TypedDict, total=False):
    """A predicted box; `score` may be None (no confidence), `status` optional."""

    x: float
    y: float
    w: float
    h: float
    label: str
    score: float | None
    status: Literal["valid", "low_overlap", "mismatched", "extra"]


@dataclass(frozen=True)
class BoxesChart:
    """One image (a base64 data: URI or None) with gold and predicted boxes over it."""

    title: str
    image: str | None
    width: float
    height: float
    gold: Sequence[GoldBox]
    pred: Sequence[PredBox]
    caption: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kind": "boxes",
            "title": self.title,
            "image": self.image,  # None is a value here: boxes on a blank area
            "width": self.width,
            "height": self.height,
            "gold": [dict(b) for b in self.gold],
            "pred": [dict(b) for b in self.pred],
        }
        if self.caption is not None:
            d["caption"] = self.caption
        return d


Chart = LinesChart | BarsChart | HeatmapChart | BoxesChart


@dataclass(frozen=True)
class Section:
    """A standard-specific block of a report: text, one table and charts, after the tasks.

    `text`, `table` and `charts` are left out of the document when None (`charts=[]` is kept).
    """

    id: str
    title: str
    title_zh: str
    text: str | None = None
    table: Table | None = None
    charts: Sequence[Chart] | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "title": self.title, "title_zh": self.title_zh}
        if self.text is not None:
            d["text"] = self.text
        if self.table is not None:
            d["table"] = self.table.to_dict()
        if self.charts is not None:
            d["charts"] = [c.to_dict() for c in self.charts]
        return d


def to_dicts(items: Sequence[Any]) -> list[dict[str, Any]]:
    """`[x.to_dict() for x in items]`, for lists of kit records."""
    return [x.to_dict() for x in items]


# --------------------------------------------------------------------------- the summary


@dataclass(frozen=True)
class DimensionRow:
    """One entry of a report's `dimensions`: a capability score over some tasks."""

    id: str
    name: str
    name_zh: str
    score: float | None  # 0..1, None when it cannot be computed
    weight: float
    tasks: Sequence[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "name_zh": self.name_zh,
            "score": finite_or_none(self.score),
            "weight": self.weight,
            "tasks": list(self.tasks),
        }


@dataclass(frozen=True)
class SampleRow:
    """One entry of a report's `samples`: a stored record as the report shows it."""

    task: str
    sample_id: str
    prompt: str = ""
    output: str = ""
    extracted: str | None = None
    reference: str = ""
    scores: Mapping[str, float] | None = None
    data: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "sample_id": self.sample_id,
            "prompt": self.prompt,
            "output": self.output,
            "extracted": self.extracted,
            "reference": self.reference,
            "scores": dict(self.scores or {}),
            "data": dict(self.data or {}),
        }


@dataclass(frozen=True)
class Summary:
    """What `Standard.summarize()` returns: `Summary(...).to_dict()`.

    `tasks`, `indicators`, `dimensions`, `samples` and `sections` take kit records or dicts
    already in the report shape (e.g. `TasksSummary.task_rows()`); `overall_score` is a 0..1
    score or None, described by `overall_method`.
    """

    tasks: Sequence[TaskRow | Mapping[str, Any]] = ()
    indicators: Sequence[IndicatorEntry | Mapping[str, Any]] = ()
    overall_score: float | None = None
    overall_method: str = ""
    dimensions: Sequence[DimensionRow | Mapping[str, Any]] = ()
    samples: Sequence[SampleRow | Mapping[str, Any]] = ()
    notes: Sequence[str] = ()
    sections: Sequence[Section | Mapping[str, Any]] = ()
    extra: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tasks": _dicts(self.tasks),
            "dimensions": _dicts(self.dimensions),
            "overall": {"score": finite_or_none(self.overall_score), "method": self.overall_method},
            "indicators": _dicts(self.indicators),
            "samples": _dicts(self.samples),
            "notes": list(self.notes),
            "sections": _dicts(self.sections),
            "extra": dict(self.extra or {}),
        }


def _dicts(items: Sequence[Any]) -> list[dict[str, Any]]:
    return [x.to_dict() if hasattr(x, "to_dict") else dict(x) for x in items]


# --------------------------------------------------------------------------- summarize_tasks


@dataclass(frozen=True)
class TaskSummary:
    """One suite task with records: its records, metric rows, task row and indicator entries.

    `task` is None when no metric row could be computed (the task then has no `tasks` entry,
    though the standard may still give it sections).
    """

    spec: Mapping[str, Any]
    records: list[dict[str, Any]]
    rows: dict[str, MetricRow]
    task: TaskRow | None
    indicators: list[IndicatorEntry]

    @property
    def id(self) -> str:
        return str(self.spec["id"])

    @property
    def primary_row(self) -> MetricRow | None:
        return self.rows.get(self.task.primary_metric) if self.task else None


@dataclass(frozen=True)
class TasksSummary:
    """What `summarize_tasks` found, in suite order."""

    tasks: list[TaskSummary]
    seed: int

    def task_rows(self) -> list[dict[str, Any]]:
        return [t.task.to_dict() for t in self.tasks if t.task is not None]

    def indicator_rows(self) -> list[dict[str, Any]]:
        return [i.to_dict() for t in self.tasks for i in t.indicators]

    def primary_scores(self) -> list[float]:
        """Each task's primary value as a higher-is-better score (`unit_score`), finite only."""
        scores = []
        for t in self.tasks:
            row = t.primary_row
            score = None if row is None else unit_score(row.value, row.direction)
            if score is not None:
                scores.append(score)
        return scores

    def mean_primary_score(self) -> float | None:
        """The mean of `primary_scores()`, None when there is none."""
        scores = self.primary_scores()
        return sum(scores) / len(scores) if scores else None


MetricsFor = Mapping[str, "MetricDef"] | Callable[[Mapping[str, Any]], Mapping[str, "MetricDef"]]
PrimaryFor = str | Mapping[str, str] | Callable[[Mapping[str, Any], Mapping[str, MetricRow]], str]
IndicatorsFor = Callable[[Mapping[str, Any], "MetricDef", MetricRow], "IndicatorEntry | None"]


def summarize_tasks(
    suite: Mapping[str, Any],
    config: Mapping[str, Any],
    records: Sequence[dict[str, Any]],
    *,
    metrics: MetricsFor,
    primary: PrimaryFor,
    n_resamples: int = 1000,
    seed: int | None = None,
    default_dimension: str = "general",
    default_language: str = "en",
    task_fields: Callable[[Mapping[str, Any], list[dict[str, Any]]], dict[str, Any]] | None = None,
    indicator: IndicatorsFor | None = None,
) -> TasksSummary:
    """The loop most standards' `summarize()` share.

    For each task of `suite` (the stored suite spec dict) that has records: the metric row of
    every metric in `metrics` (the standard's catalogue, or a function of the task spec giving
    its metrics in report order) that some record scores (`record["scores"][name]`), with a
    bootstrap CI seeded by `seed` (default: the run's seed, `seed_of(config)`); rows whose
    value is not finite are left out. The task row names the `primary` metric (one name, a
    map task type -> name, or a function (spec, rows) -> name); when that metric has no row,
    the first row is primary. `task_fields(spec, records)` adds or overrides task row fields
    (e.g. `{"type": ...}`). Each row also becomes an indicator entry scoped to the task id
    (`IndicatorEntry.from_metric(mdef, row, task_id)`), or whatever `indicator(spec, mdef,
    row)` returns (None leaves it out).
    """
    from pingce.core.store import records_by_task

    seed = seed_of(config) if seed is None else seed
    by_task = records_by_task(records)
    found: list[TaskSummary] = []
    for spec in suite["tasks"]:
        recs = by_task.get(spec["id"], [])
        if not recs:
            continue
        catalogue = metrics(spec) if callable(metrics) else metrics
        rows: dict[str, MetricRow] = {}
        defs: dict[str, MetricDef] = {}
        for name, mdef in catalogue.items():
            items = [r["scores"][name] for r in recs if name in r["scores"]]
            if not items:
                continue
            row = MetricRow.from_items(mdef, items, seed=seed, n_resamples=n_resamples)
            if row.finite:
                rows[name] = row
                defs[name] = mdef
        if not rows:
            found.append(TaskSummary(spec, recs, rows, None, []))
            continue
        chosen = _primary(primary, spec, rows)
        if chosen not in rows:
            chosen = next(iter(rows))
        extra = task_fields(spec, recs) if task_fields else {}
        task = TaskRow.of(
            spec,
            len(recs),
            chosen,
            rows,
            default_dimension=default_dimension,
            default_language=default_language,
            **extra,
        )
        entries: list[IndicatorEntry] = []
        for name, row in rows.items():
            entry = (
                indicator(spec, defs[name], row)
                if indicator
                else IndicatorEntry.from_metric(defs[name], row, str(spec["id"]))
            )
            if entry is not None:
                entries.append(entry)
        found.append(TaskSummary(spec, recs, rows, task, entries))
    return TasksSummary(found, seed)


def _primary(primary: PrimaryFor, spec: Mapping[str, Any], rows: Mapping[str, MetricRow]) -> str:
    if isinstance(primary, str):
        return primary
    if callable(primary):
        return primary(spec, rows)
    return primary.get(str(spec.get("type")), "")
