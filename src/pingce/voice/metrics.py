"""Countermeasure (spoofing-detector) metrics with their published definitions.

Convention: higher scores mean "more bona fide". A miss is a bona fide trial rejected
(score < threshold); a false alarm is a spoof trial accepted (score >= threshold).

- `det_curve`, `eer`: the ASVspoof reference (2019, 2021 and ASVspoof 5 evaluation packages,
  `compute_det_curve` / `compute_eer`): the empirical step curve over every sorted score
  (stable sort, bona fide first among ties), EER = mean(Pmiss, Pfa) at the point where
  |Pmiss - Pfa| is smallest, threshold = the score there.
- `eer_rocch`: EER on the ROC convex hull (BOSARIS `rocch2eer`), the interpolation-free
  alternative; never above the step-curve EER by more than the step size.
- `min_dcf` / `act_dcf`: ASVspoof 5 normalised DCF, Pspoof 0.05, Cmiss 1, Cfa 10.
  DCF(t) = Cmiss (1-Pspoof) Pmiss(t) + Cfa Pspoof Pfa(t), normalised by
  min(Cmiss (1-Pspoof), Cfa Pspoof). minDCF: over every threshold of the DET curve;
  actDCF: at t = -ln(beta), beta = Cmiss (1-Pspoof) / (Cfa Pspoof), the Bayes threshold
  for scores that are calibrated log-likelihood ratios.
- `cllr`: 0.5 [mean log2(1 + e^-s) over bona fide + mean log2(1 + e^s) over spoof], bits.
- `min_cllr`: Cllr after the optimal monotone calibration (PAV / isotonic regression of the
  class labels on the scores, converted to LLRs by removing the empirical prior odds).
- `min_tdcf`: tandem DCF of a CM in front of a fixed ASV system, in the ASVspoof 2019
  formulation (C1 Pmiss + C2 Pfa, normalised by min(C1, C2)) or the revised ASVspoof 2021
  one (C0 + C1 Pmiss + C2 Pfa, normalised by C0 + min(C1, C2); Kinnunen et al. 2020).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

P_SPOOF = 0.05
C_MISS = 1.0
C_FA = 10.0


def _arr(x: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=float).ravel()


def det_curve(bona: Any, spoof: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Pmiss, Pfa, thresholds): the ASVspoof reference step curve, n_bona + n_spoof + 1 points.

    Point i uses threshold = the i-th sorted score: trials below it are rejected. Point 0 sits
    just below the smallest score (nothing rejected: Pmiss 0, Pfa 1).
    """
    bona, spoof = _arr(bona), _arr(spoof)
    scores = np.concatenate([bona, spoof])
    labels = np.concatenate([np.ones(bona.size), np.zeros(spoof.size)])
    order = np.argsort(scores, kind="mergesort")
    labels = labels[order]
    bona_below = np.cumsum(labels)
    spoof_above = spoof.size - (np.arange(1, scores.size + 1) - bona_below)
    pmiss = np.concatenate([[0.0], bona_below / bona.size])
    pfa = np.concatenate([[1.0], spoof_above / spoof.size])
    thresholds = np.concatenate([[scores[order[0]] - 0.001], scores[order]])
    return pmiss, pfa, thresholds


def reference_order(scores: np.ndarray, bona: np.ndarray) -> np.ndarray:
    """Trial order of the reference step curve: ascending score, bona fide first among ties
    (what `det_curve`'s stable sort of [bona fide, spoof] gives)."""
    return np.lexsort((~np.asarray(bona, dtype=bool), np.asarray(scores, dtype=float)))


