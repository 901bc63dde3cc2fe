"""The vision.detection task end to end: an eager PyTorch "detector" (local-contrast blobs as
boxes) on the built-in defect surfaces, COCO AP checked against pycocotools run here on a COCO
file and results list built from the model's own outputs and the mask files."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

DETECTOR = """
import numpy as np
import torch
from scipy.ndimage import find_objects, label

class Blobs(torch.nn.Module):
    def forward(self, x):
        g = x.mean(dim=1, keepdim=True)
        local = torch.nn.functional.avg_pool2d(g, 9, stride=1, padding=4, count_include_pad=False)
        d = (g - local).abs()[:, 0].numpy()
        boxes = np.zeros((len(d), 8, 4), dtype=np.float32)
        scores = np.full((len(d), 8), -1.0, dtype=np.float32)
        labels = np.zeros((len(d), 8), dtype=np.int64)
        for i, m in enumerate(d):
            lab, n = label(m > 0.12, structure=np.ones((3, 3)))
            for k, sl in enumerate(find_objects(lab)[:8]):
                boxes[i, k] = [sl[1].start, sl[0].start, sl[1].stop, sl[0].stop]
                scores[i, k] = float(m[sl].max())
                labels[i, k] = 2 if (sl[0].stop - sl[0].start) * (sl[1].stop - sl[1].start) < 150 else 0
        return {"boxes": torch.from_numpy(boxes), "scores": torch.from_numpy(scores), "labels": torch.from_numpy(labels)}

def build():
    return Blobs()
