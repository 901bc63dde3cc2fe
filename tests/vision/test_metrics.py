"""Vision metrics against independent references: scikit-learn (confusion matrix, P/R/F1,
top-k accuracy, ROC AUC, precision-recall curve, Jaccard), torchmetrics (calibration error,
COCO mAP via its pycocotools backend) and hand counts.

anomalib and Avalanche (the issue's anchors) cannot be installed next to torch 2.13.0: `pip
install --dry-run anomalib` / `avalanche-lib` both pull torch 2.14.1. AUPRO is therefore checked
against a hand-computed case and a brute-force threshold sweep written from the MVTec AD
definition (Bergmann et al. 2021), independent of `pro_curve`'s cumulative-sum algorithm.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import label
from sklearn import metrics as skm

from pingce.vision import classification as cls
from pingce.vision import defects, detection, segmentation


def _random_probs(rng: np.random.Generator, n: int, c: int) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, c, n)
    logits = rng.normal(size=(n, c)) + 2.0 * np.eye(c)[labels] * rng.random((n, 1))
    return labels, cls.to_probs(logits)


def test_classification_matches_sklearn() -> None:
    rng = np.random.default_rng(0)
    labels, probs = _random_probs(rng, 300, 7)
    preds = probs.argmax(1)
    cm = cls.confusion_matrix(labels, preds, 7)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(labels, preds, labels=range(7)))
    pc = cls.per_class(cm)
    p, r, f, s = skm.precision_recall_fscore_support(
        labels, preds, labels=range(7), zero_division=0
    )
    np.testing.assert_allclose(pc.precision, p)
    np.testing.assert_allclose(pc.recall, r)
    np.testing.assert_allclose(pc.f1, f)
    np.testing.assert_array_equal(pc.support, s)
    assert pc.macro_f1 == pytest.approx(skm.f1_score(labels, preds, average="macro"))
    for k in (1, 5):
        ours = cls.topk_correct(labels, probs, k).mean()
        assert ours == pytest.approx(skm.top_k_accuracy_score(labels, probs, k=k, labels=range(7)))


def test_ece_matches_torchmetrics_and_a_hand_count() -> None:
    torch = pytest.importorskip("torch")
    from torchmetrics.classification import MulticlassCalibrationError

    rng = np.random.default_rng(1)
    labels, probs = _random_probs(rng, 500, 5)
    ref = MulticlassCalibrationError(num_classes=5, n_bins=15, norm="l1")
    expected = float(ref(torch.tensor(probs, dtype=torch.float64), torch.tensor(labels)))
    assert cls.expected_calibration_error(labels, probs, 15) == pytest.approx(expected, abs=1e-6)
    # Hand count, 2 bins: confidences 0.9 (right), 0.8 (wrong) in (0.5, 1]; 0.4 (right) in
    # (0, 0.5]. ECE = 2/3 * |0.5 - 0.85| + 1/3 * |1 - 0.4| = 0.2333 + 0.2 = 0.4333.
    p = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.4, 0.3, 0.3]])
    y = np.array([0, 0, 0])
    assert cls.expected_calibration_error(y, p, 2) == pytest.approx(2 / 3 * 0.35 + 1 / 3 * 0.6)


def test_to_probs_softmaxes_logits_and_keeps_distributions() -> None:
    d = np.array([[0.2, 0.8], [1.0, 0.0]])
    np.testing.assert_array_equal(cls.to_probs(d), d)
    z = cls.to_probs(np.array([[0.0, np.log(3.0)]]))
    np.testing.assert_allclose(z, [[0.25, 0.75]])


def test_auroc_and_f1max_match_sklearn() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 400)
    s = np.round(rng.normal(size=400) + y, 1)  # rounded: many ties
    assert defects.auroc(y, s) == pytest.approx(skm.roc_auc_score(y, s))
    prec, rec, thr = skm.precision_recall_curve(y, s)
    f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0)[:-1]
    best, t = defects.f1_max(y, s)
    assert best == pytest.approx(f1.max())
    assert t == pytest.approx(thr[np.argmax(f1)])
    assert np.isnan(defects.auroc(np.ones(3), np.arange(3)))


def _brute_force_aupro(masks: list[np.ndarray], maps: list[np.ndarray], limit: float) -> float:
    """MVTec AD's definition evaluated threshold by threshold (no cumulative sums)."""
    regions = []
    ok = np.concatenate([~m.astype(bool).ravel() for m in masks])
    all_scores = np.concatenate([a.ravel() for a in maps])
    for m, a in zip(masks, maps, strict=True):
        lab, n = label(m, structure=np.ones((3, 3)))
        regions += [(a, lab == k) for k in range(1, n + 1)]
    xs, ys = [0.0], [0.0]
    for t in sorted(set(all_scores.tolist()), reverse=True):
        xs.append(float((all_scores[ok] >= t).mean()))
        ys.append(float(np.mean([(a[r] >= t).mean() for a, r in regions])))
    xs_a, ys_a = np.array(xs), np.array(ys)
    keep = xs_a <= limit
    x, y = xs_a[keep], ys_a[keep]
    if x[-1] < limit:
        j = int(np.argmax(xs_a > limit))
        y_lim = np.interp(limit, xs_a[j - 1 : j + 1], ys_a[j - 1 : j + 1])
        x, y = np.r_[x, limit], np.r_[y, y_lim]
    area = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))
    return area / limit


