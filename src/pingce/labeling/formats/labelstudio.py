"""Label Studio JSON export: a list of tasks, each with ``data``, ``annotations`` and
``predictions``, whose ``result`` items hold regions in percent of the image size.

Read with ``which="annotations"`` (the last annotation that was not cancelled, with its
``lead_time`` in seconds: the time the annotator spent) or ``which="predictions"`` (the first
prediction). Region types: ``rectanglelabels`` (boxes), ``polygonlabels``, ``choices``
(image classification) and ``textarea`` results sharing a region's ``id`` (transcriptions).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pingce.core.errors import DataError
from pingce.labeling.images import IMAGE_SUFFIXES
from pingce.labeling.model import Annotation, ImageInfo, LabelSet, image_keys

Which = Literal["annotations", "predictions"]
# The one default of every `--which` (evaluate, effort, convert, reader, writer): a file written
# by `label convert --to labelstudio` is read back by `label evaluate --pred` as it was written.
DEFAULT_WHICH: Which = "predictions"


def _image_ref(data: dict[str, Any]) -> str | None:
    if isinstance(data.get("image"), str):
        return data["image"]
    for v in data.values():
        if isinstance(v, str) and Path(v.split("?", 1)[0]).suffix.lower() in IMAGE_SUFFIXES:
            return v
    return None


def read_labelstudio(path: Path, which: Which = DEFAULT_WHICH, **_: Any) -> LabelSet:
    path = Path(path)
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: file does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise DataError(f"{path}: expected a list of Label Studio tasks")
    if which not in ("annotations", "predictions"):
        raise DataError(f"{path}: which must be annotations or predictions, got {which!r}")
    out = LabelSet(source=str(path))
    usable: list[tuple[int, dict[str, Any], str]] = []
    for t, task in enumerate(tasks):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            out.problem("malformed", f"task {t}: expected an object with 'data'")
            continue
        ref = _image_ref(task["data"])
        if ref is None:
            out.problem("malformed", f"task {task.get('id', t)}: no image URL in 'data'")
            continue
        usable.append((t, task, ref))
    keys = image_keys([ref for _, _, ref in usable], f"{path}: tasks")
    other = "predictions" if which == "annotations" else "annotations"
    chosen_n = other_n = 0
    for (t, task, ref), key in zip(usable, keys, strict=True):
        info = out.add_image(ImageInfo(key, ref, *_data_size(task["data"]), id=task.get("id", t)))
        chosen_n += sum(1 for e in task.get(which) or [] if isinstance(e, dict) and e.get("result"))
        other_n += sum(1 for e in task.get(other) or [] if isinstance(e, dict) and e.get("result"))
        entries = [e for e in task.get(which) or [] if not e.get("was_cancelled")]
        if not entries:
            continue
        entry = entries[-1] if which == "annotations" else entries[0]
        if which == "annotations" and entry.get("lead_time") is not None:
            out.lead_time[info.key] = float(entry["lead_time"])
        _read_results(out, info, entry, which)
    if chosen_n == 0 and other_n > 0:
        # Reading the empty list would score every image as unlabelled (F1 0, AP 0) silently.
        raise DataError(
            f"{path}: no task has {which} with results, but {other_n} task entries are {other}",
            hint=f"read them with --which {other} (or which={other} in the subject)",
        )
    return out


def _data_size(data: dict[str, Any]) -> tuple[int | None, int | None]:
    """Image size pingce stores in a task's ``data`` (so unlabelled images keep theirs)."""
    w, h = data.get("width"), data.get("height")
    if isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0:
        return w, h
    return None, None


def _read_results(out: LabelSet, info: ImageInfo, entry: dict[str, Any], which: Which) -> None:
    texts: dict[str, str] = {}
    regions: dict[str, Annotation] = {}
    default_score = entry.get("score") if which == "predictions" else None
    for r in entry.get("result") or []:
        value = r.get("value") or {}
        rtype = r.get("type", "")
        if rtype == "textarea" and value.get("text"):
            texts[str(r.get("id"))] = str(value["text"][0])
            continue
        labels = value.get(rtype) if rtype else None
        if not labels:
            continue
        label = str(labels[0])
        out.add_category(label)
        w, h = r.get("original_width"), r.get("original_height")
        if w and h and info.width is None:
            info.width, info.height = int(w), int(h)
        score = r.get("score", default_score)
        score = float(score) if score is not None else None
        if rtype == "choices":
            out.annotations.append(Annotation(info.key, label, None, score, id=r.get("id")))
            continue
        if not (info.width and info.height):
            out.problem("malformed", f"region {r.get('id')}: no original_width/height", info.key)
            continue
        sx, sy = info.width / 100.0, info.height / 100.0
        attrs = {"rotation": value["rotation"]} if value.get("rotation") else {}
        if rtype == "rectanglelabels":
            bbox = (value["x"] * sx, value["y"] * sy, value["width"] * sx, value["height"] * sy)
            ann = Annotation(info.key, label, bbox, score, id=r.get("id"), attributes=attrs)
        elif rtype == "polygonlabels":
            pts = [c for p in value.get("points", []) for c in (p[0] * sx, p[1] * sy)]
            xs, ys = pts[0::2], pts[1::2]
            bbox = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
            ann = Annotation(info.key, label, bbox, score, [pts], id=r.get("id"))
        else:
            out.problem("malformed", f"region type {rtype!r} is not read", info.key)
            continue
        regions[str(r.get("id"))] = ann
        out.annotations.append(ann)
    for rid, text in texts.items():
        if rid in regions:
            regions[rid].text = text


