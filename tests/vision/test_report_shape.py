"""The shape of a vision report, pinned on hand-built records: task rows, indicators with
thresholds and verdicts, sections, and values equal to hand-computed figures."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pingce.vision.quality import pack_map, pack_mask
from pingce.vision.standard import VisionStandard

SUITE = {
    "tasks": [
        {
            "id": "cls",
            "type": "vision.classification",
            "dimension": "general",
            "requirements": {"vision_top1": ">= 0.8", "vision_ece": "<= 0.5"},
        },
        {
            "id": "def",
            "type": "vision.defects",
            "dimension": "general",
            "requirements": {"vision_aupro": ">= 0.9"},
        },
        {
            "id": "missing",
            "type": "vision.defects",
            "dimension": "general",
            "requirements": {"vision_image_auroc": ">= 0.5"},
        },
    ]
}


def _cls_records() -> list[dict[str, Any]]:
    # 4 images, 3 classes; predictions 0 (right), 1 (right), 0 (wrong: true 2), 2 (right).
    probs = [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.1, 0.3], [0.2, 0.2, 0.6]]
    labels = [0, 1, 2, 2]
    return [
        {
            "task": "cls",
            "sample_id": str(i),
            "position": i,
            "scores": {"vision_top1": float(np.argmax(p) == y), "vision_top5": 1.0},
            "data": {"image": str(i), "label": y, "probs": p},
        }
        for i, (p, y) in enumerate(zip(probs, labels, strict=True))
    ]


def _def_records() -> list[dict[str, Any]]:
    recs = []
    for i in range(4):
        mask = np.zeros((4, 4), dtype=bool)
        if i >= 2:
            mask[1:3, 1:3] = True
        amap = np.full((4, 4), 0.1 * (i + 1)) + 0.5 * mask
        recs.append(
            {
                "task": "def",
                "sample_id": str(i),
                "position": i,
                "scores": {},
                "data": {
                    "image": str(i),
                    "label": int(i >= 2),
                    "kind": "spot" if i >= 2 else "good",
                    "score": float(amap.max()),
                    "map": pack_map(amap),
                    "mask": pack_mask(mask),
                    "size": 4,
                },
            }
        )
    return recs


def test_report_shape_and_hand_values() -> None:
    doc = VisionStandard().summarize(
        SUITE,
        {"options": {"seed": 1234}, "settings": {"classes": {"cls": ["a", "b", "c"]}}},
        _cls_records() + _def_records(),
    )
    assert [t["id"] for t in doc["tasks"]] == ["cls", "def"]
    cls, dfx = doc["tasks"]
    assert cls["primary_metric"] == "vision_top1" and cls["dimension"] == "quality"
    assert cls["metrics"]["vision_top1"]["value"] == pytest.approx(0.75)
    # ECE, 15 bins: confidences 0.7 (right), 0.8 (right), 0.6 (wrong), 0.6 (right); 0.6 and 0.6
    # share a bin: |0.5 - 0.6| * 2 + |1 - 0.7| + |1 - 0.8| = 0.2 + 0.3 + 0.2 -> / 4 = 0.175.
    assert cls["metrics"]["vision_ece"]["value"] == pytest.approx(0.175)
    # Defects: scores 0.1, 0.2 (good) vs 0.8, 0.9 (defective): every AUROC and AUPRO is 1.
    for name in ("vision_image_auroc", "vision_pixel_auroc", "vision_aupro", "vision_image_f1_max"):
        assert dfx["metrics"][name]["value"] == pytest.approx(1.0), name
    assert dfx["metrics"]["vision_pixel_auroc"]["ci_low"] is None  # pixel figures carry no CI
    ind = {(i["scope"], i["id"]): i for i in doc["indicators"]}
    assert (
        ind[("cls", "vision_top1")]["threshold"] == 0.8
        and ind[("cls", "vision_top1")]["verdict"] == "fail"
    )
    assert ind[("cls", "vision_ece")]["verdict"] == "pass"
    assert ind[("def", "vision_aupro")]["verdict"] == "pass"
    assert ind[("cls", "vision_macro_f1")]["verdict"] is None
    req = doc["sections"][0]
    assert req["id"] == "requirements" and req["title"] == "Requirements: 2 of 4 met"
    assert req["table"]["rows"][-1] == [
        "missing",
        "vision_image_auroc",
        ">= 0.5",
        None,
        "FAIL",
        "not measured",
    ]
    ids = [s["id"] for s in doc["sections"]]
    assert ids == [
        "requirements",
        "cls-per-class",
        "cls-confusion",
        "cls-reliability",
        "def-by-type",
        "def-pro",
    ]
    cm = doc["sections"][2]["charts"][0]
    assert cm["kind"] == "heatmap" and cm["values"] == [[1, 0, 0], [0, 1, 0], [1, 0, 1]]
    assert (
        doc["notes"][0]
        == "Requirements: 2 of 4 met; failed: cls/vision_top1, missing/vision_image_auroc."
    )
    assert doc["overall"]["score"] == pytest.approx((0.75 + 1.0) / 2)