def weighted_eer_min_dcf(
    bona_sorted: np.ndarray,
    counts: np.ndarray,
    p_spoof: float = P_SPOOF,
    c_miss: float = C_MISS,
    c_fa: float = C_FA,
) -> tuple[float, float]:
    """(EER, normalised minDCF) of a bootstrap resample given as multiplicities.

    `bona_sorted` are the labels in `reference_order`, `counts[j]` how often trial j is in
    the resample. Equals `eer` / `min_dcf` on the expanded resample (same step curve, same
    first-minimum rule; minDCF to rounding) without sorting it again. The copies of one trial
    are adjacent on the curve and Pmiss - Pfa rises by one step at every point, so the EER
    point is where it crosses zero: found by a binary search over the trials' cumulative
    counts, then in closed form inside that trial's run of points. A DCF is linear along a
    run, so minDCF is the smallest DCF at a run's end. NaN when a class has no trial.
    """
    counts = np.asarray(counts, dtype=np.int64)
    wb = counts * bona_sorted
    cb = np.cumsum(wb)  # bona fide trials at or below each trial (its run's end)
    ct = np.cumsum(counts)
    nb, n = int(cb[-1]), int(ct[-1])
    ns = n - nb
    if nb == 0 or ns == 0:
        return math.nan, math.nan
    w_miss, w_fa, norm = _dcf_weights(p_spoof, c_miss, c_fa)
    # DCF at a run end: w_miss cb/nb + w_fa (ns - (ct - cb))/ns
    beta = w_fa / ns
    dcf_ends = cb * (w_miss / nb + beta) - ct * beta
    dcf = (w_fa + min(0.0, float(dcf_ends.min()))) / norm
    # The first run whose end has Pmiss >= Pfa, in integers: cb ns >= (ns - cs) nb.
    crossing = cb * (ns - nb) + ct * nb
    j = int(np.searchsorted(crossing, np.int64(ns * nb), side="left"))
    b_end, t_end, w = int(cb[j]), int(ct[j]), int(counts[j])
    s_end = t_end - b_end
    # The point before run j (the previous run's end, or point 0) ...
    pm0, pf0 = (
        (b_end - (w if bona_sorted[j] else 0)) / nb,
        (ns - (s_end - (0 if bona_sorted[j] else w))) / ns,
    )
    best_d, best_e = abs(pm0 - pf0), (pm0 + pf0) / 2.0
    # ... and the points inside it, around the exact crossing.
    if bona_sorted[j]:
        pf = (ns - s_end) / ns
        first = b_end - w + 1
        base = math.floor(pf * nb)
        cands = [
            (k / nb, pf)
            for k in sorted({min(max(base, first), b_end), min(max(base + 1, first), b_end)})
        ]
    else:
        pm = b_end / nb
        s0 = s_end - w
        base = math.floor((ns - s0) - pm * ns)
        cands = [
            (pm, (ns - s0 - k) / ns)
            for k in sorted({min(max(base, 1), w), min(max(base + 1, 1), w)})
        ]
    for pm_k, pf_k in cands:  # in curve order; the first minimum wins, as in `eer`
        d = abs(pm_k - pf_k)
        if d < best_d:
            best_d, best_e = d, (pm_k + pf_k) / 2.0
    return float(best_e), float(dcf)


def eer(bona: Any, spoof: Any) -> tuple[float, float]:
    """(EER as a fraction, threshold): the ASVspoof reference `compute_eer`."""
    pmiss, pfa, thr = det_curve(bona, spoof)
    i = int(np.argmin(np.abs(pmiss - pfa)))
    return float((pmiss[i] + pfa[i]) / 2.0), float(thr[i])


def eer_and_min_dcf(bona: Any, spoof: Any) -> tuple[float, float, float]:
    """(EER, its threshold, normalised minDCF) from one DET curve: `eer` and `min_dcf`
    without sorting the scores twice."""
    pmiss, pfa, thr = det_curve(bona, spoof)
    i = int(np.argmin(np.abs(pmiss - pfa)))
    w_miss, w_fa, norm = _dcf_weights(P_SPOOF, C_MISS, C_FA)
    cost = w_miss * pmiss + w_fa * pfa
    return float((pmiss[i] + pfa[i]) / 2.0), float(thr[i]), float(cost[int(np.argmin(cost))] / norm)


def _dcf_weights(p_spoof: float, c_miss: float, c_fa: float) -> tuple[float, float, float]:
    w_miss = c_miss * (1.0 - p_spoof)
    w_fa = c_fa * p_spoof
    return w_miss, w_fa, min(w_miss, w_fa)


def min_dcf(
    bona: Any, spoof: Any, p_spoof: float = P_SPOOF, c_miss: float = C_MISS, c_fa: float = C_FA
) -> tuple[float, float]:
    """(normalised minDCF, threshold): ASVspoof 5 `compute_mindcf` over the DET curve."""
    pmiss, pfa, thr = det_curve(bona, spoof)
    w_miss, w_fa, norm = _dcf_weights(p_spoof, c_miss, c_fa)
    cost = w_miss * pmiss + w_fa * pfa
    i = int(np.argmin(cost))  # first minimum, like the reference's strict '<' loop
    return float(cost[i] / norm), float(thr[i])


