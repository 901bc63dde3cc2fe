"""What a failed sample is: each score's own direction and pass threshold, per standard.

A sample (a stored record, or a report's sample row) fails when one of its scores is a finite
number on the failing side of a `FailRule`. A standard declares its rules with an optional
`failure_rules()` method; without one, the rules come from the registered metrics
(`metric_rule`):

- a metric with its own `sample_pass` fails below it (direction "higher") or above it
  ("lower");
- otherwise "higher" fails at 0 or less (a 0/1 metric's wrong answer: the llm rule), "lower"
  fails at its full scale or more (a 0/1 metric's 1, a rate of 1: every triple hallucinated);
  an unbounded "lower" metric (scale 0) never fails by itself;
- a corpus metric (one with a `statistic`) stores ingredients per sample, not a score, and
  no rule; neither do score keys that are no registered metric.

The same rules give the dashboard's SQL filter (`failed_sql`) and the Python check
(`sample_failed`), so the "failures only" page, the red marks and the report file agree.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pingce.core.metric import MetricDef

Op = Literal["<", "<=", ">", ">="]
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class FailRule:
    """A sample fails when its score `score` is a finite number and `value OP limit` holds."""

    score: str
    op: Op
    limit: float

    def failed(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return math.isfinite(value) and _OPS[self.op](float(value), self.limit)


def metric_rule(metric: MetricDef) -> FailRule | None:
    """The failure rule a metric implies (see the module docstring), or None."""
    if metric.sample_pass is not None:
        op: Op = "<" if metric.direction == "higher" else ">"
        return FailRule(metric.name, op, float(metric.sample_pass))
    if metric.statistic is not None:
        return None
    if metric.direction == "higher":
        return FailRule(metric.name, "<=", 0.0)
    full = 1.0 if metric.binary else metric.scale
    return FailRule(metric.name, ">=", float(full)) if full > 0 else None


def registered_rules() -> tuple[FailRule, ...]:
    """Rules of every registered metric (metric names are global across standards)."""
    from pingce.core.registry import metrics

    rules = (metric_rule(m) for _, m in metrics.items())  # items() loads the plugins
    return tuple(r for r in rules if r is not None)


def standard_rules(standard_id: str | None) -> tuple[FailRule, ...]:
    """The standard's declared `failure_rules()`, or the registered metrics' rules."""
    from pingce.core.registry import standards

    standard = standards.get(standard_id) if standard_id and standard_id in standards else None
    declared = getattr(standard, "failure_rules", None)
    return tuple(declared()) if callable(declared) else registered_rules()


def sample_failed(scores: Mapping[str, Any], rules: Iterable[FailRule]) -> bool:
    """True when some rule's score is on its failing side."""
    return any(rule.score in scores and rule.failed(scores[rule.score]) for rule in rules)


def failed_sql(dialect: str, rules: Sequence[FailRule]) -> tuple[str, dict[str, Any]] | None:
    """A SQL condition on `records.scores` (JSON) true for failed samples, with its bound
    parameters; None when the dialect has no JSON functions we use. Rules sharing an
    operator and limit share one `key IN (...)` group."""
    if dialect not in ("sqlite", "postgresql"):
        return None
    groups: dict[tuple[str, float], list[str]] = {}
    for rule in rules:
        groups.setdefault((rule.op, rule.limit), []).append(rule.score)
    if not groups:
        return "1 = 0", {}
    if dialect == "sqlite":
        number = "(CASE WHEN e.type IN ('integer', 'real') THEN e.value END)"
    else:  # a JSON number's text is a valid float8 literal
        number = "(CASE WHEN json_typeof(e.value) = 'number' THEN (e.value::text)::float8 END)"
    params: dict[str, Any] = {}
    clauses = []
    for g, ((op, limit), keys) in enumerate(sorted(groups.items())):
        names = []
        for i, key in enumerate(keys):
            params[f"fk{g}_{i}"] = key
            names.append(f":fk{g}_{i}")
        params[f"fl{g}"] = limit
        clauses.append(f"(e.key IN ({', '.join(names)}) AND {number} {op} :fl{g})")
    where = " OR ".join(clauses)
    return f"EXISTS (SELECT 1 FROM json_each(records.scores) AS e WHERE {where})", params
