"""Readers of the public multimodal benchmarks in their release layouts.

The full data is the user's download; `pingce/vlm/samples/<benchmark>/` holds a small sample
written by us in each layout (the tests read those). Every reader returns `VlmItem`s and
raises `DataError` naming the file, the row and the field when the layout does not fit.

| benchmark | layout read |
| --- | --- |
| POPE | `coco_pope_{random,popular,adversarial}.json`: one JSON object per line (question_id, image, text, label) + an image folder |
| MMBench | `MMBench_DEV_{EN,CN}.tsv`: index, question, hint, A..D, answer, category, base64 image |
| OCRBench | `OCRBench.json`: a list of {dataset_name, id, image_path, question, answers, type} |
| DocVQA | `val_v1.0.json`: {"data": [{questionId, question, image, answers}]} |
| TextVQA | `TextVQA_0.5.1_val.json`: {"data": [{question_id, question, image_id, answers}]}, images `<image_id>.jpg` |
| ChartQA | `test/test_{human,augmented}.json`: a list of {imgname, query, label}, images `test/png/` |
| RefCOCO(+/g) | `refs(unc).p` (pickle of plain lists/dicts, read without running code) + `instances.json` |
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import pickle
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pingce.core.errors import DataError

SAMPLES = Path(__file__).parent / "samples"


@dataclass(frozen=True)
class VlmItem:
    """One benchmark question: its image (a file, or the decoded bytes of an embedded one),
    question, reference answers and, by kind, options or a reference box (pixels)."""

    id: str
    image: Path | bytes
    question: str
    answers: list[str]
    kind: str  # yes_no | multiple_choice | open | ocr | doc | chart | grounding
    options: list[str] | None = None
    box: tuple[float, float, float, float] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None


def _field(row: Any, key: str, where: str) -> Any:
    if not isinstance(row, dict) or key not in row or row[key] in (None, ""):
        raise DataError(f"{where}: missing field {key!r}")
    return row[key]


def _image(folder: Path, name: str, where: str) -> Path:
    path = (folder / name).resolve()
    if not path.is_file():
        raise DataError(f"{where}: image {name!r} not found under {folder}")
    return path


def _rows(data: Any, path: Path, key: str | None = None) -> list[Any]:
    if key is not None:
        data = data.get(key) if isinstance(data, dict) else None
    if not isinstance(data, list):
        expected = f'an object with a "{key}" list' if key else "a JSON list"
        raise DataError(f"{path}: expected {expected}")
    return data


def read_pope(path: Path, image_dir: Path) -> list[VlmItem]:
    """POPE's question file (one JSON object a line) with its COCO image folder."""
    items = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise DataError(f"{where}: not a JSON object") from None
        label = str(_field(row, "label", where)).strip().lower()
        if label not in ("yes", "no"):
            raise DataError(f"{where}: field 'label' must be yes or no, got {label!r}")
        items.append(
            VlmItem(
                id=str(_field(row, "question_id", where)),
                image=_image(Path(image_dir), str(_field(row, "image", where)), where),
                question=str(_field(row, "text", where)),
                answers=[label],
                kind="yes_no",
            )
        )
    return items


_MMBENCH_COLUMNS = ("index", "question", "answer", "image")


