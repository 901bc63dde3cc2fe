"""The logistics-park generator: deterministic by seed, never overwrites, and every reference
answer agrees with what is actually in the rendered pixels (found by colour with
scipy.ndimage, independently of the generator's bookkeeping) or, for the waybills, with what
an OCR engine (RapidOCR's PP-OCR models) reads off the image."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pingce.core.errors import DataError
from pingce.vlm import logistics as lp
from pingce.vlm import metrics


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> lp.Generated:
    return lp.generate(tmp_path_factory.mktemp("lp") / "suite", per_type=6, seed=7)


def _rows(gen: lp.Generated, item_type: str) -> list[dict[str, Any]]:
    rows = [
        json.loads(line) for line in (gen.folder / "items.jsonl").read_text("utf-8").splitlines()
    ]
    return [r for r in rows if r["item_type"] == item_type]


def _mask(
    gen: lp.Generated, row: dict[str, Any], colours: tuple[tuple[int, int, int], ...]
) -> np.ndarray:
    from PIL import Image

    arr = np.asarray(Image.open(gen.folder / row["image"]).convert("RGB"))
    mask = np.zeros(arr.shape[:2], bool)
    for c in colours:
        mask |= (arr == np.array(c, dtype=arr.dtype)).all(axis=2)
    return mask


def _components(mask: np.ndarray) -> int:
    from scipy import ndimage

    return int(ndimage.label(mask)[1])


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a = lp.generate(tmp_path / "a", per_type=2, seed=3, item_types=["parcel_count", "waybill_ocr"])
    b = lp.generate(tmp_path / "b", per_type=2, seed=3, item_types=["parcel_count", "waybill_ocr"])
    c = lp.generate(tmp_path / "c", per_type=2, seed=4, item_types=["parcel_count", "waybill_ocr"])
    assert _digest(a.folder) == _digest(b.folder)
    assert _digest(a.folder) != _digest(c.folder)
    assert len(a.items) == 4 and (a.folder / "images" / "parcel_count-0001.png").is_file()


def test_never_overwrites_and_rejects_bad_options(tmp_path: Path) -> None:
    existing = tmp_path / "mine"
    existing.mkdir()
    (existing / "keep.txt").write_text("user data")
    with pytest.raises(DataError, match="already exists"):
        lp.generate(existing, per_type=1)
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]
    with pytest.raises(DataError, match="unknown logistics item type 'forklfit'"):
        lp.generate(tmp_path / "x", item_types=["forklfit"])
    assert not (tmp_path / "x").exists()


def test_every_item_type_has_a_bilingual_indicator_and_a_known_metric(suite: lp.Generated) -> None:
    assert {i.item_type for i in suite.items} == set(lp.ITEM_TYPES)
    for spec in lp.ITEM_TYPES.values():
        assert spec.metric in metrics.METRICS
        assert any("\u4e00" <= ch <= "\u9fff" for ch in spec.name_zh) and spec.name
    manifest = json.loads((suite.folder / "manifest.json").read_text("utf-8"))
    assert manifest["seed"] == 7 and manifest["cjk"] == (lp.find_cjk_font() is not None)


def test_parcel_counts_match_the_pixels(suite: lp.Generated) -> None:
    for row in _rows(suite, "parcel_count"):
        n = _components(_mask(suite, row, lp.CLASS_COLOURS["parcel"]))
        assert str(n) == row["answers"][0]
        assert metrics.count_error(row["answers"][0], n) == 0


def test_localisation_boxes_are_the_objects_pixel_extent(suite: lp.Generated) -> None:
    rows = _rows(suite, "localisation")
    for row in rows:
        ys, xs = np.nonzero(_mask(suite, row, lp.CLASS_COLOURS[row["meta"]["target"]]))
        extent = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        assert tuple(row["meta"]["box"]) == extent
        # the reference answer parses back (pixel convention) to IoU 1
        assert metrics.grounding_iou(row["answers"][0], extent, 640, 480, "pixel") == 1.0


def test_yes_no_answers_match_the_pixels(suite: lp.Generated) -> None:
    for row in _rows(suite, "damaged_parcel"):
        has_damage = bool(_mask(suite, row, (lp.DAMAGE,)).any())
        assert row["answers"] == ["yes" if has_damage else "no"]
    for row in _rows(suite, "safety_helmet"):
        people = _components(_mask(suite, row, (lp.VEST,)))
        helmets = _components(_mask(suite, row, (lp.HELMET,)))
        assert row["answers"] == ["yes" if helmets < people else "no"]
    for row in _rows(suite, "safety_lane"):
        vest = _mask(suite, row, (lp.VEST,))
        in_lane = bool(vest[lp.LANE_Y[0] : lp.LANE_Y[1]].any())
        assert row["answers"] == ["yes" if in_lane else "no"]
    for row in _rows(suite, "stacking_rule"):
        mask = _mask(suite, row, lp.CLASS_COLOURS["parcel"])
        heights = []
        for i in range(len(row["meta"]["stacks"])):
            column = mask[:, 30 + i * 120 : 30 + i * 120 + 80]
            heights.append(_components(column))
        assert heights == row["meta"]["stacks"]
        assert row["answers"] == ["yes" if max(heights) > lp.STACK_LIMIT else "no"]
    for row in _rows(suite, "dock_occupancy"):
        assert row["answers"] == [str(_components(_mask(suite, row, (lp.TRUCK,))))]


def test_english_only_mode_draws_no_chinese(tmp_path: Path) -> None:
    gen = lp.generate(tmp_path / "en", per_type=4, seed=1, item_types=["waybill_ocr", "delivery_note_qa"], cjk_font=False)  # fmt: skip
    assert not gen.cjk
    for item in gen.items:
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in item.answers[0] + item.question)


def _ocr_text(path: Path) -> str:
    from rapidocr_onnxruntime import RapidOCR

    result, _elapse = RapidOCR()(str(path))
    return " ".join(line[1] for line in result or [])


def test_waybill_and_delivery_note_text_is_legible_to_ocr(tmp_path: Path) -> None:
    pytest.importorskip("rapidocr_onnxruntime")
    gen = lp.generate(tmp_path / "ocr", per_type=1, seed=2, item_types=["waybill_ocr", "delivery_note_qa"])  # fmt: skip
    for item in gen.items:
        text = _ocr_text(gen.folder / item.image)
        if item.item_type == "waybill_ocr":
            # the tracking number is on every waybill, whichever field the question asks for
            tracking = next(t for t in text.replace(":", " ").replace("：", " ").split() if t[:2].isalpha() and t[2:].isdigit())  # fmt: skip
            assert len(tracking) == 14
        else:
            assert item.meta["number"] in text.replace(" ", "")
        # the reference answer itself appears in what OCR reads (ANLS against the OCR text)
        assert item.answers[0].replace(" ", "") in text.replace(" ", ""), (item.answers, text)
