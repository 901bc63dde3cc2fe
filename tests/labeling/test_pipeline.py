"""`pingce label ...` end to end through the shared run pipeline: bad input is counted and
named, reports validate against the schema, runs resume, and the demo step is quick."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pingce.core.store import open_store


def _pingce(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pingce.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
    )


def test_evaluate_counts_bad_input(tmp_path: Path, synth_set: dict[str, Path]) -> None:
    images = tmp_path / "images"
    shutil.copytree(synth_set["images"], images)
    gold = json.loads(synth_set["detection"].read_text())
    pred = json.loads(json.dumps(gold))
    names = [i["file_name"] for i in gold["images"]]
    anns = pred["annotations"]
    anns[0]["bbox"] = [250.0, 180.0, 40.0, 40.0]  # reaches past the 256x192 image
    anns[1]["bbox"][2] = -5.0  # negative width
    anns[2]["category_id"] = 99  # unknown class id
    drop = pred["images"][-1]["id"]  # an image the predictions never mention
    pred["images"] = pred["images"][:-1]
    pred["annotations"] = [a for a in anns if a["image_id"] != drop]
    pred["images"].append({"id": 999, "file_name": "stranger.png", "width": 10, "height": 10})
    (tmp_path / "pred.json").write_text(json.dumps(pred))
    (images / names[1]).write_bytes(b"\x89PNG\r\n\x1a\n truncated")  # corrupt image file
    (images / names[2]).unlink()  # missing image file
    r = _pingce(
        "label",
        "evaluate",
        "--pred",
        "pred.json",
        "--gold",
        str(synth_set["detection"]),
        "--images",
        str(images),
        "--report-dir",
        "rep",
        "-q",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(next((tmp_path / "rep").glob("*/report.json")).read_text())
    counts = doc["extra"]["problem_counts"]
    for kind in (
        "box_outside_image",
        "negative_size",
        "unknown_class",
        "image_not_in_pred",
        "image_not_in_gold",
        "corrupt_image",
        "image_missing",
    ):
        assert counts.get(kind, 0) >= 1, (kind, counts)
    listed = {(p["kind"], p["image"]) for p in doc["extra"]["problems"]}
    assert ("corrupt_image", names[1]) in listed and ("image_missing", names[2]) in listed
    assert ("image_not_in_gold", "stranger.png") in listed
    section = next(s for s in doc["sections"] if s["id"] == "input-problems")
    assert any(row[1] == "negative_size" for row in section["table"]["rows"])
    # The unscored boxes show up as missing: recall < 1, precision unaffected by them.
    metrics = doc["tasks"][0]["metrics"]
    assert metrics["label_recall"]["value"] < 1.0
    # The gallery is a report section of boxes charts (no longer in extra), and the
    # standalone gallery.html the docs promise is still written beside the report.
    assert all("gallery" not in t for t in doc["extra"]["tasks"].values())
    gallery = next(s for s in doc["sections"] if s["id"] == "detection-gallery")
    by_name = {c["title"]: c for c in gallery["charts"]}
    assert by_name and all(c["kind"] == "boxes" for c in by_name.values())
    # An image that does not decode is drawn without a picture; the others have one.
    assert by_name[names[1]]["image"] is None
    assert all(c["image"] for n, c in by_name.items() if n not in (names[1], names[2]))
    run_dir = tmp_path / "rep" / doc["run"]["id"]
    html = (run_dir / "report.html").read_text()
    assert 'id="section-detection-gallery"' in html and 'class="chart boxes"' in html
    assert html.count('class="chart boxes"') == len(gallery["charts"])
    assert "data:image/jpeg;base64," not in (run_dir / "report.md").read_text()
    assert (run_dir / "gallery.html").read_text().count('class="chart boxes"') == len(
        gallery["charts"]
    )


def test_cli_errors_are_one_line(tmp_path: Path, synth_set: dict[str, Path]) -> None:
    r = _pingce(
        "label",
        "evaluate",
        "--pred",
        "nope.json",
        "--gold",
        str(synth_set["detection"]),
        "--no-report",
        cwd=tmp_path,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "nope.json" in r.stderr
    r = _pingce(
        "label", "run", "--labeler", "magic", "--images", str(synth_set["images"]), cwd=tmp_path
    )
    assert r.returncode == 2 and "unknown labeler" in r.stderr


def test_classification_segmentation_effort_runs(
    tmp_path: Path, synth_set: dict[str, Path]
) -> None:
    import numpy as np

    from pingce.labeling.cli import evaluate_labels
    from pingce.labeling.formats import read_labels, write_labels
    from pingce.labeling.model import Annotation

    store = open_store(os.environ["PINGCE_DB"])
    # Classification: the shape detector's largest box as the image class, against gold CSV.
    rid = evaluate_labels(
        store,
        "labeler:shapes",
        str(synth_set["classification"]),
        "classification",
        images=synth_set["images"],
        show_progress=False,
    )
    cls = store.get_run(rid).results["tasks"][0]["metrics"]
    assert cls["label_cls_accuracy"]["value"] == pytest.approx(1.0)
    # Segmentation: gold masks with one image's masks erased -> mIoU below 1.
    gold = read_labels(synth_set["segmentation"])
    first = sorted(gold.masks)[0]
    gold.masks[first] = np.zeros_like(gold.masks[first])
    write_labels(gold, tmp_path / "pred_masks", "masks")
    rid = evaluate_labels(
        store,
        f"labels:{tmp_path / 'pred_masks'}?format=masks",
        str(synth_set["segmentation"]),
        "segmentation",
        show_progress=False,
    )
    seg = store.get_run(rid).results["tasks"][0]["metrics"]
    assert 0 < seg["label_seg_miou"]["value"] < 1
    # Effort: corrected = gold, with Label Studio lead_time; predictions = gold minus one box.
    det = read_labels(synth_set["detection"])
    det.lead_time = {k: 10.0 for k in det.images}
    write_labels(det, tmp_path / "final.json", "labelstudio", which="annotations")
    det.annotations = det.annotations[1:]
    det.annotations.append(Annotation(next(iter(det.images)), "circle", (1.0, 1.0, 5.0, 5.0)))
    write_labels(det, tmp_path / "pred.json", "labelstudio", which="predictions")
    rid = evaluate_labels(
        store,
        f"labels:{tmp_path / 'pred.json'}?format=labelstudio&which=predictions",
        str(tmp_path / "final.json"),
        "effort",
        show_progress=False,
    )
    res = store.get_run(rid).results
    eff = res["tasks"][0]["metrics"]
    assert eff["label_measured_s_per_image"]["value"] == pytest.approx(10.0)
    counts = res["extra"]["tasks"]["effort"]["effort"]
    assert (counts["added"], counts["deleted"]) == (1, 1)
    assert 0 < eff["label_time_saved"]["value"] < 1


def test_report_regenerates_and_run_resumes(tmp_path: Path, synth_set: dict[str, Path]) -> None:
    from pingce.core.report import write_report
    from pingce.core.reporting import build_report_doc
    from pingce.core.run import execute_run

    store = open_store(os.environ["PINGCE_DB"])
    from pingce.labeling.cli import evaluate_labels

    rid = evaluate_labels(
        store,
        "labeler:shapes",
        str(synth_set["detection"]),
        "detection",
        images=synth_set["images"],
        show_progress=False,
    )
    row = store.get_run(rid)
    doc = build_report_doc(store, row)
    paths = write_report(doc, tmp_path / rid)  # validates against the report schema
    assert {p.name for p in paths} == {"report.html", "report.md", "report.json"}
    html = (tmp_path / rid / "report.html").read_text()
    assert "img-src data:" in html and "label confusion" in html
    n = len(store.records(rid))
    again = execute_run(store, resume=rid, show_progress=False)
    assert again == rid and len(store.records(rid)) == n
    assert store.get_run(rid).results["tasks"] == row.results["tasks"]


def test_label_run_writes_every_format(tmp_path: Path, synth_set: dict[str, Path]) -> None:
    from pingce.labeling.formats import read_labels

    for fmt, out in (
        ("coco", "l.json"),
        ("yolo", "yolo"),
        ("voc", "voc"),
        ("labelstudio", "ls.json"),
        ("cvat", "c.xml"),
    ):
        r = _pingce(
            "label",
            "run",
            "--labeler",
            "shapes",
            "--images",
            str(synth_set["images"]),
            "--out",
            fmt,
            "--out-path",
            out,
            "-q",
            cwd=tmp_path,
        )
        assert r.returncode == 0, r.stderr
        assert "images/s" in r.stdout
        ls = read_labels(tmp_path / out, fmt, images_dir=synth_set["images"], which="predictions")
        assert len(ls.images) == 6 and ls.annotations


def test_demo_step(tmp_path: Path) -> None:
    from rich.console import Console

    from pingce.core.demo import DemoContext
    from pingce.core.registry import demos
    from pingce.core.report import write_report
    from pingce.core.reporting import build_report_doc

    store = open_store(os.environ["PINGCE_DB"])
    ctx = DemoContext(store=store, report_dir=tmp_path, console=Console(quiet=True), quiet=True)
    run_id = demos.get("60-labeling")(ctx)
    row = store.get_run(run_id)
    assert row.status == "completed"
    write_report(build_report_doc(store, row), tmp_path / run_id)
    metrics = row.results["tasks"][0]["metrics"]
    assert 0 < metrics["label_f1"]["value"] < 1  # the demo set is made to be imperfect
    assert "label_cer" in metrics and "label_ap" in metrics


def test_every_indicator_is_documented() -> None:
    from pingce.labeling.standard import LabelingStandard

    page = (Path(__file__).resolve().parents[2] / "docs" / "standards" / "labeling.md").read_text()
    missing = [i.id for i in LabelingStandard().indicators() if f"`{i.id}`" not in page]
    assert not missing, f"docs/standards/labeling.md lacks {missing}"
