"""Labeling metrics against independent references: torchmetrics' MeanAveragePrecision (COCO
AP), scikit-learn (accuracy, F1, Cohen's κ) and hand-computed cases (matching, CER,
segmentation IoU/Dice/boundary F1, correction effort)."""

from __future__ import annotations

import numpy as np
import pytest

from pingce.labeling.metrics.classification import classification_scores
from pingce.labeling.metrics.coco_eval import CocoImage, coco_metrics
from pingce.labeling.metrics.effort import EffortCosts, image_effort
from pingce.labeling.metrics.matching import match_boxes
from pingce.labeling.metrics.segmentation import boundary, image_stats, summarize_segmentation
from pingce.labeling.metrics.text import cer, edit_distance


def _random_images(
    seed: int, n: int = 25, classes: tuple[str, ...] = ("a", "b", "c")
) -> list[CocoImage]:
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(n):
        gold, pred = [], []
        for _ in range(int(rng.integers(0, 7))):
            x, y = rng.uniform(0, 200, 2)
            w, h = rng.uniform(4, 150, 2)  # small, medium and large boxes
            c = str(rng.choice(classes))
            gold.append([c, x, y, w, h])
            if rng.uniform() < 0.8:  # a jittered detection, sometimes with the wrong class
                j = rng.normal(0, 0.12, 4) * [w, h, w, h]
                pc = c if rng.uniform() < 0.85 else str(rng.choice(classes))
                pred.append(
                    [
                        pc,
                        x + j[0],
                        y + j[1],
                        max(1.0, w + j[2]),
                        max(1.0, h + j[3]),
                        float(rng.uniform(0.05, 1)),
                    ]
                )
        for _ in range(int(rng.integers(0, 3))):  # false positives
            pred.append(
                [
                    str(rng.choice(classes)),
                    *rng.uniform(0, 200, 2),
                    *rng.uniform(5, 60, 2),
                    float(rng.uniform(0, 0.6)),
                ]
            )
        # Eighth-pixel coordinates are exact in float32, which torchmetrics uses internally.
        q = [[r[0], *(round(float(v) * 8) / 8 for v in r[1:5]), *r[5:]] for r in gold + pred]
        images.append(CocoImage(320, 320, q[: len(gold)], q[len(gold) :]))
    return images


@pytest.fixture
def torchmetrics_map(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """torchmetrics' MeanAveragePrecision without torchvision (which does not work with our torch).

    torchmetrics only uses torchvision for `box_convert`; boxes are passed in xywh, so the
    conversion is the identity and a one-function stand-in module replaces it. Everything else
    (its tensor-to-COCO conversion and its COCOeval run) is torchmetrics' own code.
    """
    import sys
    import types

    pytest.importorskip("torch")
    mean_ap = pytest.importorskip("torchmetrics.detection.mean_ap")

    def box_convert(boxes, in_fmt: str, out_fmt: str):  # noqa: ANN001, ANN202
        assert in_fmt == out_fmt == "xywh"
        return boxes

    ops = types.ModuleType("torchvision.ops")
    ops.box_convert = box_convert  # type: ignore[attr-defined]
    tv = types.ModuleType("torchvision")
    tv.ops = ops  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchvision", tv)
    monkeypatch.setitem(sys.modules, "torchvision.ops", ops)
    monkeypatch.setattr(mean_ap, "_TORCHVISION_AVAILABLE", True)
    return mean_ap.MeanAveragePrecision


@pytest.mark.parametrize("seed", [0, 1])
def test_coco_ap_matches_torchmetrics(seed: int, torchmetrics_map) -> None:  # noqa: ANN001
    """Reference: torchmetrics' MeanAveragePrecision (its own tensor-to-COCO conversion)."""
    import torch

    classes = ["a", "b", "c"]
    images = _random_images(seed)
    ours = coco_metrics(images, classes)
    # torchmetrics builds its default thresholds with float32 torch.linspace (0.55 becomes
    # 0.550000011...), which moves IoUs and recalls that sit exactly on a threshold; pass
    # pycocotools' own float64 thresholds so both evaluate the same protocol.
    iou_thrs = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1).tolist()
    rec_thrs = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1).tolist()
    metric = torchmetrics_map(
        box_format="xywh",
        iou_type="bbox",
        class_metrics=True,
        backend="pycocotools",
        iou_thresholds=iou_thrs,
        rec_thresholds=rec_thrs,
    )
    idx = {c: i for i, c in enumerate(classes)}
    preds, target = [], []
    for im in images:
        preds.append(
            {
                "boxes": torch.tensor([p[1:5] for p in im.pred], dtype=torch.float64).reshape(
                    -1, 4
                ),
                "scores": torch.tensor([p[5] for p in im.pred], dtype=torch.float64),
                "labels": torch.tensor([idx[p[0]] for p in im.pred], dtype=torch.long),
            }
        )
        target.append(
            {
                "boxes": torch.tensor([g[1:5] for g in im.gold], dtype=torch.float64).reshape(
                    -1, 4
                ),
                "labels": torch.tensor([idx[g[0]] for g in im.gold], dtype=torch.long),
            }
        )
    metric.update(preds, target)
    ref = metric.compute()
    pairs = {
        "ap": "map",
        "ap50": "map_50",
        "ap75": "map_75",
        "ap_small": "map_small",
        "ap_medium": "map_medium",
        "ap_large": "map_large",
        "ar1": "mar_1",
        "ar10": "mar_10",
        "ar100": "mar_100",
    }
    for ours_key, ref_key in pairs.items():
        want = float(ref[ref_key])
        got = ours[ours_key]
        assert got == pytest.approx(want, abs=1e-6) if want >= 0 else got is None, (
            ours_key,
            got,
            want,
        )
    per_class = ref["map_per_class"].tolist()
    for c, want in zip(classes, per_class, strict=True):
        assert ours["per_class"][c]["ap"] == pytest.approx(want, abs=1e-6)


