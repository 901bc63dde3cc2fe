"""pass@k for code generation: the unbiased estimator of Chen et al. (2021), "Evaluating Large
Language Models Trained on Code", section 2.1.

With n samples of which c pass, pass@k = 1 - C(n - c, k) / C(n, k): the probability that at
least one of k samples drawn without replacement from the n passes. Averaged over problems.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb

from pingce.core.errors import SpecError


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimate for one problem (exact integer binomials, no overflow)."""
    if not 0 <= c <= n:
        raise ValueError(f"passing samples c={c} must lie in [0, n={n}]")
    if k < 1 or k > n:
        raise SpecError(f"pass@{k} needs at least {k} samples per problem, got n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def mean_pass_at_k(results: Sequence[tuple[int, int]], k: int) -> float:
    """pass@k averaged over problems given (n, c) per problem."""
    if not results:
        raise ValueError("no problems")
    return sum(pass_at_k(n, c, k) for n, c in results) / len(results)
