"""Corpus sampling rules of the method (training-data security): a seeded random sample
stratified by source, the pass rate of the checked sample against its threshold, and the
sources whose harmful share exceeds the blacklist threshold.

Stratification is proportional (largest-remainder rounding), so each source's share of the
sample equals its share of the corpus up to one document, and every source with documents
gets at least one draw when the sample is at least as large as the number of sources.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from pingce.safety.rates import Rate


def allocate(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Proportional allocation of `n` draws over strata of `sizes` (largest remainder)."""
    total = sum(sizes.values())
    n = min(n, total)
    if total == 0 or n == 0:
        return {k: 0 for k in sizes}
    quotas = {k: n * s / total for k, s in sizes.items()}
    out = {k: math.floor(q) for k, q in quotas.items()}
    if n >= len([s for s in sizes.values() if s]):  # every non-empty source gets one draw
        for k, s in sizes.items():
            if s and out[k] == 0:
                out[k] = 1
    rest = n - sum(out.values())
    order = sorted(sizes, key=lambda k: (-(quotas[k] - math.floor(quotas[k])), k))
    i = 0
    while rest > 0 and order:
        k = order[i % len(order)]
        if out[k] < sizes[k]:
            out[k] += 1
            rest -= 1
        i += 1
    while rest < 0:  # the one-per-source floor overshot: take back from the largest quotas
        k = max((k for k in out if out[k] > 1), key=lambda k: out[k] - quotas[k])
        out[k] -= 1
        rest += 1
    return out


def stratified_sample(sources: Sequence[str], n: int, seed: int) -> list[int]:
    """Indices of a seeded sample of `n` documents, stratified by each document's source."""
    by_source: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(sources):
        by_source[s].append(i)
    quota = allocate({k: len(v) for k, v in by_source.items()}, n)
    rng = random.Random(seed)
    picked: list[int] = []
    for source in sorted(by_source):
        picked.extend(rng.sample(by_source[source], quota[source]))
    return sorted(picked)


@dataclass(frozen=True)
class SourceShare:
    source: str
    harmful: Rate
    blacklisted: bool


def source_shares(sources: Sequence[str], harmful: Sequence[bool], threshold: float) -> list[SourceShare]:  # fmt: skip
    """Each source's harmful share in the checked sample; blacklisted when it exceeds
    `threshold` (e.g. 0.05)."""
    n = Counter(sources)
    k = Counter(s for s, h in zip(sources, harmful, strict=True) if h)
    out = []
    for source in sorted(n):
        r = Rate(k[source], n[source])
        out.append(SourceShare(source, r, (r.value or 0.0) > threshold))
    return out
