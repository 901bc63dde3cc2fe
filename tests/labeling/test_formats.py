"""Every label format round-trips through the one internal representation, and bad input in
label files is counted and named, never dropped silently."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pingce.core.errors import DataError
from pingce.labeling.formats import detect_format, read_labels, write_labels
from pingce.labeling.model import Annotation, ImageInfo, LabelSet, image_key


def _detection_set() -> LabelSet:
    ls = LabelSet(categories=["cat", "dog", "text"])
    ls.add_image(ImageInfo("a.png", "a.png", 200, 100))
    ls.add_image(ImageInfo("b.png", "b.png", 64, 48))
    ls.add_image(ImageInfo("empty.png", "empty.png", 32, 32))
    ls.annotations += [
        Annotation("a.png", "cat", (10.0, 20.0, 30.0, 40.0), 0.9),
        Annotation("a.png", "text", (50.0, 5.0, 80.0, 12.0), 0.75, text="HELLO 42"),
        Annotation("b.png", "dog", (0.5, 1.25, 20.0, 10.0), 0.5),
    ]
    return ls


def _boxes(ls: LabelSet) -> list[tuple]:
    return sorted(
        (
            a.image,
            a.label,
            *(round(v, 3) for v in a.bbox),
            None if a.score is None else round(a.score, 4),
        )  # type: ignore[union-attr]
        for a in ls.annotations
    )


def _write_images(folder: Path, ls: LabelSet) -> Path:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for key, info in ls.images.items():
        Image.new("RGB", (info.width, info.height), (128, 128, 128)).save(folder / key)
    return folder


@pytest.mark.parametrize(
    ("fmt", "target"),
    [
        ("coco", "l.json"),
        ("yolo", "yolo"),
        ("voc", "voc"),
        ("labelstudio", "ls.json"),
        ("cvat", "c.xml"),
    ],
)
def test_detection_round_trip(tmp_path: Path, fmt: str, target: str) -> None:
    ls = _detection_set()
    images = _write_images(tmp_path / "images", ls)
    write_labels(ls, tmp_path / target, fmt)
    assert detect_format(tmp_path / target) == fmt
    kwargs = {"which": "predictions"} if fmt == "labelstudio" else {}
    back = read_labels(tmp_path / target, fmt, images_dir=images, **kwargs)
    assert back.problems == []
    assert set(back.images) == set(ls.images)
    assert _boxes(back) == _boxes(ls)
    if fmt in ("coco", "labelstudio", "cvat"):
        assert {a.text for a in back.annotations} == {None, "HELLO 42"}
    # A second trip gives the same file: nothing drifts.
    write_labels(back, tmp_path / ("2" + target), fmt)
    again = read_labels(tmp_path / ("2" + target), fmt, images_dir=images, **kwargs)
    assert _boxes(again) == _boxes(ls)


def test_labelstudio_annotations_carry_lead_time(tmp_path: Path) -> None:
    ls = _detection_set()
    ls.lead_time = {"a.png": 12.5, "b.png": 3.0}
    write_labels(ls, tmp_path / "ls.json", "labelstudio", which="annotations")
    tasks = json.loads((tmp_path / "ls.json").read_text())
    assert tasks[0]["annotations"][0]["lead_time"] == 12.5
    back = read_labels(tmp_path / "ls.json", "labelstudio", which="annotations")
    assert back.lead_time == {"a.png": 12.5, "b.png": 3.0}
    assert _boxes(back) == _boxes(ls)
    # Reading predictions from an annotations-only export used to find no regions silently
    # (F1 0, AP 0; issue 24): now an error that names the list that has them.
    with pytest.raises(DataError, match="no task has predictions.*annotations"):
        read_labels(tmp_path / "ls.json", "labelstudio", which="predictions")


def test_labelstudio_real_export_shape(tmp_path: Path) -> None:
    """A task as Label Studio exports it: upload prefix, cancelled annotation, textarea by id."""
    task = {
        "id": 7,
        "data": {"image": "/data/upload/3/1a2b3c4d-street.jpg"},
        "annotations": [
            {
                "was_cancelled": False,
                "lead_time": 20.0,
                "result": [
                    {
                        "id": "r1",
                        "type": "rectanglelabels",
                        "from_name": "label",
                        "to_name": "image",
                        "original_width": 400,
                        "original_height": 200,
                        "value": {
                            "x": 10,
                            "y": 20,
                            "width": 25,
                            "height": 50,
                            "rotation": 0,
                            "rectanglelabels": ["car"],
                        },
                    },
                    {
                        "id": "r1",
                        "type": "textarea",
                        "from_name": "transcription",
                        "to_name": "image",
                        "value": {"text": ["AB 123"]},
                    },
                ],
            },
            {"was_cancelled": True, "lead_time": 99.0, "result": []},
        ],
        "predictions": [
            {
                "model_version": "m1",
                "score": 0.8,
                "result": [
                    {
                        "id": "p1",
                        "type": "rectanglelabels",
                        "original_width": 400,
                        "original_height": 200,
                        "value": {
                            "x": 11,
                            "y": 20,
                            "width": 25,
                            "height": 50,
                            "rectanglelabels": ["car"],
                        },
                    }
                ],
            }
        ],
    }
    (tmp_path / "export.json").write_text(json.dumps([task]))
    ann = read_labels(tmp_path / "export.json", which="annotations")
    assert list(ann.images) == ["street.jpg"]
    assert ann.lead_time == {"street.jpg": 20.0}
    (a,) = ann.annotations
    assert a.bbox == (40.0, 40.0, 100.0, 100.0) and a.text == "AB 123" and a.label == "car"
    (p,) = read_labels(tmp_path / "export.json", which="predictions").annotations
    assert p.bbox == (44.0, 40.0, 100.0, 100.0) and p.score == 0.8


def test_classification_round_trip(tmp_path: Path) -> None:
    ls = LabelSet(kind="classification", categories=["cat", "dog"])
    for key, label in (("x.png", "cat"), ("y.png", "dog"), ("z.png", "cat")):
        ls.add_image(ImageInfo(key, key, 8, 8))
        ls.annotations.append(Annotation(key, label))
    images = _write_images(tmp_path / "images", ls)
    write_labels(ls, tmp_path / "labels.csv", "csv")
    write_labels(ls, tmp_path / "folder", "imagefolder", images_dir=images)
    write_labels(ls, tmp_path / "c.xml", "cvat")
    want = {("x.png", "cat"), ("y.png", "dog"), ("z.png", "cat")}
    for path, fmt in (
        (tmp_path / "labels.csv", "csv"),
        (tmp_path / "folder", "imagefolder"),
        (tmp_path / "c.xml", "cvat"),
    ):
        assert detect_format(path) == fmt
        back = read_labels(path)
        assert back.kind == "classification"
        assert {(a.image, a.label) for a in back.annotations} == want


def test_masks_png_and_coco_rle_round_trip(tmp_path: Path) -> None:
    mask = np.zeros((20, 30), dtype=np.int32)
    mask[2:8, 3:12] = 1
    mask[10:18, 15:29] = 2
    mask[12, 16] = 0  # a hole: RLE and PNG must both keep it
    ls = LabelSet(kind="segmentation", categories=["background", "road", "car"])
    ls.add_image(ImageInfo("m.png", "m.png", 30, 20))
    ls.masks["m.png"] = mask
    write_labels(ls, tmp_path / "masks", "masks")
    write_labels(ls, tmp_path / "rle.json", "coco-rle")
    assert detect_format(tmp_path / "masks") == "masks"
    assert detect_format(tmp_path / "rle.json") == "coco-rle"
    for path in (tmp_path / "masks", tmp_path / "rle.json"):
        back = read_labels(path, reference=ls)
        assert back.categories == ls.categories
        np.testing.assert_array_equal(back.masks["m.png"], mask)
    # COCO RLE written by pingce decodes with pycocotools to the same pixels.
    from pycocotools import mask as mask_utils

    data = json.loads((tmp_path / "rle.json").read_text())
    car = next(a for a in data["annotations"] if a["category_id"] == 3)
    rle = {"size": car["segmentation"]["size"], "counts": car["segmentation"]["counts"].encode()}
    np.testing.assert_array_equal(mask_utils.decode(rle).astype(bool), mask == 2)
    assert car["area"] == int((mask == 2).sum())


def test_polygons_rasterise_like_pycocotools(tmp_path: Path) -> None:
    from pingce.labeling.formats.masks import semantic_masks

    ls = LabelSet(kind="segmentation", categories=["background", "roof"])
    ls.add_image(ImageInfo("p.png", "p.png", 40, 30))
    ls.annotations.append(
        Annotation("p.png", "roof", (5, 5, 20, 15), segmentation=[[5, 5, 25, 5, 25, 20, 5, 20]])
    )
    write_labels(ls, tmp_path / "c.xml", "cvat")
    back = read_labels(tmp_path / "c.xml")
    assert back.annotations[0].segmentation == [[5.0, 5.0, 25.0, 5.0, 25.0, 20.0, 5.0, 20.0]]
    m = semantic_masks(ls)["p.png"]
    assert m.sum() == 20 * 15  # pycocotools' polygon fill covers the 20x15 rectangle


def test_bad_label_files_are_listed(tmp_path: Path) -> None:
    from PIL import Image

    imgs = tmp_path / "images"
    imgs.mkdir()
    Image.new("RGB", (100, 50)).save(imgs / "a.jpg")
    yolo = tmp_path / "yolo"
    yolo.mkdir()
    (yolo / "classes.txt").write_text("cat\ndog\n")
    (yolo / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.1 0.1\nfoo bar\n")
    (yolo / "ghost.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    ls = read_labels(yolo, "yolo", images_dir=imgs)
    kinds = sorted((p.kind, Path(p.file).name) for p in ls.problems)
    assert kinds == [
        ("image_missing", "ghost.txt"),
        ("malformed", "a.txt"),
        ("unknown_class", "a.txt"),
    ]
    assert len(ls.annotations) == 1
    coco = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 50}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 9, "bbox": [1, 1, 5, 5]},
            {"id": 2, "image_id": 5, "category_id": 1, "bbox": [1, 1, 5, 5]},
        ],
    }
    (tmp_path / "c.json").write_text(json.dumps(coco))
    ls = read_labels(tmp_path / "c.json")
    assert sorted(p.kind for p in ls.problems) == ["unknown_class", "unknown_image_id"]
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(DataError, match="broken.json"):
        read_labels(tmp_path / "broken.json", "coco")
    with pytest.raises(DataError, match="YOLO coordinates"):
        read_labels(yolo, "yolo")


def test_image_key_strips_folders_and_upload_prefix() -> None:
    assert image_key("/data/upload/3/1a2b3c4d-street.jpg") == "street.jpg"
    assert image_key("C:\\data\\img 1.png") == "img 1.png"
    assert image_key("http://h/x/y.png?token=1") == "y.png"
    assert image_key("my-photo.png") == "my-photo.png"