def read_mmbench(path: Path) -> list[VlmItem]:
    """An MMBench TSV (EN or CN): options are the non-empty columns A, B, C, D...; the image is
    base64 in the `image` column. `meta["circular_group"]` is `index % 1_000_000`, the key the
    circular variants of one question share in MMBench's circular files."""
    csv.field_size_limit(sys.maxsize)  # base64 images exceed csv's default field limit
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    reader = csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    missing = [c for c in _MMBENCH_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DataError(f"{path}: missing column {missing[0]!r} (an MMBench TSV has {', '.join(_MMBENCH_COLUMNS)}, A, B, ...)")  # fmt: skip
    items = []
    for n, row in enumerate(reader, 2):
        where = f"{path}:{n}"
        letters = [c for c in "ABCDEFGHI" if (row.get(c) or "").strip() and row[c].strip().lower() != "nan"]  # fmt: skip
        answer = (row["answer"] or "").strip()
        if answer not in letters:
            raise DataError(f"{where}: field 'answer' {answer!r} is not one of the options {letters}")  # fmt: skip
        try:
            image = base64.b64decode(row["image"], validate=True)
        except (binascii.Error, ValueError):
            raise DataError(f"{where}: field 'image' is not base64") from None
        try:
            index = int(row["index"])
        except ValueError:
            raise DataError(f"{where}: field 'index' must be an integer") from None
        hint = (row.get("hint") or "").strip()
        items.append(
            VlmItem(
                id=str(index),
                image=image,
                question=row["question"],
                answers=[answer],
                kind="multiple_choice",
                options=[row[c].strip() for c in letters],
                meta={
                    "hint": "" if hint.lower() == "nan" else hint,
                    "category": row.get("category") or "",
                    "circular_group": index % 1_000_000,
                },
            )
        )
    return items


def read_ocrbench(path: Path, image_root: Path) -> list[VlmItem]:
    """OCRBench's JSON list; `image_path` is relative to `image_root`."""
    items = []
    for n, row in enumerate(_rows(_load_json(Path(path)), Path(path))):
        where = f"{path}[{n}]"
        answers = _field(row, "answers", where)
        answers = [answers] if isinstance(answers, str) else [str(a) for a in answers]
        items.append(
            VlmItem(
                id=str(row.get("id", n)),
                image=_image(Path(image_root), str(_field(row, "image_path", where)), where),
                question=str(_field(row, "question", where)),
                answers=answers,
                kind="ocr",
                meta={
                    "dataset_name": str(_field(row, "dataset_name", where)),
                    "type": row.get("type", ""),
                },  # fmt: skip
            )
        )
    return items


def read_docvqa(path: Path, image_root: Path) -> list[VlmItem]:
    """DocVQA's `{"data": [...]}` file; `image` is relative to `image_root`."""
    items = []
    for n, row in enumerate(_rows(_load_json(Path(path)), Path(path), "data")):
        where = f"{path}:data[{n}]"
        answers = [str(a) for a in _field(row, "answers", where)]
        items.append(
            VlmItem(
                id=str(_field(row, "questionId", where)),
                image=_image(Path(image_root), str(_field(row, "image", where)), where),
                question=str(_field(row, "question", where)),
                answers=answers,
                kind="doc",
            )
        )
    return items


def read_textvqa(path: Path, image_dir: Path) -> list[VlmItem]:
    """TextVQA's `{"data": [...]}` file; the image is `<image_id>.jpg` in `image_dir`."""
    items = []
    for n, row in enumerate(_rows(_load_json(Path(path)), Path(path), "data")):
        where = f"{path}:data[{n}]"
        image_id = str(_field(row, "image_id", where))
        items.append(
            VlmItem(
                id=str(_field(row, "question_id", where)),
                image=_image(Path(image_dir), f"{image_id}.jpg", where),
                question=str(_field(row, "question", where)),
                answers=[str(a) for a in _field(row, "answers", where)],
                kind="open",
            )
        )
    return items


def read_chartqa(path: Path, png_dir: Path | None = None) -> list[VlmItem]:
    """ChartQA's `test_human.json`/`test_augmented.json`; images in `png/` beside the file
    unless `png_dir` says otherwise."""
    path = Path(path)
    folder = png_dir if png_dir is not None else path.parent / "png"
    items = []
    for n, row in enumerate(_rows(_load_json(path), path)):
        where = f"{path}[{n}]"
        items.append(
            VlmItem(
                id=f"{path.stem}-{n}",
                image=_image(Path(folder), str(_field(row, "imgname", where)), where),
                question=str(_field(row, "query", where)),
                answers=[str(_field(row, "label", where))],
                kind="chart",
            )
        )
    return items


class _PlainUnpickler(pickle.Unpickler):
    """Reads pickles of plain containers only: any class reference is refused, so an
    untrusted `refs(unc).p` cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refuses to load {module}.{name}")


def read_refcoco(refs_path: Path, instances_path: Path, image_dir: Path, split: str = "val") -> list[VlmItem]:  # fmt: skip
    """RefCOCO/RefCOCO+/RefCOCOg: one item per referring sentence of the refs in `split`; the
    reference box is the annotation's COCO [x, y, w, h] as pixels (x1, y1, x2, y2)."""
    try:
        with Path(refs_path).open("rb") as fh:
            refs = _PlainUnpickler(fh, encoding="latin1").load()
    except FileNotFoundError:
        raise DataError(f"{refs_path}: file not found") from None
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise DataError(f"{refs_path}: not a refs pickle of plain lists and dicts ({exc})") from None  # fmt: skip
    inst = _load_json(Path(instances_path))
    where_inst = str(instances_path)
    anns = {a["id"]: a for a in _rows(inst, Path(instances_path), "annotations")}
    images = {i["id"]: i for i in _rows(inst, Path(instances_path), "images")}
    if not isinstance(refs, list):
        raise DataError(f"{refs_path}: expected a list of refs")
    items = []
    for n, ref in enumerate(refs):
        where = f"{refs_path}[{n}]"
        if _field(ref, "split", where) != split:
            continue
        ann = anns.get(_field(ref, "ann_id", where))
        img = images.get(_field(ref, "image_id", where))
        if ann is None or img is None:
            raise DataError(f"{where}: ann_id/image_id not found in {where_inst}")
        x, y, w, h = (float(v) for v in _field(ann, "bbox", where_inst))
        for s_n, sent in enumerate(_field(ref, "sentences", where)):
            text = str(_field(sent, "sent", f"{where}.sentences[{s_n}]"))
            items.append(
                VlmItem(
                    id=f"{ref['ref_id']}-{sent.get('sent_id', s_n)}",
                    image=_image(Path(image_dir), str(_field(img, "file_name", where_inst)), where),
                    question=text,
                    answers=[json.dumps([x, y, x + w, y + h])],
                    kind="grounding",
                    box=(x, y, x + w, y + h),
                    meta={
                        "width": img.get("width"),
                        "height": img.get("height"),
                        "category_id": ref.get("category_id"),
                    },  # fmt: skip
                )
            )
    return items


def read_sample(name: str) -> list[VlmItem]:
    """The sample pingce ships for benchmark `name` (pope, mmbench_en, mmbench_cn, ocrbench,
    docvqa, textvqa, chartqa, refcoco), read by its release-layout reader."""
    s = SAMPLES
    readers = {
        "pope": lambda: read_pope(s / "pope" / "coco_pope_random.json", s / "pope" / "val2014"),
        "mmbench_en": lambda: read_mmbench(s / "mmbench" / "MMBench_DEV_EN.tsv"),
        "mmbench_cn": lambda: read_mmbench(s / "mmbench" / "MMBench_DEV_CN.tsv"),
        "ocrbench": lambda: read_ocrbench(s / "ocrbench" / "OCRBench.json", s / "ocrbench"),
        "docvqa": lambda: read_docvqa(s / "docvqa" / "val_v1.0.json", s / "docvqa"),
        "textvqa": lambda: read_textvqa(
            s / "textvqa" / "TextVQA_0.5.1_val.json", s / "textvqa" / "train_images"
        ),  # fmt: skip
        "chartqa": lambda: read_chartqa(s / "chartqa" / "test" / "test_human.json"),
        "refcoco": lambda: read_refcoco(
            s / "refcoco" / "refs(unc).p",
            s / "refcoco" / "instances.json",
            s / "refcoco" / "train2014",
        ),  # fmt: skip
    }
    if name not in readers:
        raise DataError(f"unknown vlm sample {name!r}", hint=f"one of {', '.join(readers)}")
    return readers[name]()