def act_dcf(
    bona: Any, spoof: Any, p_spoof: float = P_SPOOF, c_miss: float = C_MISS, c_fa: float = C_FA
) -> tuple[float, float]:
    """(normalised actual DCF, threshold -ln beta): the scores taken as LLRs."""
    bona, spoof = _arr(bona), _arr(spoof)
    w_miss, w_fa, norm = _dcf_weights(p_spoof, c_miss, c_fa)
    threshold = -math.log(w_miss / w_fa)
    pmiss = float(np.mean(bona < threshold))
    pfa = float(np.mean(spoof >= threshold))
    return (w_miss * pmiss + w_fa * pfa) / norm, threshold


def cllr(bona: Any, spoof: Any) -> float:
    """Log-likelihood-ratio cost in bits (0 perfect, 1 = an uninformative LLR of 0)."""
    bona, spoof = _arr(bona), _arr(spoof)
    # logaddexp(0, -s) = ln(1 + e^-s) without overflow for large |s|
    c_bona = float(np.mean(np.logaddexp(0.0, -bona)))
    c_spoof = float(np.mean(np.logaddexp(0.0, spoof)))
    return 0.5 * (c_bona + c_spoof) / math.log(2.0)


def pav(y: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Pool-adjacent-violators: the non-decreasing fit to `y` (weighted least squares).

    scikit-learn's compiled isotonic regression when it is installed (the voice extra has
    it; a million trials in milliseconds), else the same algorithm in Python."""
    y = np.asarray(y, dtype=float)
    w = np.ones_like(y) if w is None else np.asarray(w, dtype=float)
    try:
        from sklearn.isotonic import isotonic_regression
    except ImportError:
        return _pav_python(y, w)
    return np.asarray(isotonic_regression(y, sample_weight=w, increasing=True), dtype=float)


def _pav_python(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    means: list[float] = []
    weights: list[float] = []
    counts: list[int] = []
    for yi, wi in zip(y, w, strict=True):
        means.append(float(yi))
        weights.append(float(wi))
        counts.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            m2, w2, c2 = means.pop(), weights.pop(), counts.pop()
            m1, w1, c1 = means.pop(), weights.pop(), counts.pop()
            wt = w1 + w2
            means.append((m1 * w1 + m2 * w2) / wt)
            weights.append(wt)
            counts.append(c1 + c2)
    return np.repeat(means, counts)


def _pav_posteriors(
    bona: np.ndarray, spoof: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted unique scores, their PAV posterior P(bona fide | score), and trial counts.

    Tied scores are pooled first so they always receive the same calibrated value.
    """
    uniq, post, counts, _ = _pav_blocks(bona, spoof)
    return uniq, post, counts


