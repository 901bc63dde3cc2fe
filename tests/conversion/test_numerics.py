"""Numerical-consistency metrics against independent references (numpy, scipy, scikit-learn)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.distance import cosine as scipy_cosine_distance
from scipy.special import softmax
from scipy.stats import entropy
from sklearn.metrics import mean_squared_error

from pingce.conversion import numerics as nm


def test_compare_output_matches_references() -> None:
    rng = np.random.default_rng(0)
    s = rng.normal(size=10).astype(np.float32)
    t = s + rng.normal(scale=1e-3, size=10).astype(np.float32)
    st = nm.compare_output(s, t, rtol=1e-5, atol=1e-5, topk=3)
    s64, t64 = s.astype(np.float64), t.astype(np.float64)
    assert st["max_abs"] == pytest.approx(np.max(np.abs(t64 - s64)))
    assert st["max_rel"] == pytest.approx(np.max(np.abs(t64 - s64) / np.abs(s64)))
    # RMSE: scikit-learn; cosine: scipy; KL: scipy.stats.entropy(p, q) in nats
    assert math.sqrt(st["sse"] / st["n"]) == pytest.approx(math.sqrt(mean_squared_error(s64, t64)))
    assert st["cosine"] == pytest.approx(1 - scipy_cosine_distance(s64, t64))
    assert st["kl"] == pytest.approx(entropy(softmax(s64), softmax(t64)), rel=1e-9)
    assert st["allclose"] == 0  # 1e-3 noise exceeds 1e-5 tolerances
    assert nm.compare_output(s, t, rtol=1e-2, atol=1e-2)["allclose"] == 1


def test_elementwise_rule_is_abs_or_rel() -> None:
    # Hand-computed: element 0 fails abs (0.5 > 0.1) but passes rel (0.5/100 = 0.005 <= 0.01);
    # element 1 fails rel (0.05/0.01 = 5) but passes abs (0.05 <= 0.1).
    s = np.array([100.0, 0.01])
    t = np.array([100.5, 0.06])
    assert nm.compare_output(s, t, rtol=0.01, atol=0.1)["allclose"] == 1
    assert nm.compare_output(s, t, rtol=0.001, atol=0.01)["allclose"] == 0


def test_zero_reference_gets_polygraphy_epsilon() -> None:
    st = nm.compare_output(np.array([0.0, 1.0]), np.array([1e-20, 1.0]), rtol=1e-5, atol=1e-5)
    assert st["max_rel"] == pytest.approx(1e-20 / nm.EPSILON)


def test_topk_and_dataset_statistics() -> None:
    s = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    t = np.array([4.0, 5.0, 1.0, 2.0, 3.0])  # top-1 differs; top-3 sets {0,1,2} vs {0,1,4}
    st = nm.compare_output(s, t, rtol=1e-5, atol=1e-5, topk=3)
    assert st["top1"] == 0
    assert st["topk"] == pytest.approx(2 / 3)
    # pooled statistics: hand-computed
    assert nm.stat_ratio([[1.0, 2.0], [3.0, 2.0]]) == 1.0
    assert nm.stat_sqrt_ratio([[8.0, 1.0], [10.0, 1.0]]) == 3.0
    assert nm.stat_mean_delta([[1, 0], [1, 1]]) == -0.5
    assert nm.stat_max([0.1, 0.3, 0.2]) == 0.3


def test_shape_mismatch_fails_without_crashing() -> None:
    st = nm.compare_output(np.zeros(3), np.zeros(4), rtol=1e-5, atol=1e-5)
    assert st["allclose"] == 0 and "shape_mismatch" in st
    assert nm.combine_outputs({"y": st})["allclose"] == 0
