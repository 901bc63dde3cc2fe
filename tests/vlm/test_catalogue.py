"""Release-layout readers on pingce's own samples, their one-line errors, and the
benchmark-specific scores checked against hand cases from the published scoring code
(OCRBench's containment rule, ChartQA's relaxed accuracy as in pix2struct)."""

from __future__ import annotations

import io
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from pingce.core.errors import DataError
from pingce.vlm import catalogue as cat
from pingce.vlm import logistics as lp
from pingce.vlm import metrics as m


def test_every_sample_reads_with_its_images() -> None:
    sizes = {
        "pope": 6, "mmbench_en": 4, "mmbench_cn": 2, "ocrbench": 2, "docvqa": 2,
        "textvqa": 1, "chartqa": 2, "refcoco": 3,
    }  # fmt: skip
    for name, n in sizes.items():
        items = cat.read_sample(name)
        assert len(items) == n, name
        for item in items:
            assert item.question and item.answers
            assert isinstance(item.image, bytes) or item.image.is_file()
    with pytest.raises(DataError, match="unknown vlm sample 'mmbnech'"):
        cat.read_sample("mmbnech")


def test_mmbench_options_images_and_circular_groups() -> None:
    from PIL import Image

    items = cat.read_sample("mmbench_en")
    first, rotated, two_opts, three_opts = items
    assert first.options == ["red", "green", "blue", "yellow"] and first.answers == ["A"]
    assert two_opts.options == ["forklift", "truck"]  # "nan" options dropped
    assert three_opts.options == ["0", "1", "2"] and two_opts.meta["hint"] == "A logistics yard."
    assert first.meta["circular_group"] == rotated.meta["circular_group"] == 0
    # the right option text is the same under the rotation
    letter = "ABCD".index
    assert first.options[letter(first.answers[0])] == rotated.options[letter(rotated.answers[0])]
    assert Image.open(io.BytesIO(first.image)).size == (64, 64)
    # CircularEval over the group: right at shift 0, wrong at the rotation -> the question fails
    scored = [[it.meta["circular_group"], ok] for it, ok in zip(items, [1, 0, 1, 1], strict=True)]
    assert m.circular_accuracy(scored) == pytest.approx(2 / 3)
    cn = cat.read_sample("mmbench_cn")
    assert cn[1].options == ["叉车", "卡车"] and cn[1].meta["hint"] == "物流园区"


def test_refcoco_boxes_cover_the_objects_in_the_image() -> None:
    from PIL import Image
    from scipy import ndimage

    items = cat.read_sample("refcoco")
    assert [i.question for i in items] == ["person on the right", "worker in green", "orange forklift"]  # fmt: skip
    assert isinstance(items[0].image, Path)
    arr = np.asarray(Image.open(items[0].image).convert("RGB")).astype(int)
    for item, colours in ((items[0], lp.CLASS_COLOURS["person"]), (items[2], lp.CLASS_COLOURS["forklift"])):  # fmt: skip
        mask = np.zeros(arr.shape[:2], bool)
        for c in colours:  # JPEG: near the colour, not equal to it
            mask |= np.abs(arr - np.array(c)).sum(axis=2) < 30
        # JPEG ringing leaves specks of similar colour near edges: keep the sizable parts
        labels, n = ndimage.label(mask)
        sizes = ndimage.sum(mask, labels, range(1, n + 1))
        mask = np.isin(labels, [k + 1 for k in range(n) if sizes[k] >= 20])
        ys, xs = np.nonzero(mask)
        extent = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        assert item.box is not None
        assert np.allclose(extent, item.box, atol=2), (extent, item.box)
        assert m.grounding_iou(item.answers[0], item.box, 200, 150, "pixel") == 1.0


def test_refcoco_refuses_a_pickle_that_would_run_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    bad = tmp_path / "refs(unc).p"
    bad.write_bytes(pickle.dumps([Evil()], protocol=2))
    with pytest.raises(DataError, match="not a refs pickle of plain lists and dicts"):
        cat.read_refcoco(bad, cat.SAMPLES / "refcoco" / "instances.json", tmp_path)
    assert not marker.exists()