def test_coco_ap_perfect_and_empty() -> None:
    gold = [["a", 10, 10, 40, 40], ["b", 100, 100, 20, 20]]
    perfect = [CocoImage(200, 200, gold, [[*g, None] for g in gold])]
    assert coco_metrics(perfect, ["a", "b"])["ap"] == pytest.approx(1.0)
    nothing = [CocoImage(200, 200, gold, [])]
    assert coco_metrics(nothing, ["a", "b"])["ap"] == 0.0


def test_matching_hand_case() -> None:
    """Hand-worked: IoU(g0, p0) = 1, IoU(g1, p1) = 0.5625 with another label, p2 nowhere."""
    gold_l, gold_b = ["cat", "dog", "cat"], [[0, 0, 10, 10], [20, 0, 10, 10], [50, 50, 10, 10]]
    pred_l = ["cat", "cat", "dog", "cat"]
    pred_b = [[0, 0, 10, 10], [20, 0, 10, 7.5], [80, 80, 5, 5], [51, 50, 10, 10]]
    m = match_boxes(gold_l, gold_b, pred_l, pred_b, 0.5, 0.85)
    assert [(g, p) for g, p, _ in m.valid] == [(0, 0), (2, 3)]
    assert m.valid[1][2] == pytest.approx(90 / 110)  # 9x10 overlap, union 110
    assert [(g, p, round(v, 4)) for g, p, v in m.mismatched] == [(1, 1, 0.75)]
    assert m.missing == [] and m.extra == [2]
    assert m.low_overlap == 1  # 0.818 < 0.85
    # Greedy by IoU: the better pair wins even when listed second.
    m2 = match_boxes(["a"], [[0, 0, 10, 10]], ["a", "a"], [[2, 0, 10, 10], [1, 0, 10, 10]])
    assert [(g, p) for g, p, _ in m2.valid] == [(0, 1)] and m2.extra == [0]


def test_cer_hand_cases() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3
    value, edits, chars = cer([("HELLO WORLD", "HELLOWORLD"), ("abcd", "abxd")])
    assert (edits, chars) == (1, 14) and value == pytest.approx(1 / 14)
    assert cer([("a b", "a  b")], ignore_space=False)[1] == 0


def test_classification_matches_sklearn() -> None:
    """Reference: sklearn.metrics accuracy_score, f1_score (macro, micro), cohen_kappa_score."""
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(5)
    gold = [str(c) for c in rng.choice(["cat", "dog", "bird", "fish"], 200, p=[0.4, 0.3, 0.2, 0.1])]
    pred = [
        g if rng.uniform() < 0.7 else str(rng.choice(["cat", "dog", "bird", "(none)"]))
        for g in gold
    ]
    s = classification_scores(gold, pred)
    assert s.accuracy == pytest.approx(metrics.accuracy_score(gold, pred))
    assert s.macro_f1 == pytest.approx(metrics.f1_score(gold, pred, average="macro"))
    assert s.micro_f1 == pytest.approx(metrics.f1_score(gold, pred, average="micro"))
    assert s.kappa == pytest.approx(metrics.cohen_kappa_score(gold, pred))
    np.testing.assert_array_equal(
        s.confusion, metrics.confusion_matrix(gold, pred, labels=s.labels)
    )


