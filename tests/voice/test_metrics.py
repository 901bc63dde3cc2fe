"""Voice metrics against hand-computed cases and independent references (scikit-learn).

Hand cases use bona fide scores [1, 3, 5] and spoof scores [0, 2, 4]. Sorted, the trials are
0s 1b 2s 3b 4s 5b; rejecting the first i trials gives (Pmiss, Pfa):
i=0 (0, 1), 1 (0, 2/3), 2 (1/3, 2/3), 3 (1/3, 1/3), 4 (2/3, 1/3), 5 (2/3, 0), 6 (1, 0).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import f1_score

from pingce.voice import metrics as vm
from pingce.voice.add_metrics import frame_labels, macro_f1, segment_scores

BONA = [1.0, 3.0, 5.0]
SPOOF = [0.0, 2.0, 4.0]


def test_det_curve_hand_case() -> None:
    pmiss, pfa, thr = vm.det_curve(BONA, SPOOF)
    assert np.allclose(pmiss, [0, 0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1])
    assert np.allclose(pfa, [1, 2 / 3, 2 / 3, 1 / 3, 1 / 3, 0, 0])
    assert thr[0] == pytest.approx(-0.001) and list(thr[1:]) == [0, 1, 2, 3, 4, 5]


def test_eer_hand_cases_match_asvspoof_reference_semantics() -> None:
    # |Pmiss - Pfa| is 0 first at i=3: EER 1/3 at the score 2 (ASVspoof compute_eer)
    assert vm.eer(BONA, SPOOF) == pytest.approx((1 / 3, 2.0))
    assert vm.eer([3, 2], [1, 0]) == (0.0, 1.0)  # separable: 0 at the top spoof score
    # the reference step curve gives a perfectly reversed system EER 1 (not 0.5)
    assert vm.eer([1, 0], [3, 2])[0] == 1.0
    # an uneven case: bona [2, 4], spoof [1, 3, 5]; sorted 1s 2b 3s 4b 5s
    # i=0 (0,1) i=1 (0,2/3) i=2 (1/2,2/3) i=3 (1/2,1/3) ... min |diff| = 1/6 at i=2 and i=3,
    # argmin takes the first: EER = (1/2 + 2/3) / 2 = 7/12 at threshold 2
    assert vm.eer([2, 4], [1, 3, 5]) == pytest.approx((7 / 12, 2.0))


def test_min_and_actual_dcf_hand_cases() -> None:
    # w_miss = 1 * 0.95, w_fa = 10 * 0.05 = 0.5, normaliser 0.5; the minimum is at i=1:
    # 0.5 * 2/3 / 0.5 = 2/3, threshold 0
    assert vm.min_dcf(BONA, SPOOF) == pytest.approx((2 / 3, 0.0))
    # actDCF threshold -ln(0.95 / 0.5) = -0.6419: no bona fide below, every spoof above
    val, thr = vm.act_dcf(BONA, SPOOF)
    assert thr == pytest.approx(-math.log(1.9))
    assert val == pytest.approx(1.0)
    # shifted down by 2.5: bona [-1.5, .5, 2.5] -> 1/3 missed; spoof [-2.5, -.5, 1.5] -> 2/3 pass
    val, _ = vm.act_dcf(np.array(BONA) - 2.5, np.array(SPOOF) - 2.5)
    assert val == pytest.approx((0.95 / 3 + 0.5 * 2 / 3) / 0.5)


def test_cllr_hand_cases() -> None:
    assert vm.cllr([0.0, 0.0], [0.0]) == pytest.approx(1.0)  # uninformative LLR: 1 bit
    ln3 = math.log(3)
    assert vm.cllr([ln3], [-ln3]) == pytest.approx(math.log2(4 / 3))
    assert vm.cllr([1000.0], [-1000.0]) == pytest.approx(0.0)  # no overflow


def test_min_cllr_matches_sklearn_isotonic_regression() -> None:
    rng = np.random.default_rng(3)
    bona = rng.normal(1, 1, 60).round(1)  # rounding makes ties, which PAV must pool
    spoof = rng.normal(-0.5, 1.2, 90).round(1)
    x = np.concatenate([bona, spoof])
    y = np.concatenate([np.ones(bona.size), np.zeros(spoof.size)])
    post = IsotonicRegression(out_of_bounds="clip").fit(x, y).predict(x)
    with np.errstate(divide="ignore"):
        llr = np.log(post) - np.log1p(-post) - math.log(bona.size / spoof.size)
    expected = vm.cllr(llr[: bona.size], llr[bona.size :])
    assert vm.min_cllr(bona, spoof) == pytest.approx(expected, abs=1e-12)
    assert vm.min_cllr(bona, spoof) <= vm.cllr(bona, spoof)
    assert vm.min_cllr([3, 2], [1, 0]) == pytest.approx(0.0)


def test_pav_matches_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(50)
    w = rng.random(50) + 0.1
    ref = IsotonicRegression().fit(np.arange(50), y, sample_weight=w).predict(np.arange(50))
    assert np.allclose(vm.pav(y, w), ref)


def test_rocch_eer_hand_case() -> None:
    # PAV of labels 0 1 0 1 0 1 -> 0 | .5 .5 .5 .5 | 1: hull (Pmiss, Pfa) = (0,1) (0,2/3)
    # (2/3,0) (1,0); the middle edge is Pmiss + Pfa = 2/3, crossing the diagonal at 1/3
    pmiss, pfa = vm.rocch(BONA, SPOOF)
    assert np.allclose(pmiss, [0, 0, 2 / 3, 1]) and np.allclose(pfa, [1, 2 / 3, 0, 0])
    assert vm.eer_rocch(BONA, SPOOF) == pytest.approx(1 / 3)
    assert vm.eer_rocch([1, 0], [3, 2]) == pytest.approx(0.5)  # reversed: hull is the diagonal


def test_min_tdcf_2019_and_2021_hand_cases() -> None:
    asv = vm.AsvRates(pfa=0.05, pmiss=0.1, pmiss_spoof=0.5)
    # 2019: C1 = .9405 * (1 - .1) - .0095 * 10 * .05 = .8417, C2 = 10 * .05 * .5 = .25;
    # at i=1 (Pmiss 0, Pfa 2/3): .25 * 2/3 / min(C1, C2) = 2/3 (the minimum)
    assert vm.min_tdcf(BONA, SPOOF, asv, "2019") == pytest.approx((2 / 3, 0.0))
    # 2021: C0 = .9405 * .1 + .0095 * 10 * .05 = .0988, C1 = .9405 - C0 = .8417, C2 = .25;
    # at i=1: (C0 + .25 * 2/3) / (C0 + .25) = .26547 / .3488
    value, _ = vm.min_tdcf(BONA, SPOOF, asv, "2021")
    assert value == pytest.approx((0.0988 + 0.25 * 2 / 3) / (0.0988 + 0.25), rel=1e-9)
    with pytest.raises(ValueError):
        vm.min_tdcf(BONA, SPOOF, asv, "2020")


def test_reversed_convention_is_detected_not_flipped() -> None:
    rev, e, e_neg = vm.reversed_convention([0, 1, 2], [5, 6, 7])
    assert rev and e == 1.0 and e_neg == 0.0
    assert not vm.reversed_convention(BONA, SPOOF)[0]


def test_det_points_are_probit_safe() -> None:
    x, y = vm.det_points([3, 2], [1, 0])
    assert min(x + y) >= 1e-4 and max(x + y) <= 1 - 1e-4


def test_macro_f1_matches_sklearn() -> None:
    rng = np.random.default_rng(1)
    classes = ["A01", "A02", "A03", "A04"]
    true = list(rng.choice(classes, 80))
    pred = list(rng.choice(classes[:3] + ["A09"], 80))  # one class never predicted, one unseen
    assert macro_f1(true, pred) == pytest.approx(
        f1_score(true, pred, average="macro", zero_division=0)
    )


def test_segment_f1_hand_case() -> None:
    # 1 s utterance, fake 0.2-0.5 s; prediction fake 0.3-0.7 s; 10 ms frames:
    # ref 30 fake frames, hyp 40, overlap 20 -> P = .5, R = 2/3, F1 = 4/7
    ref = {"u1": [(0.2, 0.5, "fake")], "u2": []}
    hyp = {"u1": [(0.3, 0.7, "fake")], "u2": [(0.0, 0.1, "fake")]}
    out = segment_scores(ref, hyp, {"u1": 1.0, "u2": 1.0})
    # u2 adds 10 false-alarm frames: P = 20/50, R = 20/30, F1 = 2PR/(P+R) = 1/2
    assert out["precision"] == pytest.approx(0.4) and out["recall"] == pytest.approx(2 / 3)
    assert out["f1"] == pytest.approx(0.5)
    assert out["sentence_accuracy"] == pytest.approx(0.5)  # u2 wrongly called fake
    assert out["add2023_score"] == pytest.approx(0.3 * 0.5 + 0.7 * 0.5)
    assert frame_labels([(0.2, 0.5, "fake")], 1.0).sum() == 30
