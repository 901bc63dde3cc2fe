"""The labeling package's shape: registration in plugin.py, namespaced task types (the older
`label.*` names still accepted), a YAML suite per task, stored rows read by name, and the
report's shape pinned on a hand-counted detection case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pingce.core.errors import SpecError
from pingce.core.registry import commands, demos, standards, task_types
from pingce.core.run import RunRequest, execute_run
from pingce.core.spec import load_suite
from pingce.core.store import open_store
from pingce.labeling.evaluation import TASKS, labeling_options
from pingce.labeling.rows import LabelRow

NAMESPACED = (
    "labeling.detection",
    "labeling.classification",
    "labeling.segmentation",
    "labeling.effort",
)


def test_plugin_registers_namespaced_task_types_with_old_aliases() -> None:
    from pingce.labeling import plugin

    plugin.register()  # idempotent
    assert "labeling" in standards and "label" in commands and "60-labeling" in demos
    for name in NAMESPACED:
        old = "label." + name.split(".", 1)[1]
        assert name in task_types and old in task_types
        assert task_types.get(old) is task_types.get(name)


@pytest.mark.parametrize("task", TASKS)
def test_every_task_has_a_builtin_yaml_suite(task: str) -> None:
    suite = load_suite(f"labeling/{task}")
    assert suite.spec.standard == "labeling" and suite.spec.name == f"labeling/{task}"
    assert [t.type for t in suite.spec.tasks] == [f"labeling.{task}"]


def test_unknown_type_names_the_labeling_types(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("standard: labeling\nname: t\ntasks:\n  - {id: d, type: labeling.detect}\n")
    with pytest.raises(SpecError) as info:
        load_suite(str(path))
    assert "labeling.detect" in str(info.value) and "labeling.detection" in (info.value.hint or "")


def test_stored_rows_are_read_by_name() -> None:
    """Rows stored before area/iscrowd existed (7 fields), and 5-field test rows, read the same."""
    full = LabelRow.of(["cat", 1, 2, 3, 4, 0.9, "txt", 12.0, 1])
    assert (full.label, full.bbox, full.score, full.text, full.area) == (
        "cat",
        [1, 2, 3, 4],
        0.9,
        "txt",
        12.0,
    )
    assert full.crowd and full.is_box and full.box_area == 12.0
    old = LabelRow.of(["dog", 0, 0, 2, 5, None, None])
    assert not old.crowd and old.area is None and old.box_area == 10.0
    tag = LabelRow.of(["street", None, None, None, None])
    assert not tag.is_box


def _coco(path: Path, images: list[tuple[int, int, int]], anns: list[tuple]) -> Path:
    cats = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
    path.write_text(
        json.dumps(
            {
                "images": [
                    {"id": i, "file_name": f"im{i}.png", "width": w, "height": h}
                    for i, w, h in images
                ],
                "categories": cats,
                "annotations": [
                    {
                        "id": k + 1,
                        "image_id": im,
                        "category_id": c,
                        "bbox": list(b),
                        "area": b[2] * b[3],
                        "iscrowd": 0,
                    }
                    for k, (im, c, b) in enumerate(anns)
                ],
            }
        )
    )
    return path


@pytest.mark.parametrize("type_name", ["labeling.detection", "label.detection"])
def test_detection_report_shape_on_a_hand_counted_case(tmp_path: Path, type_name: str) -> None:
    """Hand count: image 1 has a cat matched exactly, a dog shifted 2 px (IoU 360/440, valid)
    and a spurious cat; image 2's cat is predicted as a dog (mismatched). valid 2, predicted
    4, gold 3, total 4: precision 2/4, recall 2/3, F1 2*2/(4+3), accuracy 2/4. The old type
    name gives the same report."""
    images = [(1, 100, 100), (2, 100, 100)]
    gold = _coco(
        tmp_path / "gold.json",
        images,
        [(1, 1, (10, 10, 20, 20)), (1, 2, (50, 50, 20, 20)), (2, 1, (0, 0, 30, 30))],
    )
    pred = _coco(
        tmp_path / "pred.json",
        images,
        [
            (1, 1, (10, 10, 20, 20)),
            (1, 2, (52, 50, 20, 20)),
            (1, 1, (80, 80, 10, 10)),
            (2, 2, (0, 0, 30, 30)),
        ],
    )
    suite_file = tmp_path / "suite.yaml"
    suite_file.write_text(
        f"standard: labeling\nname: t/det\ntasks:\n  - {{id: detection, type: {type_name}}}\n"
    )
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    request = RunRequest(
        suite=load_suite(str(suite_file)),
        subject=f"labels:{pred}?format=coco",
        options=labeling_options(str(gold)),
    )
    results = store.get_run(execute_run(store, request, show_progress=False)).results
    (task,) = results["tasks"]
    assert task["type"] == type_name and task["primary_metric"] == "label_f1"
    m = task["metrics"]
    assert m["label_precision"]["value"] == pytest.approx(2 / 4)
    assert m["label_recall"]["value"] == pytest.approx(2 / 3)
    assert m["label_f1"]["value"] == pytest.approx(4 / 7)
    assert m["label_accuracy"]["value"] == pytest.approx(2 / 4)
    assert m["label_mean_iou"]["value"] == pytest.approx((1.0 + 360 / 440) / 2)
    assert all(
        row["n"] == 2 and row["direction"] == "higher"
        for k, row in m.items()
        if k in ("label_precision", "label_f1")
    )
    # one indicator entry per metric row, same numbers, no verdict without a threshold
    inds = {i["id"]: i for i in results["indicators"]}
    assert set(inds) == set(m)
    assert (
        inds["label_f1"]["value"] == m["label_f1"]["value"]
        and inds["label_f1"]["scope"] == "detection"
    )
    assert (
        inds["label_f1"]["verdict"] is None
        and inds["label_f1"]["ci_low"] == m["label_f1"]["ci_low"]
    )
    ids = [s["id"] for s in results["sections"]]
    assert ids == [
        "detection-quality",
        "detection-per-class",
        "detection-per-size",
        "detection-confusion",
        "detection-gallery",
        "input-problems",
    ]
    quality = next(s for s in results["sections"] if s["id"] == "detection-quality")["table"]
    q = dict(zip(quality["columns"], quality["rows"][0], strict=True))
    assert (q["valid"], q["mismatched_label"], q["missing"], q["extra"]) == (2, 1, 0, 1)
    assert (q["predicted"], q["gold"], q["total"]) == (4, 3, 4)
    per_class = next(s for s in results["sections"] if s["id"] == "detection-per-class")
    rows = {r[0]: r for r in per_class["table"]["rows"]}
    assert rows["cat"][1:4] == [2, 2, 1] and rows["dog"][1:4] == [1, 2, 1]  # gold, pred, valid
    confusion = next(s for s in results["sections"] if s["id"] == "detection-confusion")
    chart = confusion["charts"][0]
    cell = dict(zip(chart["columns"], chart["values"][chart["rows"].index("cat")], strict=True))
    assert cell == {"cat": 1.0, "dog": 1.0, "(missed)": 0.0}


def test_builtin_suite_without_gold_is_one_error_line(tmp_path: Path, pingce_cli) -> None:
    """`pingce run --suite labeling/detection` has no --gold: the error says where gold goes."""
    pred = tmp_path / "p.json"
    pred.write_text('{"images": [], "annotations": [], "categories": []}')
    res = pingce_cli(
        ["run", "--suite", "labeling/detection", "--model", f"labels:{pred}"], tmp_path
    )
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert res.stderr.startswith("error: task detection: no gold labels") and "gold:" in res.stderr
