"""COCO parity on real-COCO-shaped gold (issue 24): crowd regions, mask areas, images whose
file names collide in different folders, and Label Studio's two lists.

Reference: pycocotools' own ``COCO``/``COCOeval`` run directly on the gold file and the
results list (not through pingce's or torchmetrics' conversion), and hand counts for P/R/F1.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pingce.core.errors import DataError
from pingce.core.store import open_store
from pingce.labeling.cli import evaluate_labels
from pingce.labeling.formats import read_labels, write_labels
from pingce.labeling.metrics.coco_eval import STAT_NAMES
from pingce.labeling.metrics.matching import match_boxes

CLASSES = ("person", "car")


def _polygon(x: float, y: float, w: float, h: float) -> list[float]:
    """A diamond inside the box: its area is half the box's (a mask area != w*h)."""
    return [x + w / 2, y, x + w, y + h / 2, x + w / 2, y + h, x, y + h / 2]


def _crowd_gold(seed: int, n_images: int = 12) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A COCO gold dataset with polygon masks (area = mask area), some crowd regions with
    several detections inside, and a scored results list of jittered and stray boxes."""
    rng = np.random.default_rng(seed)
    gold: dict[str, Any] = {
        "images": [],
        "annotations": [],
        "categories": [{"id": i, "name": c} for i, c in enumerate(CLASSES, start=1)],
    }
    dets: list[dict[str, Any]] = []
    for i in range(1, n_images + 1):
        gold["images"].append(
            {"id": i, "file_name": f"img{i:03d}.jpg", "width": 400, "height": 300}
        )
        for _ in range(int(rng.integers(1, 6))):
            # Sizes around the small/medium (32²) and medium/large (96²) limits, where box
            # area and mask area fall in different COCO size ranges.
            w, h = (float(v) for v in rng.uniform(25, 130, 2))
            x, y = float(rng.uniform(0, 400 - w)), float(rng.uniform(0, 300 - h))
            cat = int(rng.integers(1, 3))
            crowd = int(rng.uniform() < 0.15)
            seg = _polygon(x, y, w, h)
            gold["annotations"].append(
                {
                    "id": len(gold["annotations"]) + 1,
                    "image_id": i,
                    "category_id": cat,
                    "bbox": [x, y, w, h],
                    "area": w * h / 2,
                    "iscrowd": crowd,
                    "segmentation": [seg],
                }
            )
            for _ in range(3 if crowd else 1):  # several detections inside a crowd region
                if rng.uniform() < 0.85:
                    j = rng.normal(0, 0.1, 4) * [w, h, w, h]
                    bw = max(2.0, (w / 2 if crowd else w) + j[2])
                    bh = max(2.0, (h / 2 if crowd else h) + j[3])
                    bx = x + (float(rng.uniform(0, w / 2)) if crowd else j[0])
                    by = y + (float(rng.uniform(0, h / 2)) if crowd else j[1])
                    c = cat if rng.uniform() < 0.9 else 3 - cat
                    dets.append(
                        {
                            "image_id": i,
                            "category_id": c,
                            "bbox": [bx, by, bw, bh],
                            "score": float(rng.uniform(0.2, 1)),
                        }
                    )
        for _ in range(int(rng.integers(0, 3))):
            dets.append(
                {
                    "image_id": i,
                    "category_id": int(rng.integers(1, 3)),
                    "bbox": [*rng.uniform(0, 250, 2).tolist(), *rng.uniform(8, 80, 2).tolist()],
                    "score": float(rng.uniform(0, 0.7)),
                }
            )
    return gold, dets


def _cocoeval(gold_path: Path, dets_path: Path) -> np.ndarray:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gold_path))
        dt = gt.loadRes(str(dets_path))
        ev = COCOeval(gt, dt, iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


def _run(tmp_path: Path, gold_path: Path, pred_path: Path, fmt: str = "coco") -> dict[str, Any]:
    store = open_store(os.environ["PINGCE_DB"])
    rid = evaluate_labels(
        store, f"labels:{pred_path}?format={fmt}", str(gold_path), "detection", show_progress=False
    )
    return store.get_run(rid).results


def _stats(results: dict[str, Any]) -> np.ndarray:
    coco = results["extra"]["tasks"]["detection"]["coco"]
    return np.asarray([-1.0 if coco[n] is None else coco[n] for n in STAT_NAMES])


@pytest.mark.parametrize("seed", [0, 1])
def test_coco_ap_equals_cocoeval_with_crowd_and_mask_areas(tmp_path: Path, seed: int) -> None:
    """Reference: pycocotools' COCOeval on the same files. Before issue 24 pingce rebuilt the
    gold with area = w*h and iscrowd = 0, which moved AP and the size-range APs."""
    gold, dets = _crowd_gold(seed)
    assert sum(a["iscrowd"] for a in gold["annotations"]) >= 2
    (tmp_path / "gold.json").write_text(json.dumps(gold))
    (tmp_path / "dets.json").write_text(json.dumps(dets))
    ref = _cocoeval(tmp_path / "gold.json", tmp_path / "dets.json")
    ours = _stats(_run(tmp_path, tmp_path / "gold.json", tmp_path / "dets.json"))
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    # The case is one where crowd and mask areas matter: box areas and no crowd differ.
    plain = json.loads(json.dumps(gold))
    for a in plain["annotations"]:
        a["area"], a["iscrowd"] = a["bbox"][2] * a["bbox"][3], 0
    (tmp_path / "plain.json").write_text(json.dumps(plain))
    assert not np.allclose(_cocoeval(tmp_path / "plain.json", tmp_path / "dets.json"), ref)


def test_crowd_regions_are_ignored_by_precision_and_recall(tmp_path: Path) -> None:
    """Hand count: one ordinary gold box found, one missed, a crowd region with two detections
    inside it (ignored: neither TP nor FP) and one stray detection."""
    gold = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 300, "height": 200}],
        "categories": [{"id": 1, "name": "person"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [10, 10, 40, 80],
                "area": 3200,
                "iscrowd": 0,
            },
            {
                "id": 2,
                "image_id": 1,
                "category_id": 1,
                "bbox": [60, 10, 40, 80],
                "area": 3200,
                "iscrowd": 0,
            },
            {
                "id": 3,
                "image_id": 1,
                "category_id": 1,
                "bbox": [150, 20, 120, 150],
                "area": 9000,
                "iscrowd": 1,
            },
        ],
    }
    dets = [
        {"image_id": 1, "category_id": 1, "bbox": [11, 11, 40, 80], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [160, 30, 30, 60], "score": 0.8},
        {"image_id": 1, "category_id": 1, "bbox": [200, 60, 30, 60], "score": 0.7},
        {"image_id": 1, "category_id": 1, "bbox": [10, 120, 30, 30], "score": 0.6},
    ]
    m = match_boxes(
        ["person"] * 3,
        [a["bbox"] for a in gold["annotations"]],
        ["person"] * 4,
        [d["bbox"] for d in dets],
        gold_crowd=[False, False, True],
    )
    assert ([g for g, _, _ in m.valid], m.missing, m.ignored, m.extra, m.crowd) == (
        [0],
        [1],
        [1, 2],
        [3],
        [2],
    )
    (tmp_path / "gold.json").write_text(json.dumps(gold))
    (tmp_path / "dets.json").write_text(json.dumps(dets))
    res = _run(tmp_path, tmp_path / "gold.json", tmp_path / "dets.json")
    metrics = res["tasks"][0]["metrics"]
    # TP 1 of 2 counted predictions, 1 of 2 ordinary gold boxes.
    assert metrics["label_precision"]["value"] == pytest.approx(1 / 2)
    assert metrics["label_recall"]["value"] == pytest.approx(1 / 2)
    assert metrics["label_f1"]["value"] == pytest.approx(1 / 2)
    np.testing.assert_allclose(
        _stats(res), _cocoeval(tmp_path / "gold.json", tmp_path / "dets.json"), atol=1e-12
    )


def test_images_with_the_same_name_in_different_folders(tmp_path: Path) -> None:
    """cam1/0001.jpg and cam2/0001.jpg are two images (keyed by relative path); pycocotools
    gives AP 1.0 for perfect detections on both, and so must pingce (it gave 0.505 and a
    false unknown_image_id)."""
    gold = {
        "images": [
            {"id": 1, "file_name": "cam1/0001.jpg", "width": 200, "height": 200},
            {"id": 2, "file_name": "cam2/0001.jpg", "width": 200, "height": 200},
            {"id": 3, "file_name": "cam2/0002.jpg", "width": 200, "height": 200},
        ],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [10, 10, 50, 50],
                "area": 2500,
                "iscrowd": 0,
            },
            {
                "id": 2,
                "image_id": 2,
                "category_id": 1,
                "bbox": [100, 100, 60, 60],
                "area": 3600,
                "iscrowd": 0,
            },
            {
                "id": 3,
                "image_id": 3,
                "category_id": 1,
                "bbox": [20, 100, 60, 60],
                "area": 3600,
                "iscrowd": 0,
            },
        ],
    }
    dets = [
        {"image_id": a["image_id"], "category_id": 1, "bbox": a["bbox"], "score": 0.9}
        for a in gold["annotations"]
    ]
    (tmp_path / "gold.json").write_text(json.dumps(gold))
    (tmp_path / "dets.json").write_text(json.dumps(dets))
    ls = read_labels(tmp_path / "gold.json")
    assert sorted(ls.images) == ["0002.jpg", "cam1/0001.jpg", "cam2/0001.jpg"]
    res = _run(tmp_path, tmp_path / "gold.json", tmp_path / "dets.json")
    assert _cocoeval(tmp_path / "gold.json", tmp_path / "dets.json")[0] == pytest.approx(1.0)
    assert res["extra"]["tasks"]["detection"]["coco"]["ap"] == pytest.approx(1.0)
    assert res["tasks"][0]["metrics"]["label_f1"]["value"] == pytest.approx(1.0)
    assert "unknown_image_id" not in res["extra"]["problem_counts"]
    # Predictions from another tool that names only one of the two (so keys it by file
    # name) still pair with the right gold image through its path.
    pred = json.loads(json.dumps(gold))
    pred["images"] = [gold["images"][1]]
    pred["annotations"] = [gold["annotations"][1]]
    (tmp_path / "one.json").write_text(json.dumps(pred))
    res = _run(tmp_path, tmp_path / "gold.json", tmp_path / "one.json")
    quality = res["extra"]["tasks"]["detection"]["quality"]
    assert (quality["valid"], quality["missing"], quality["extra"]) == (1, 2, 0)
    # The same path listed twice is a true duplicate: a loud error.
    gold["images"].append({"id": 4, "file_name": "cam1/0001.jpg", "width": 200, "height": 200})
    (tmp_path / "dup.json").write_text(json.dumps(gold))
    with pytest.raises(DataError, match="cam1/0001.jpg.*listed twice"):
        read_labels(tmp_path / "dup.json")


def test_converted_labelstudio_predictions_are_read_back(tmp_path: Path) -> None:
    """`label convert --to labelstudio` then `label evaluate --pred` with both defaults: the
    same list. Before issue 24 convert wrote `annotations`, evaluate read `predictions`, and
    the score was F1 0.0 without a word."""
    from typer.testing import CliRunner

    from pingce.cli import app

    gold = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [10, 10, 30, 20],
                "area": 600,
                "iscrowd": 0,
            }
        ],
    }
    (tmp_path / "gold.json").write_text(json.dumps(gold))
    runner = CliRunner()
    r = runner.invoke(
        app,
        [
            "label",
            "convert",
            str(tmp_path / "gold.json"),
            str(tmp_path / "ls.json"),
            "--to",
            "labelstudio",
        ],
    )
    assert r.exit_code == 0, r.output
    res = _run(tmp_path, tmp_path / "gold.json", tmp_path / "ls.json", "labelstudio")
    assert res["tasks"][0]["metrics"]["label_f1"]["value"] == pytest.approx(1.0)
    # The other list asked for explicitly: an error naming the list that has the labels.
    store = open_store(os.environ["PINGCE_DB"])
    with pytest.raises(DataError, match="no task has annotations.*predictions"):
        evaluate_labels(
            store,
            f"labels:{tmp_path / 'ls.json'}?format=labelstudio&which=annotations",
            str(tmp_path / "gold.json"),
            "detection",
            show_progress=False,
        )


def _lossy_set() -> Any:
    from pingce.labeling.model import Annotation, ImageInfo, LabelSet

    ls = LabelSet(categories=["car"])
    ls.add_image(ImageInfo("a.png", "a.png", 100, 80))
    ls.add_image(ImageInfo("empty.png", "empty.png", 64, 48))  # no labels: size only here
    return ls, Annotation


def test_round_trips_keep_size_parts_area_and_masks_or_refuse(tmp_path: Path) -> None:
    """Hand-made cases for each loss the issue lists: the size of an unlabelled image through
    Label Studio and then CVAT/COCO; COCO's own area; multi-part polygons and RLE masks
    refused by the formats that cannot hold them (nothing written)."""
    ls, Annotation = _lossy_set()
    ls.annotations.append(Annotation("a.png", "car", (10.0, 10.0, 20.0, 20.0), coco_area=123.0))
    write_labels(ls, tmp_path / "ls.json", "labelstudio")
    back = read_labels(tmp_path / "ls.json", "labelstudio")
    assert (back.images["empty.png"].width, back.images["empty.png"].height) == (64, 48)
    write_labels(back, tmp_path / "c.xml", "cvat")
    assert read_labels(tmp_path / "c.xml").images["empty.png"].width == 64
    write_labels(back, tmp_path / "c.json", "coco")
    coco = json.loads((tmp_path / "c.json").read_text())
    assert {i["file_name"]: i["width"] for i in coco["images"]} == {"a.png": 100, "empty.png": 64}
    # COCO -> COCO keeps the source's area (a mask's), not the box's 400.
    write_labels(ls, tmp_path / "a.json", "coco")
    write_labels(read_labels(tmp_path / "a.json"), tmp_path / "b.json", "coco")
    assert json.loads((tmp_path / "b.json").read_text())["annotations"][0]["area"] == 123.0
    # A size-less image cannot be written as CVAT (it would say 0x0): refused.
    sizeless, _ = _lossy_set()
    sizeless.images["empty.png"].width = sizeless.images["empty.png"].height = None
    with pytest.raises(DataError, match="width and height.*empty.png"):
        write_labels(sizeless, tmp_path / "s.xml", "cvat")
    assert not (tmp_path / "s.xml").exists()
    # Two-part polygon and RLE mask: COCO keeps them, CVAT and Label Studio refuse.
    parts = [[10, 10, 20, 10, 20, 20], [40, 40, 50, 40, 50, 50]]
    ls.annotations = [Annotation("a.png", "car", (10.0, 10.0, 40.0, 40.0), segmentation=parts)]
    write_labels(ls, tmp_path / "p.json", "coco")
    assert read_labels(tmp_path / "p.json").annotations[0].segmentation == parts
    for fmt, name in (("cvat", "p.xml"), ("labelstudio", "p_ls.json")):
        with pytest.raises(DataError, match="2 parts"):
            write_labels(ls, tmp_path / name, fmt)
        assert not (tmp_path / name).exists()
    rle = {"size": [80, 100], "counts": "PPYo1"}
    ls.annotations = [Annotation("a.png", "car", (10.0, 10.0, 40.0, 40.0), segmentation=rle)]
    for fmt, name in (("cvat", "r.xml"), ("labelstudio", "r_ls.json")):
        with pytest.raises(DataError, match="RLE mask"):
            write_labels(ls, tmp_path / name, fmt)
        assert not (tmp_path / name).exists()
