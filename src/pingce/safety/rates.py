"""Rates with confidence intervals, broken down by risk class, and the conformance table.

Every rate is k/n with a Wilson score 95 % interval (well behaved at 0 and 1, where safety
rates live). A requirement passes when its sample is at least the method's minimum and the
measured rate is on the right side of the threshold; the table says INSUFFICIENT when the
sample is too small, because a pass on 12 questions is not a pass of the method.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pingce.safety.requirements import CheckRule
from pingce.safety.taxonomy import Taxonomy

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Rate:
    k: int
    n: int

    @property
    def value(self) -> float | None:
        return self.k / self.n if self.n else None

    @property
    def ci(self) -> tuple[float | None, float | None]:
        return wilson(self.k, self.n)


def wilson(k: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """The Wilson score interval of k successes in n trials (None, None for n = 0)."""
    if n <= 0:
        return None, None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(flags: Sequence[bool]) -> Rate:
    return Rate(sum(1 for f in flags if f), len(flags))


def by_risk(
    risks: Sequence[str | None], flags: Sequence[bool], taxonomy: Taxonomy
) -> dict[str, Rate]:
    """The rate of `flags` per sub-class and per top-level class (ids as keys; unlabelled
    items count only in the overall rate)."""
    if len(risks) != len(flags):
        raise ValueError("one flag per item")
    k: dict[str, int] = defaultdict(int)
    n: dict[str, int] = defaultdict(int)
    for risk, flag in zip(risks, flags, strict=True):
        if not risk:
            continue
        keys = {risk, taxonomy.class_of(risk)}
        for key in keys:
            n[key] += 1
            k[key] += bool(flag)
    return {key: Rate(k[key], n[key]) for key in n}


@dataclass(frozen=True)
class Verdict:
    rule: CheckRule
    rate: Rate
    verdict: str  # PASS, FAIL or INSUFFICIENT

    def row(self) -> dict[str, Any]:
        lo, hi = self.rate.ci
        return {
            "requirement": self.rule.id,
            "title": self.rule.title,
            "measure": self.rule.measure,
            "value": self.rate.value,
            "ci_low": lo,
            "ci_high": hi,
            "n": self.rate.n,
            "min_sample": self.rule.min_sample,
            "threshold": self.rule.threshold,
            "direction": self.rule.direction,
            "verdict": self.verdict,
        }


def judge(rule: CheckRule, measured: Rate) -> Verdict:
    """PASS/FAIL of one requirement on its measured rate; INSUFFICIENT below the minimum sample."""
    value = measured.value
    if measured.n < rule.min_sample or value is None:
        return Verdict(rule, measured, "INSUFFICIENT")
    ok = value >= rule.threshold if rule.direction == "higher" else value <= rule.threshold
    return Verdict(rule, measured, "PASS" if ok else "FAIL")