def test_layout_mistakes_are_one_line_data_errors(tmp_path: Path) -> None:
    (tmp_path / "pope.json").write_text(json.dumps({"question_id": 1, "image": "a.jpg", "text": "Is there a cat?"}) + "\n")  # fmt: skip
    with pytest.raises(DataError, match=r"pope.json:1: missing field 'label'"):
        cat.read_pope(tmp_path / "pope.json", tmp_path)
    (tmp_path / "pope.json").write_text(json.dumps({"question_id": 1, "image": "a.jpg", "text": "?", "label": "yes"}) + "\n")  # fmt: skip
    with pytest.raises(DataError, match="image 'a.jpg' not found"):
        cat.read_pope(tmp_path / "pope.json", tmp_path)
    tsv = tmp_path / "mm.tsv"
    tsv.write_text("index\tquestion\tA\tB\tanswer\timage\n1\tq\tx\ty\tC\taGVsbG8=\n")
    with pytest.raises(DataError, match=r"mm.tsv:2: field 'answer' 'C' is not one of the options"):
        cat.read_mmbench(tsv)
    tsv.write_text("index\tquestion\tA\tB\tanswer\timage\n1\tq\tx\ty\tA\t!!notbase64\n")
    with pytest.raises(DataError, match="field 'image' is not base64"):
        cat.read_mmbench(tsv)
    tsv.write_text("index\tquestion\tA\tanswer\n1\tq\tx\tA\n")
    with pytest.raises(DataError, match="missing column 'image'"):
        cat.read_mmbench(tsv)
    (tmp_path / "doc.json").write_text("[]")
    with pytest.raises(DataError, match='expected an object with a "data" list'):
        cat.read_docvqa(tmp_path / "doc.json", tmp_path)
    with pytest.raises(DataError, match="file not found"):
        cat.read_chartqa(tmp_path / "nope.json")


def test_scores_on_the_samples_hand_cases() -> None:
    # TextVQA: 6 x "7", 3 x "dock 7", 1 x "seven" (normalised to "7"): "7" has 7 matches -> 1.0;
    # "dock 7" has 3 -> (3*2/3 + 7*1)/10 = 0.9.
    (tv,) = cat.read_sample("textvqa")
    assert m.vqa_accuracy("Seven.", tv.answers) == pytest.approx(1.0)
    assert m.vqa_accuracy("dock 7", tv.answers) == pytest.approx(0.9)
    docs = cat.read_sample("docvqa")
    assert m.anls("dn2026-0042", docs[0].answers) == 1.0
    assert m.anls("DN2026-0048", docs[0].answers) == pytest.approx(1 - 1 / 11)
    ocr = cat.read_sample("ocrbench")
    assert m.ocrbench_match("The word is parcel.", ocr[0].answers, "IIIT5K") == 1.0
    assert m.ocrbench_match("x^2+1", ocr[1].answers, "HME100k") == 1.0
    assert m.ocrbench_match("X^2+1", ocr[1].answers, "HME100k") == 0.0  # formulas keep case
    chart = cat.read_sample("chartqa")
    assert m.relaxed_accuracy("83", chart[0].answers) == 1.0  # 3.75% off
    assert m.relaxed_accuracy("85", chart[0].answers) == 0.0  # 6.25% off
    assert m.relaxed_accuracy("mon", chart[1].answers) == 1.0
    assert m.relaxed_accuracy("12%", ["0.125"]) == 1.0  # percent read as a fraction
    assert m.relaxed_accuracy("0.0", ["0"]) == 0.0  # a zero reference needs the same string
    pope = cat.read_sample("pope")
    pairs = [[int(m.pope_answer(a) == "yes"), int(i.answers == ["yes"])] for i, a in zip(pope, ["Yes.", "No.", "No, none.", "Yes", "yes", "no"], strict=True)]  # fmt: skip
    # hand count: TP 2, FP 1, FN 1, TN 2 -> precision 2/3, recall 2/3, yes-ratio 1/2
    assert m.pope_precision(pairs) == pytest.approx(2 / 3)
    assert m.pope_recall(pairs) == pytest.approx(2 / 3)
    assert m.pope_yes_ratio(pairs) == pytest.approx(0.5)
