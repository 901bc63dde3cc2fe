"""The detection gallery: worst images as ``boxes`` report charts, in report.html, bounded.

The expected box statuses come from hand-made edits to exact synthetic gold labels (one
box relabelled, one shifted to a known IoU, one deleted, one added), so each status is
known before matching runs.
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from pingce.core.report import write_report
from pingce.core.reporting import build_report_doc
from pingce.core.store import open_store
from pingce.labeling.cli import evaluate_labels
from pingce.labeling.gallery import GALLERY_MAX, THUMB_PX


def _iou(a: list[float], b: list[float]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _thumbnail(uri: str) -> Image.Image:
    assert uri.startswith("data:image/jpeg;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1], validate=True)))
    img.load()
    return img


def _gallery(results: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in results["sections"] if s["id"] == "detection-gallery")


def test_gallery_marks_each_box_with_its_matching_status(
    tmp_path: Path, synth_set: dict[str, Path]
) -> None:
    gold = json.loads(synth_set["detection"].read_text())
    by_image: dict[int, list[dict[str, Any]]] = {}
    for a in gold["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    image_id, anns = max(by_image.items(), key=lambda kv: len(kv[1]))
    assert len(anns) >= 4
    image = next(i for i in gold["images"] if i["id"] == image_id)
    cat_ids = [c["id"] for c in gold["categories"]]
    relabel, shift, drop = anns[0], anns[1], anns[2]
    pred = json.loads(json.dumps(gold))
    edited = {a["id"]: a for a in pred["annotations"]}
    edited[relabel["id"]]["category_id"] = next(c for c in cat_ids if c != relabel["category_id"])
    dx = round(0.2 * shift["bbox"][2])
    moved = [shift["bbox"][0] + dx, *shift["bbox"][1:]]
    edited[shift["id"]]["bbox"] = moved
    assert 0.5 <= _iou(moved, shift["bbox"]) < 0.8  # valid, but low overlap
    pred["annotations"] = [a for a in pred["annotations"] if a["id"] != drop["id"]]
    stray = [0.0, 0.0, 3.0, 3.0]
    assert all(_iou(stray, a["bbox"]) == 0 for a in anns)
    pred["annotations"].append(
        {
            "id": 10_000,
            "image_id": image_id,
            "category_id": cat_ids[0],
            "bbox": stray,
            "area": 9.0,
            "iscrowd": 0,
            "score": 0.25,
        }
    )
    (tmp_path / "pred.json").write_text(json.dumps(pred))

    store = open_store(os.environ["PINGCE_DB"])
    rid = evaluate_labels(
        store,
        f"labels:{tmp_path / 'pred.json'}?format=coco",
        str(synth_set["detection"]),
        "detection",
        images=synth_set["images"],
        show_progress=False,
    )
    results = store.get_run(rid).results
    gallery = _gallery(results)
    # Every other image is labelled exactly, so only the edited one is shown.
    assert [c["title"] for c in gallery["charts"]] == [image["file_name"]]
    chart = gallery["charts"][0]
    assert (chart["width"], chart["height"]) == (image["width"], image["height"])
    names = {c["id"]: c["name"] for c in gold["categories"]}

    def status(boxes: list[dict[str, Any]], bbox: list[float]) -> str:
        hit = [b for b in boxes if [b["x"], b["y"], b["w"], b["h"]] == pytest.approx(bbox)]
        assert len(hit) == 1, bbox
        return hit[0]["status"]

    assert status(chart["gold"], relabel["bbox"]) == "mismatched"
    assert status(chart["pred"], relabel["bbox"]) == "mismatched"
    assert status(chart["gold"], shift["bbox"]) == "low_overlap"
    assert status(chart["pred"], moved) == "low_overlap"
    assert status(chart["gold"], drop["bbox"]) == "missing"
    assert status(chart["pred"], stray) == "extra"
    for a in anns[3:]:
        assert status(chart["gold"], a["bbox"]) == "valid"
        assert status(chart["pred"], a["bbox"]) == "valid"
    assert len(chart["gold"]) == len(anns) and len(chart["pred"]) == len(anns)
    assert next(b for b in chart["pred"] if b["x"] == 0.0)["score"] == pytest.approx(0.25)
    assert {b["label"] for b in chart["gold"]} <= set(names.values())
    assert chart["caption"].startswith("missing 1 · extra 1 · wrong label 1\nlow overlap 1")
    # The thumbnail keeps the aspect ratio within THUMB_PX; boxes stay in image pixels.
    thumb = _thumbnail(chart["image"])
    assert max(thumb.size) == THUMB_PX
    assert thumb.size[0] / thumb.size[1] == pytest.approx(
        image["width"] / image["height"], abs=0.02
    )
    html = write_report(build_report_doc(store, store.get_run(rid)), tmp_path / "rep")[
        0
    ].read_text()
    assert html.count('class="box gold status-') == len(anns)
    assert html.count('class="box pred status-') == len(anns)


def test_gallery_is_capped_and_worst_first(tmp_path: Path) -> None:
    from pingce.labeling.synthetic import SynthConfig, write_synthetic

    paths = write_synthetic(tmp_path / "set", SynthConfig(n_images=GALLERY_MAX + 6, seed=5))
    gold = json.loads(paths["detection"].read_text())
    pred = json.loads(json.dumps(gold))
    keep = []
    for n, img in enumerate(gold["images"]):  # drop 1, 2 or 3 boxes: every image has errors
        anns = [a for a in pred["annotations"] if a["image_id"] == img["id"]]
        keep += anns[1 + n % 3 :]
    pred["annotations"] = keep
    (tmp_path / "pred.json").write_text(json.dumps(pred))
    store = open_store(os.environ["PINGCE_DB"])
    rid = evaluate_labels(
        store,
        f"labels:{tmp_path / 'pred.json'}?format=coco",
        str(paths["detection"]),
        "detection",
        images=paths["images"],
        task_extra={"gallery": 50},
        show_progress=False,
    )
    row = store.get_run(rid)
    gallery = _gallery(row.results)
    charts = gallery["charts"]
    assert len(charts) == GALLERY_MAX
    assert f"asked for 50; a report shows at most {GALLERY_MAX}" in gallery["text"]
    badness = [
        sum(b["status"] == "missing" for b in c["gold"])
        + sum(b["status"] in ("extra", "mismatched") for b in c["pred"])
        + 0.5 * sum(b["status"] == "low_overlap" for b in c["pred"])
        for c in charts
    ]
    assert badness == sorted(badness, reverse=True) and badness[0] > badness[-1]
    for c in charts:
        assert max(_thumbnail(c["image"]).size) <= THUMB_PX
        assert len(c["image"]) < 20_000  # a 160 px JPEG at quality 70 is a few kB
    html = write_report(build_report_doc(store, row), tmp_path / "rep")[0]
    # 24 thumbnails plus the rest of the report (about 250 kB when written).
    assert html.stat().st_size < 400_000
