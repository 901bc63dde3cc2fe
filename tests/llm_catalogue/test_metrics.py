"""Catalogue metrics against independent references.

- pass@k: the numerically stable numpy formula printed in the HumanEval paper (Chen et al.
  2021, Figure 3) and the brute-force probability over all k-subsets for small n.
- MATH equivalence: sympy itself (`simplify(a - b) == 0` on hand-written sympy expressions)
  and hand-decided pairs.
- Calibration: `sklearn.calibration.calibration_curve` (uniform bins) for the bins of the
  equal-width ECE; hand-computed ECE, Brier and selective accuracy on small cases.
- MC2: lm-evaluation-harness's `process_results_mc2`.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from pingce.llm import calibration as cal
from pingce.llm.math_equiv import is_equiv
from pingce.llm.pass_at_k import mean_pass_at_k, pass_at_k
from pingce.llm.tasks.mc2 import mc2_score


def paper_pass_at_k(n: int, c: int, k: int) -> float:
    """Chen et al. (2021), Figure 3: numerically stable unbiased estimator."""
    if n - c < k:
        return 1.0
    return 1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1))


def test_pass_at_k_matches_the_paper_formula() -> None:
    for n in (1, 2, 5, 10, 20, 100, 200):
        for c in range(0, n + 1, max(1, n // 7)):
            for k in (1, 2, 5, 10, 100):
                if k <= n:
                    assert pass_at_k(n, c, k) == pytest.approx(paper_pass_at_k(n, c, k), abs=1e-12)


def test_pass_at_k_is_the_subset_probability() -> None:
    # Brute force: the share of k-subsets of the n samples that contain a passing one.
    n, c = 6, 2
    samples = [True] * c + [False] * (n - c)
    for k in (1, 2, 3):
        subsets = list(itertools.combinations(samples, k))
        assert pass_at_k(n, c, k) == pytest.approx(sum(any(s) for s in subsets) / len(subsets))
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)  # pass@1 is c/n
    assert mean_pass_at_k([(10, 3), (10, 0)], 1) == pytest.approx(0.15)


@pytest.mark.parametrize(
    ("pred", "ref", "expected"),
    [
        ("\\frac{1}{2}", "0.5", True),
        ("\\dfrac{\\sqrt{3}}{2}", "\\frac{\\sqrt3}{2}", True),
        ("2\\pi", "\\pi \\cdot 2", True),
        ("3\\sqrt{2}", "\\sqrt{18}", True),
        ("x^2+2x+1", "(x+1)^2", True),
        ("x = 5", "5", True),
        ("10\\%", "10", True),
        ("90^\\circ", "90", True),
        ("(1, 2)", "(1,2)", True),
        ("[2, \\infty)", "[2,\\infty)", True),
        ("\\frac{2}{4}", "\\frac12", True),
        ("\\frac{1}{3}", "0.33", False),
        ("(1,2)", "[1,2]", False),
        ("2, 3", "3, 2", False),
        ("5", "6", False),
        ("[invalid]", "5", False),
    ],
)
def test_math_equivalence_by_hand(pred: str, ref: str, expected: bool) -> None:
    assert is_equiv(pred, ref) is expected


def test_math_equivalence_agrees_with_sympy() -> None:
    sympy = pytest.importorskip("sympy")
    x = sympy.Symbol("x")
    pairs = [
        ("\\frac{x^2-1}{x-1}", x + 1),
        ("\\sqrt{8}", 2 * sympy.sqrt(2)),
        ("\\frac{\\pi}{6}", sympy.pi / 6),
        ("2^{10}", 1024),
        ("\\frac{7}{3}", sympy.Rational(14, 6)),
    ]
    for latex, expr in pairs:
        reference = sympy.latex(expr)  # sympy's own rendering of the same value
        assert is_equiv(latex, reference), (latex, reference)
    assert not is_equiv("\\frac{x^2-1}{x+1}", sympy.latex(x + 1))


def _sk_ece(conf: np.ndarray, correct: np.ndarray, n_bins: int) -> float:
    calib = pytest.importorskip("sklearn.calibration")
    prob_true, prob_pred = calib.calibration_curve(correct, conf, n_bins=n_bins, strategy="uniform")
    ids = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], conf)
    counts = np.bincount(ids, minlength=n_bins)
    counts = counts[counts > 0]
    return float(np.sum(counts / len(conf) * np.abs(prob_true - prob_pred)))


def test_ece_matches_sklearn_calibration_curve() -> None:
    rng = np.random.default_rng(11)
    for _ in range(30):
        conf = rng.uniform(0.2, 1.0, size=200)
        conf[:5] = [0.3, 0.5, 0.7, 0.9, 1.0]  # values on bin edges
        correct = (rng.uniform(size=200) < conf**1.5).astype(float)
        assert cal.ece_equal_width(conf, correct, 10) == pytest.approx(
            _sk_ece(conf, correct, 10), abs=1e-12
        )


def test_calibration_by_hand() -> None:
    conf = [0.9, 0.9, 0.6, 0.6]
    correct = [1.0, 0.0, 1.0, 1.0]
    # Bins: {0.9, 0.9} acc 0.5 conf 0.9 -> 0.4; {0.6, 0.6} acc 1 conf 0.6 -> 0.4; ECE 0.4.
    assert cal.ece_equal_width(conf, correct, 10) == pytest.approx(0.4)
    # Adaptive with 2 bins: sorted [0.6, 0.6 | 0.9, 0.9], the same two groups.
    assert cal.ece_adaptive(conf, correct, 2) == pytest.approx(0.4)
    # Brier: (0.9-1)^2 + 0.1^2 = 0.02 for a right answer at 0.9/0.1; (0.1-1)^2+(0.9)^2 = 1.62.
    assert cal.brier([[0.9, 0.1], [0.9, 0.1]], [0, 1]) == pytest.approx((0.02 + 1.62) / 2)
    # Selective: top-50% most confident are the two 0.9s (one right).
    assert cal.selective_accuracy(conf, correct, 0.5) == pytest.approx(0.5)
    assert cal.selective_accuracy(conf, correct, 1.0) == pytest.approx(0.75)
    probs = cal.choice_probabilities([math.log(3.0), 0.0])
    assert probs == pytest.approx([0.75, 0.25])


def test_mc2_matches_lm_eval() -> None:
    utils = pytest.importorskip("lm_eval.tasks.truthfulqa.utils")
    rng = np.random.default_rng(2)
    for _ in range(20):
        n_true = int(rng.integers(1, 4))
        n = n_true + int(rng.integers(1, 4))
        lls = list(rng.normal(-20, 5, size=n))
        labels = [1] * n_true + [0] * (n - n_true)
        ref = utils.process_results_mc2(
            {"mc2_targets": {"labels": labels}}, [(ll, False) for ll in lls]
        )
        assert mc2_score(lls, labels) == pytest.approx(ref["acc"], rel=1e-9)