"""


def test_detection_ap_matches_pycocotools_on_the_models_outputs(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    from scipy.ndimage import find_objects, label

    from pingce.core.report.validation import validate_report
    from pingce.core.reporting import build_report_doc
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.store import open_store
    from pingce.vision.tasks import builtin_defects_dir

    (tmp_path / "det.py").write_text(DETECTOR)
    suite = tmp_path / "d.yaml"
    task = {
        "id": "det",
        "type": "vision.detection",
        "dataset": "builtin:defects",
        "score_threshold": 0.0,
    }
    suite.write_text(yaml.safe_dump({"standard": "vision", "name": "d", "tasks": [task]}))
    store = open_store()
    run_id = execute_run(
        store,
        RunRequest(suite=str(suite), subject=f"torch:{tmp_path / 'det.py'}:build"),
        show_progress=False,
    )
    doc = build_report_doc(store, store.get_run(run_id))
    validate_report(doc)
    m = {k: v["value"] for k, v in doc["tasks"][0]["metrics"].items()}

    spec = importlib.util.spec_from_file_location("det_ref", tmp_path / "det.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.build()
    root = builtin_defects_dir()
    cats = ["crack", "scratch", "spot"]
    gt = {
        "images": [],
        "annotations": [],
        "categories": [{"id": i + 1, "name": c} for i, c in enumerate(cats)],
    }
    results = []
    for img_id, img in enumerate(sorted((root / "test").rglob("*.png")), start=1):
        x = np.asarray(Image.open(img).convert("RGB"), dtype=np.float32) / 255.0
        gt["images"].append({"id": img_id, "width": 64, "height": 64})
        if img.parent.name != "good":
            mask = (
                np.asarray(
                    Image.open(
                        root / "ground_truth" / img.parent.name / f"{img.stem}_mask.png"
                    ).convert("L")
                )
                > 127
            )
            lab, _ = label(mask, structure=np.ones((3, 3)))
            for sl in find_objects(lab):
                w, h = sl[1].stop - sl[1].start, sl[0].stop - sl[0].start
                gt["annotations"].append(
                    {
                        "id": len(gt["annotations"]) + 1,
                        "image_id": img_id,
                        "category_id": cats.index(img.parent.name) + 1,
                        "bbox": [sl[1].start, sl[0].start, w, h],
                        "area": w * h,
                        "iscrowd": 0,
                    }
                )
        with torch.inference_mode():
            out = model(torch.from_numpy(x.transpose(2, 0, 1)[None].copy()))
        for b, s, lab_i in zip(
            out["boxes"][0].numpy(), out["scores"][0].numpy(), out["labels"][0].numpy(), strict=True
        ):
            if s >= 0:
                results.append(
                    {
                        "image_id": img_id,
                        "category_id": int(lab_i) + 1,
                        "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                        "score": float(s),
                    }
                )
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(tmp_path / "gt.json"))
        ev = COCOeval(coco, coco.loadRes(results), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert m["vision_ap"] == pytest.approx(ev.stats[0], abs=1e-9)
    assert m["vision_ap50"] == pytest.approx(ev.stats[1], abs=1e-9)
    assert 0 < m["vision_ap50"] < 1
    section = next(s for s in doc["sections"] if s["id"] == "det-detection")
    assert [r[0] for r in section["table"]["rows"]] == cats


def _gold(root: Path) -> list[tuple[Path, list[list]]]:
    from scipy.ndimage import find_objects, label

    out = []
    for img in sorted((root / "test").rglob("*.png")):
        rows = []
        if img.parent.name != "good":
            mask = (
                np.asarray(
                    Image.open(
                        root / "ground_truth" / img.parent.name / f"{img.stem}_mask.png"
                    ).convert("L")
                )
                > 127
            )
            for sl in find_objects(label(mask, structure=np.ones((3, 3)))[0]):
                rows.append([img.parent.name, sl[1].start, sl[0].start, sl[1].stop, sl[0].stop])
        out.append((img, rows))
    return out


def test_yolo_voc_and_coco_layouts_give_the_same_ap(tmp_path: Path) -> None:
    """The built-in boxes written as a YOLO folder and as a VOC folder: same AP as builtin."""
    pytest.importorskip("torch")
    from pingce.core.reporting import build_report_doc
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.store import open_store
    from pingce.vision.tasks import builtin_defects_dir

    cats = ["crack", "scratch", "spot"]
    yolo, voc = tmp_path / "yolo", tmp_path / "voc"
    for d in (yolo / "images", yolo / "labels", voc / "Annotations", voc / "JPEGImages"):
        d.mkdir(parents=True)
    (yolo / "classes.txt").write_text("\n".join(cats) + "\n")
    for i, (img, rows) in enumerate(_gold(builtin_defects_dir())):
        name = f"{i:03d}.png"
        data = img.read_bytes()
        (yolo / "images" / name).write_bytes(data)
        (voc / "JPEGImages" / name).write_bytes(data)
        (yolo / "labels" / f"{i:03d}.txt").write_text(
            "".join(
                f"{cats.index(c)} {(x0 + x1) / 128:.10f} {(y0 + y1) / 128:.10f} {(x1 - x0) / 64:.10f} {(y1 - y0) / 64:.10f}\n"
                for c, x0, y0, x1, y1 in rows
            )
        )
        objs = "".join(
            f"<object><name>{c}</name><difficult>0</difficult><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>"
            for c, x0, y0, x1, y1 in rows
        )
        (voc / "Annotations" / f"{i:03d}.xml").write_text(
            f"<annotation><filename>{name}</filename><size><width>64</width><height>64</height><depth>3</depth></size>{objs}</annotation>"
        )
    (tmp_path / "det.py").write_text(DETECTOR)
    aps = {}
    for name, dataset in (("builtin", "builtin:defects"), ("yolo", str(yolo)), ("voc", str(voc))):
        suite = tmp_path / f"{name}.yaml"
        task = {"id": "det", "type": "vision.detection", "dataset": dataset, "class_names": cats}
        suite.write_text(yaml.safe_dump({"standard": "vision", "name": name, "tasks": [task]}))
        store = open_store()
        run_id = execute_run(
            store,
            RunRequest(suite=str(suite), subject=f"torch:{tmp_path / 'det.py'}:build"),
            show_progress=False,
        )
        doc = build_report_doc(store, store.get_run(run_id))
        aps[name] = (doc["tasks"][0]["metrics"]["vision_ap"]["value"], doc["tasks"][0]["n_samples"])
    assert aps["yolo"][0] == pytest.approx(aps["builtin"][0], abs=1e-6)
    assert aps["voc"][0] == pytest.approx(aps["builtin"][0], abs=1e-9)
    assert aps["voc"][1] == aps["yolo"][1] == aps["builtin"][1] == 18