def test_segmentation_hand_cases() -> None:
    gold = np.zeros((10, 10), dtype=np.int32)
    gold[2:6, 2:6] = 1  # 16 px square
    pred = np.zeros_like(gold)
    pred[2:6, 3:7] = 1  # shifted right by one pixel: 12 px overlap, union 20
    stats = image_stats(gold, pred, 2, tolerance=0)
    inter, union, p_px, g_px = stats["1"][:4]
    assert (inter, union, p_px, g_px) == (12, 20, 16, 16)
    # Boundary of a 4x4 square: its 12 edge pixels; shifted by one with zero tolerance,
    # the shared pixels are the top/bottom rows' 3 common columns each -> 6, plus none else
    # except the columns where an edge of one lies on an edge of the other.
    assert boundary(gold == 1).sum() == 12
    bd_p, hit_p, bd_g, hit_g = stats["1"][4:]
    assert (bd_p, bd_g) == (12, 12)
    assert hit_p == hit_g == 6  # rows 2 and 5 share columns 3..5; the side columns never meet
    summary = summarize_segmentation([stats], ["background", "square"])
    sq = summary["per_class"]["square"]
    assert sq["iou"] == pytest.approx(12 / 20) and sq["dice"] == pytest.approx(24 / 32)
    assert sq["boundary_f1"] == pytest.approx(6 / 12)
    # With a 1 px tolerance every boundary pixel is within reach.
    within = image_stats(gold, pred, 2, tolerance=1)["1"]
    assert within[5] == within[7] == 12
    # Background: 100 - 16 gold, 100 - 16 pred, overlap 100 - 20.
    bg = summary["per_class"]["background"]
    assert bg["iou"] == pytest.approx(80 / 88)
    assert summary["miou"] == pytest.approx((12 / 20 + 80 / 88) / 2)


def test_effort_hand_case() -> None:
    costs = EffortCosts()
    pred = [
        ["cat", 0, 0, 10, 10],
        ["dog", 20, 0, 10, 10],
        ["cat", 50, 50, 10, 10],
        ["cat", 90, 90, 5, 5],
    ]
    final = [
        ["cat", 0, 0, 10, 10],
        ["cat", 20, 0, 10, 10],
        ["cat", 51, 50, 10, 10],
        ["dog", 0, 60, 8, 8],
    ]
    e = image_effort(pred, final, costs)
    # kept: box 0; relabelled: box 1 (dog->cat, same place); moved: box 2 (IoU 0.818);
    # deleted: the 5x5 box; added: the dog.
    assert (e["kept"], e["relabelled"], e["moved"], e["deleted"], e["added"]) == (1, 1, 1, 1, 1)
    assert e["edited"] == 2
    assert e["estimated_s"] == pytest.approx(2.0 + 0.5 + 2.0 + 3.0 + 1.0 + 7.0)
    assert e["scratch_s"] == pytest.approx(2.0 + 4 * 7.0)
    assert sorted(round(v, 4) for v in e["box_corrections"]) == [0.0, 0.0, round(1 - 90 / 110, 4)]
    # Image-level labels: a changed class is one relabel.
    t = image_effort([["cat", None, None, None, None]], [["dog", None, None, None, None]], costs)
    assert (t["relabelled"], t["estimated_s"], t["scratch_s"]) == (1, 4.0, 3.5)


def test_ratio_rows_bootstrap_over_arrays_like_the_list_path() -> None:
    """P/R/F1 rows resample index vectors over one array (issue 24: no Python list per
    resample); reference: core.stats.estimate on the same items with the list statistic."""
    from pingce.core.stats import estimate
    from pingce.labeling.summary import _f1, _ratio, corpus_row

    rng = np.random.default_rng(2)
    items = [tuple(int(v) for v in rng.integers(0, 6, 4)) for _ in range(300)]
    for stat, name in ((_ratio(0, 1), "label_precision"), (_f1, "label_f1")):
        row = corpus_row(name, items, stat, 400)
        ref = estimate(items, lambda xs, s=stat: s(xs), n_resamples=400, seed=0)  # list path
        assert row is not None
        assert row["value"] == pytest.approx(ref.value)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((ref.ci_low, ref.ci_high))