def test_aupro_hand_case() -> None:
    # One region of 2 pixels, 3 defect-free pixels. Descending thresholds give the curve
    # (0,0) (0,.5) (1/3,.5) (1/3,1) (2/3,1) (1,1): up to FPR 0.3 the PRO is 0.5 -> AUPRO 0.5;
    # over the whole range the area is 0.5/3 + 2/3 = 0.8333.
    mask = np.array([[1, 1, 0, 0, 0]])
    amap = np.array([[0.9, 0.4, 0.5, 0.1, 0.2]])
    assert defects.aupro([mask], [amap]) == pytest.approx(0.5)
    assert defects.aupro([mask], [amap], fpr_limit=1.0) == pytest.approx(0.5 / 3 + 2 / 3)


def test_aupro_matches_brute_force_sweep() -> None:
    rng = np.random.default_rng(3)
    masks, maps = [], []
    for i in range(4):
        m = np.zeros((12, 12), dtype=np.uint8)
        if i:  # image 0 is defect-free; the others have 1-2 regions of different sizes
            m[2 : 2 + i * 2, 3:6] = 1
            if i == 3:
                m[9:11, 9:11] = 1
        masks.append(m)
        maps.append(np.round(rng.random((12, 12)) + 0.8 * m, 2))
    for limit in (0.3, 0.05, 1.0):
        expected = _brute_force_aupro(masks, maps, limit)
        assert defects.aupro(masks, maps, fpr_limit=limit) == pytest.approx(expected, abs=1e-9)


def test_segmentation_iou_matches_sklearn_and_boundary_f1_hand_case() -> None:
    rng = np.random.default_rng(4)
    gt = rng.integers(0, 4, (20, 20))
    pred = np.where(rng.random((20, 20)) < 0.7, gt, rng.integers(0, 4, (20, 20)))
    cm = segmentation.confusion(gt, pred, 4)
    iou, dice = segmentation.iou_dice(cm)
    np.testing.assert_allclose(iou, skm.jaccard_score(gt.ravel(), pred.ravel(), average=None))
    np.testing.assert_allclose(dice, skm.f1_score(gt.ravel(), pred.ravel(), average=None))
    # Boundary: a 4x4 square (boundary 12 px) predicted shifted right by 1 px. Every
    # predicted boundary pixel is within 1 px of the true boundary and vice versa -> F1 1 at
    # tolerance 1; at tolerance 0 only the pixels on both boundaries count: rows 2 and 5 at
    # columns 3-5, 6 of 12 each way.
    g = np.zeros((8, 8), dtype=int)
    g[2:6, 2:6] = 1
    p = np.zeros((8, 8), dtype=int)
    p[2:6, 3:7] = 1
    counts = segmentation.boundary_counts(g, p, 2, tolerance=1.0)
    assert counts[1].tolist() == [12, 12, 12, 12]
    c0 = segmentation.boundary_counts(g, p, 2, tolerance=0.0)
    assert c0[1].tolist() == [6, 12, 6, 12]
    f1, _ = segmentation.boundary_f1(c0)
    assert f1[1] == pytest.approx(0.5)


