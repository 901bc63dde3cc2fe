"""The vision.segmentation task end to end: a small eager PyTorch segmenter (local contrast
threshold) on the built-in defect surfaces; mIoU and Dice checked against scikit-learn's
jaccard_score / f1_score on the model's own outputs, computed here from the PNG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from sklearn import metrics as skm

SEGMENTER = """
import torch

class Contrast(torch.nn.Module):
    def forward(self, x):
        g = x.mean(dim=1, keepdim=True)
        local = torch.nn.functional.avg_pool2d(g, 9, stride=1, padding=4, count_include_pad=False)
        d = (g - local).abs()
        return torch.cat([torch.full_like(d, 0.12), d], dim=1)

def build():
    return Contrast()
"""


def test_segmentation_matches_sklearn_on_the_models_outputs(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from pingce.core.report.validation import validate_report
    from pingce.core.reporting import build_report_doc
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.store import open_store
    from pingce.vision.tasks import builtin_defects_dir

    (tmp_path / "seg.py").write_text(SEGMENTER)
    suite = tmp_path / "s.yaml"
    task = {
        "id": "seg",
        "type": "vision.segmentation",
        "dataset": "builtin:defects",
        "boundary_tolerance_px": 1,
        "requirements": {"vision_miou": ">= 0.99"},
    }
    suite.write_text(yaml.safe_dump({"standard": "vision", "name": "s", "tasks": [task]}))
    store = open_store()
    run_id = execute_run(
        store,
        RunRequest(suite=str(suite), subject=f"torch:{tmp_path / 'seg.py'}:build"),
        show_progress=False,
    )
    doc = build_report_doc(store, store.get_run(run_id))
    validate_report(doc)
    m = {k: v["value"] for k, v in doc["tasks"][0]["metrics"].items()}

    root = builtin_defects_dir()
    gts, preds = [], []
    import importlib.util

    spec = importlib.util.spec_from_file_location("seg_ref", tmp_path / "seg.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.build()
    for img in sorted((root / "test").rglob("*.png")):
        x = np.asarray(Image.open(img).convert("RGB"), dtype=np.float32) / 255.0
        with torch.inference_mode():
            out = model(torch.from_numpy(x.transpose(2, 0, 1)[None].copy())).numpy()
        preds.append(out[0].argmax(0).ravel())
        kind = img.parent.name
        if kind == "good":
            gts.append(np.zeros(x.shape[:2], dtype=int).ravel())
        else:
            mask = (
                np.asarray(
                    Image.open(root / "ground_truth" / kind / f"{img.stem}_mask.png").convert("L")
                )
                > 127
            )
            gts.append(mask.astype(int).ravel())
    g, p = np.concatenate(gts), np.concatenate(preds)
    assert m["vision_miou"] == pytest.approx(skm.jaccard_score(g, p, average="macro"))
    assert m["vision_dice"] == pytest.approx(skm.f1_score(g, p, average="macro"))
    assert 0 < m["vision_boundary_f1"] <= 1
    assert 0.3 < m["vision_miou"] < 0.99  # a crude segmenter: finds defects, not perfectly
    req = next(s for s in doc["sections"] if s["id"] == "requirements")
    assert req["table"]["rows"][0][4] == "FAIL"
    table = next(s for s in doc["sections"] if s["id"] == "seg-per-class")["table"]
    assert [r[0] for r in table["rows"]] == ["background", "defect"]