def _pav_blocks(
    bona: np.ndarray, spoof: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`_pav_posteriors` plus each trial's index into the unique scores ([bona, spoof])."""
    scores = np.concatenate([bona, spoof])
    labels = np.concatenate([np.ones(bona.size), np.zeros(spoof.size)])
    uniq, inverse = np.unique(scores, return_inverse=True)
    counts = np.bincount(inverse).astype(float)
    label_mean = np.bincount(inverse, weights=labels) / counts
    return uniq, pav(label_mean, counts), counts, inverse.ravel()


def calibrated_llrs(bona: Any, spoof: Any) -> tuple[np.ndarray, np.ndarray]:
    """Optimally (PAV) calibrated LLRs of the bona fide and spoof trials (may be +-inf)."""
    bona, spoof = _arr(bona), _arr(spoof)
    _, post, _, inverse = _pav_blocks(bona, spoof)
    with np.errstate(divide="ignore"):
        log_odds = np.log(post) - np.log1p(-post)
    llr = log_odds - math.log(bona.size / spoof.size)
    return llr[inverse[: bona.size]], llr[inverse[bona.size :]]


def min_cllr(bona: Any, spoof: Any) -> float:
    """Cllr of the PAV-calibrated scores: the discrimination part of Cllr, in bits."""
    lb, ls = calibrated_llrs(bona, spoof)
    # A bona fide trial never gets -inf (its PAV block holds at least one bona fide trial),
    # nor a spoof +inf, so the costs stay finite.
    return cllr(lb, ls)


def rocch(bona: Any, spoof: Any) -> tuple[np.ndarray, np.ndarray]:
    """(Pmiss, Pfa) at the vertices of the ROC convex hull, from the PAV blocks."""
    bona, spoof = _arr(bona), _arr(spoof)
    uniq, post, counts = _pav_posteriors(bona, spoof)
    n_bona_at = post * counts  # expected bona fide count per unique score under the fit
    # Block boundaries: where the PAV value changes (vertices of the hull).
    change = np.flatnonzero(np.diff(post) != 0) + 1
    edges = np.concatenate([[0], change, [post.size]])
    pmiss, pfa = [0.0], [1.0]
    bona_below = spoof_below = 0.0
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        nb = float(np.sum(n_bona_at[a:b]))
        ns = float(np.sum(counts[a:b])) - nb
        bona_below += nb
        spoof_below += ns
        pmiss.append(bona_below / bona.size)
        pfa.append(1.0 - spoof_below / spoof.size)
    return np.array(pmiss), np.array(pfa)


def eer_rocch(bona: Any, spoof: Any) -> float:
    """EER on the ROC convex hull (BOSARIS `rocch2eer`)."""
    pmiss, pfa = rocch(bona, spoof)
    best = 0.0
    for i in range(pmiss.size - 1):
        x = np.array([pfa[i], pfa[i + 1]])
        y = np.array([pmiss[i], pmiss[i + 1]])
        dx, dy = x[0] - x[1], y[0] - y[1]
        if dx == 0 or dy == 0:
            seg = 0.0  # a vertical or horizontal hull edge touches an axis: it bounds nothing
        else:
            # the line a*x + b*y = 1 through both points crosses x = y at 1 / (a + b)
            a, b = np.linalg.solve(np.stack([x, y], axis=1), np.ones(2))
            seg = 1.0 / (a + b)
        best = max(best, seg)
    return float(best)


@dataclass(frozen=True)
class TdcfModel:
    """Priors and costs of the tandem (ASV + CM) system."""

    p_spoof: float = 0.05
    p_tar: float = 0.95 * 0.99
    p_non: float = 0.95 * 0.01
    c_miss_asv: float = 1.0
    c_fa_asv: float = 10.0
    c_miss_cm: float = 1.0
    c_fa_cm: float = 10.0


@dataclass(frozen=True)
class AsvRates:
    """Error rates of the fixed ASV system at its threshold (fractions)."""

    pfa: float  # non-target bona fide accepted
    pmiss: float  # target rejected
    pmiss_spoof: float  # spoof rejected by the ASV (1 - its spoof false-accept rate)


# The ASV operating point the ASVspoof 5 organisers fix for t-DCF (evaluation package).
ASVSPOOF5_ASV = AsvRates(
    pfa=0.01881016557566423, pmiss=0.01880141010575793, pmiss_spoof=1 - 0.4607082907604729
)


def asv_rates(target: Any, nontarget: Any, spoof: Any, threshold: float) -> AsvRates:
    """ASV error rates at `threshold` (accept when score >= threshold)."""
    target, nontarget, spoof = _arr(target), _arr(nontarget), _arr(spoof)
    return AsvRates(
        pfa=float(np.mean(nontarget >= threshold)),
        pmiss=float(np.mean(target < threshold)),
        pmiss_spoof=float(np.mean(spoof < threshold)),
    )


def tdcf_weights(
    asv: AsvRates, formulation: str = "2019", model: TdcfModel | None = None
) -> tuple[float, float, float]:
    """(C0, C1, C2) of the t-DCF for these ASV error rates (C0 = 0 in the 2019 form).

    ValueError when a weight is not positive, as the organisers' scripts stop there: the
    t-DCF is then undefined (e.g. an ASV that misses every target leaves the CM nothing to
    lose by rejecting, C1 <= 0; one that rejects every spoof leaves it nothing to gain, C2 = 0).
    """
    m = model or TdcfModel()
    pfa_spoof_asv = 1.0 - asv.pmiss_spoof
    if formulation == "2019":
        c0 = 0.0
        c1 = m.p_tar * (m.c_miss_cm - m.c_miss_asv * asv.pmiss) - m.p_non * m.c_fa_asv * asv.pfa
        c2 = m.c_fa_cm * m.p_spoof * pfa_spoof_asv
    elif formulation == "2021":
        c0 = m.p_tar * m.c_miss_asv * asv.pmiss + m.p_non * m.c_fa_asv * asv.pfa
        c1 = m.p_tar * m.c_miss_asv - c0
        c2 = m.p_spoof * m.c_fa_cm * pfa_spoof_asv
    else:
        raise ValueError(f"unknown t-DCF formulation {formulation!r} (2019 or 2021)")
    if c0 < 0 or c1 <= 0 or c2 <= 0:
        raise ValueError(
            f"the t-DCF weights are not positive (C1 = {c1:.4g}, C2 = {c2:.4g}) for ASV rates "
            f"Pfa {asv.pfa:g}, Pmiss {asv.pmiss:g}, Pmiss(spoof) {asv.pmiss_spoof:g}"
        )
    return c0, c1, c2


def min_tdcf(
    bona: Any,
    spoof: Any,
    asv: AsvRates,
    formulation: str = "2019",
    model: TdcfModel | None = None,
) -> tuple[float, float]:
    """(normalised min t-DCF, CM threshold) given the ASV error rates."""
    c0, c1, c2 = tdcf_weights(asv, formulation, model)
    pmiss, pfa, thr = det_curve(bona, spoof)
    if formulation == "2019":
        curve = (c1 * pmiss + c2 * pfa) / min(c1, c2)
    else:
        curve = (c0 + c1 * pmiss + c2 * pfa) / (c0 + min(c1, c2))
    i = int(np.argmin(curve))
    return float(curve[i]), float(thr[i])


def operating_point(scores: Any, bona: Any, threshold: float) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of hard decisions at `threshold`.

    A trial is classified spoof when its score is below the threshold (the CM rejects it)
    and bona fide otherwise. The positive class is **spoof**: precision = share of trials
    flagged as spoof that are spoof, recall = share of spoofs flagged (1 - Pfa at that
    threshold). NaN where a denominator is zero (no trial flagged: precision).
    """
    scores, bona = _arr(scores), np.asarray(bona, dtype=bool).ravel()
    return operating_counts_metrics(
        np.bincount(_outcome_codes(scores, bona, threshold), minlength=4)
    )


def _outcome_codes(scores: np.ndarray, bona: np.ndarray, threshold: float) -> np.ndarray:
    """Per trial 2 * flagged_spoof + is_spoof (0 TN, 1 FN, 2 FP, 3 TP; positive = spoof)."""
    return (2 * (scores < threshold) + (~bona)).astype(np.int8)


def operating_counts_metrics(counts: np.ndarray) -> dict[str, float]:
    """The four rates from [TN, FN, FP, TP] counts (positive = spoof)."""
    tn, fn, fp, tp = (float(c) for c in counts[:4])
    n = tn + fn + fp + tp
    return {
        "accuracy": (tp + tn) / n if n else math.nan,
        "precision": tp / (tp + fp) if tp + fp else math.nan,
        "recall": tp / (tp + fn) if tp + fn else math.nan,
        "f1": 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else math.nan,
    }


def det_points(
    bona: Any, spoof: Any, max_points: int = 200, floor: float = 1e-4
) -> tuple[list[float], list[float]]:
    """(Pfa, Pmiss) for a DET plot: hull-free step curve thinned to about `max_points`.

    Rates are clipped to [floor, 1 - floor] so a probit axis stays finite.
    """
    pmiss, pfa, _ = det_curve(bona, spoof)
    idx = np.unique(np.linspace(0, pmiss.size - 1, min(max_points, pmiss.size)).round().astype(int))
    x = np.clip(pfa[idx], floor, 1 - floor)
    y = np.clip(pmiss[idx], floor, 1 - floor)
    return [float(v) for v in x], [float(v) for v in y]


def reversed_convention(bona: Any, spoof: Any) -> tuple[bool, float, float]:
    """(looks reversed, EER as given, EER of the negated scores).

    Looks reversed when negating the scores lowers the EER (the ASVspoof 2021 package's
    check): the file likely scores "spoof" higher. The scores are never flipped silently.
    """
    bona, spoof = _arr(bona), _arr(spoof)
    e, _ = eer(bona, spoof)
    e_neg, _ = eer(-bona, -spoof)
    return e_neg < e, e, e_neg