def test_coco_ap_matches_pycocotools_on_files_and_prf_hand_case(tmp_path) -> None:
    """COCO AP: pycocotools run the documented way (a COCO JSON file and a results list
    loaded with loadRes), independent of pingce's in-memory conversion; P/R/F1 by hand.
    (torchmetrics' MeanAveragePrecision needs torchvision, which is not installed.)"""
    import contextlib
    import io
    import json

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(5)
    images = []
    gt = {
        "images": [],
        "annotations": [],
        "categories": [{"id": 7, "name": "a"}, {"id": 9, "name": "b"}],
    }
    results = []
    for img in range(6):
        gold, pred = [], []
        for _ in range(int(rng.integers(1, 4))):
            c = ["a", "b"][int(rng.integers(0, 2))]
            x, y, w, h = (float(v) for v in rng.integers(5, 60, 4))
            gold.append([c, x, y, w + 10, h + 10])
            jit = rng.normal(scale=4, size=4)
            pred.append(
                [c, x + jit[0], y + jit[1], w + 10 + jit[2], h + 10 + jit[3], float(rng.random())]
            )
        pred.append(["a", 1.0, 1.0, 20.0, 20.0, 0.3])  # a false positive
        images.append(detection.DetImage(128, 128, gold, pred))
        gt["images"].append(
            {"id": 100 + img, "width": 128, "height": 128, "file_name": f"{img}.png"}
        )
        for r in gold:
            gt["annotations"].append(
                {
                    "id": len(gt["annotations"]) + 1,
                    "image_id": 100 + img,
                    "category_id": 7 if r[0] == "a" else 9,
                    "bbox": r[1:5],
                    "area": r[3] * r[4],
                    "iscrowd": 0,
                }
            )
        results += [
            {
                "image_id": 100 + img,
                "category_id": 7 if r[0] == "a" else 9,
                "bbox": r[1:5],
                "score": r[5],
            }
            for r in pred
        ]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(tmp_path / "gt.json"))
        ev = COCOeval(coco, coco.loadRes(results), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    ours = detection.coco_ap(images, ["a", "b"])
    for i, key in enumerate(detection.COCO_KEYS):
        assert ours[key] == pytest.approx(ev.stats[i] if ev.stats[i] >= 0 else None, abs=1e-9)
    perfect = [detection.DetImage(64, 64, im.gold, [[*g, 1.0] for g in im.gold]) for im in images]
    assert detection.coco_ap(perfect, ["a", "b"])["ap"] == pytest.approx(1.0)
    # Hand case: 2 gold boxes, one matched at IoU 0.81 (a 9x9 overlap of 10x10 boxes shifted
    # by 1 px: 81/119 = 0.68 -> matched at 0.5, not at 0.75), one wrong class, one extra.
    im = detection.DetImage(
        50,
        50,
        [["a", 0, 0, 10, 10], ["b", 20, 20, 10, 10]],
        [["a", 1, 1, 10, 10, 0.9], ["a", 20, 20, 10, 10, 0.8], ["b", 40, 40, 5, 5, 0.1]],
    )
    assert detection.match_counts(im, 0.5) == (1, 3, 2)
    assert detection.match_counts(im, 0.75) == (0, 3, 2)
    p, r, f = detection.prf(np.array([detection.match_counts(im, 0.5)]))
    assert (p, r) == (pytest.approx(1 / 3), pytest.approx(0.5))
    assert f == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))