def _results(anns: list[Annotation], info: ImageInfo) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for n, a in enumerate(anns):
        rid = str(a.id) if a.id is not None else f"r{n}"
        base = {"id": rid, "from_name": "label", "to_name": "image"}
        if info.width:
            base.update(original_width=info.width, original_height=info.height)
        if a.bbox is None:
            item = {**base, "type": "choices", "value": {"choices": [a.label]}}
        elif isinstance(a.segmentation, list) and a.segmentation and info.width and info.height:
            pts = a.segmentation[0]
            points = [
                [pts[i] * 100.0 / info.width, pts[i + 1] * 100.0 / info.height]
                for i in range(0, len(pts), 2)
            ]
            item = {
                **base,
                "type": "polygonlabels",
                "value": {"points": points, "polygonlabels": [a.label]},
            }
        else:
            if not (info.width and info.height):
                raise DataError(f"cannot write Label Studio regions for {info.key}: size unknown")
            x, y, w, h = a.bbox
            value = {
                "x": x * 100.0 / info.width,
                "y": y * 100.0 / info.height,
                "width": w * 100.0 / info.width,
                "height": h * 100.0 / info.height,
                "rotation": 0,
                "rectanglelabels": [a.label],
            }
            item = {**base, "type": "rectanglelabels", "value": value}
        if a.score is not None:
            item["score"] = a.score
        results.append(item)
        if a.text is not None:
            results.append(
                {
                    **base,
                    "from_name": "transcription",
                    "type": "textarea",
                    "value": {"text": [a.text]},
                }
            )
    return results


def labelstudio_tasks(
    ls: LabelSet, which: Which = DEFAULT_WHICH, model_version: str = "pingce"
) -> list[dict[str, Any]]:
    refuse_lossy(ls, "Label Studio")
    by_image = ls.by_image()
    tasks = []
    for n, (key, info) in enumerate(ls.images.items(), start=1):
        anns = by_image.get(key, [])
        entry: dict[str, Any] = {"result": _results(anns, info)}
        if which == "predictions":
            scores = [a.score for a in anns if a.score is not None]
            entry["model_version"] = model_version
            if scores:
                entry["score"] = sum(scores) / len(scores)
        else:
            entry["was_cancelled"] = False
            if key in ls.lead_time:
                entry["lead_time"] = ls.lead_time[key]
        task_id = info.id if isinstance(info.id, int) else n
        data: dict[str, Any] = {"image": info.file_name}
        # Regions carry the size too, but an unlabelled image has none.
        if info.width and info.height:
            data.update(width=int(info.width), height=int(info.height))
        tasks.append({"id": task_id, "data": data, which: [entry]})
    return tasks


def write_labelstudio(
    ls: LabelSet, path: Path, which: Which = DEFAULT_WHICH, **_: Any
) -> list[Path]:
    path = Path(path)
    tasks = labelstudio_tasks(ls, which)  # refuses what Label Studio cannot hold, before writing
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    return [path]


def refuse_lossy(ls: LabelSet, fmt: str) -> None:
    """`DataError` before anything is written when `fmt` (Label Studio or CVAT) cannot hold an
    annotation: an RLE mask, or a polygon of several parts (each format's polygon is one part,
    so writing parts as separate regions would turn one object into several)."""
    for a in ls.annotations:
        name = ls.images[a.image].file_name if a.image in ls.images else a.image
        if isinstance(a.segmentation, dict):
            raise DataError(
                f"{name}: {a.label!r} is an RLE mask, which {fmt} output cannot hold",
                hint="convert to coco or coco-rle (or masks) to keep the masks",
            )
        if isinstance(a.segmentation, list) and len(a.segmentation) > 1:
            raise DataError(
                f"{name}: {a.label!r} is a polygon of {len(a.segmentation)} parts; {fmt} polygons have one part",
                hint="convert to coco to keep every part",
            )
