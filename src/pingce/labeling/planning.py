"""Planning a labeling run: gold and predictions read, paired image by image, work units."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from pingce.core.errors import DataError, SpecError
from pingce.core.execute import WorkUnit
from pingce.core.fingerprint import content_hash
from pingce.core.spec import Suite, validate_params
from pingce.core.standard import Plan, PlannedTask
from pingce.labeling.formats import read_labels
from pingce.labeling.formats.masks import semantic_masks
from pingce.labeling.pairing import pair_labels
from pingce.labeling.subjects import LabelerSubject, LabelsSubject
from pingce.labeling.task_types import SEGMENTATION
from pingce.labeling.tasks import TaskParams

MAX_STORED_PROBLEMS = 1000


def _images_dir(options: dict[str, Any]) -> Path | None:
    images = options.get("images")
    if images is None:
        return None
    path = Path(images)
    if not path.is_dir():
        raise DataError(f"images folder {path} does not exist")
    return path


def _remap(mask: np.ndarray, src: list[str], dst: list[str]) -> np.ndarray:
    """Class indices of `src` names re-expressed as indices of `dst` (unknown -> len(dst))."""
    lut = np.asarray(
        [dst.index(c) if c in dst else len(dst) for c in src] + [len(dst)], dtype=np.int32
    )
    return lut[np.clip(mask, 0, len(src))]


def plan_tasks(suite: Suite, subject: Any, options: dict[str, Any]) -> Plan:
    """Read gold (and predicted labels), pair them image by image, and build one work unit
    per gold image of every task; every input problem is counted and stored with the plan."""
    images = _images_dir(options)
    fp = content_hash(subject.fingerprint())
    tasks, problems, categories = [], {}, {}
    for t in suite.spec.tasks:
        params = validate_params(TaskParams, t.model_dump(), f"{suite.source}: tasks.{t.id}")
        gold_ref = params.gold or options.get("gold")
        if not gold_ref:
            raise SpecError(
                f"task {t.id}: no gold labels",
                hint="pingce label evaluate --gold FILE, or a suite whose task names gold: FILE",
            )
        gold_path = Path(gold_ref) if Path(gold_ref).is_absolute() else suite.base_dir / gold_ref
        if not gold_path.exists():
            gold_path = Path(gold_ref)
        gold = read_labels(
            gold_path,
            options.get("gold_format") or params.gold_format,
            images_dir=images,
            which="annotations",
        )
        pred = subject.read(images, gold) if isinstance(subject, LabelsSubject) else None
        pairs, probs = pair_labels(gold, pred, images)
        g_masks = p_masks = None
        if params.type == SEGMENTATION:
            if isinstance(subject, LabelerSubject):
                raise SpecError(
                    "segmentation is evaluated from mask files",
                    hint="give labels:MASKS_DIR?format=masks as the subject",
                )
            g_masks = semantic_masks(gold)
            p_masks = {
                k: _remap(m, pred.categories, gold.categories)
                for k, m in semantic_masks(pred).items()
            }  # type: ignore[union-attr]
        cats = list(gold.categories)
        if pred is not None:
            unknown = sorted({a.label for a in pred.annotations} - set(cats))
            for lab in unknown:
                probs.append(
                    _problem(
                        "unknown_class",
                        pred.source,
                        f"predicted label {lab!r} is not a gold class; its boxes count as mismatched or extra",
                    )
                )
            cats += [c for c in pred.categories if c not in cats]
        units = []
        spec_dump = params.model_dump(mode="json", exclude={"title", "title_zh", "gallery"})
        for pos, pair in enumerate(pairs):
            payload: dict[str, Any] = {"pair": pair, "params": params}
            extra: list[Any] = []
            if g_masks is not None:
                gm = g_masks.get(pair.key)
                if gm is None:
                    continue
                pm = p_masks.get(pair.key) if p_masks else None  # type: ignore[union-attr]
                payload.update(gold_mask=gm, pred_mask=pm, n_classes=len(gold.categories))
                extra = [
                    hashlib.sha256(gm.tobytes()).hexdigest(),
                    None if pm is None else hashlib.sha256(pm.tobytes()).hexdigest(),
                ]
            key = content_hash(
                fp,
                t.id,
                spec_dump,
                pair.key,
                pair.gold,
                pair.pred,
                pair.width,
                pair.height,
                extra,
            )
            units.append(WorkUnit(key=key, sample_id=pair.key, position=pos, payload=payload))
        if not units:
            raise DataError(f"task {t.id}: the gold labels {gold_path} name no images")
        problems[t.id] = [p.to_dict() if hasattr(p, "to_dict") else p for p in probs]
        categories[t.id] = cats
        tasks.append(PlannedTask(t.id, units, params))
    return Plan(
        tasks=tasks,
        settings={
            "problems": {k: v[:MAX_STORED_PROBLEMS] for k, v in problems.items()},
            "problem_counts": {k: _counts(v) for k, v in problems.items()},
            "categories": categories,
            "images": str(images) if images else None,
            "gold": str(options.get("gold")),
        },
    )


def _problem(kind: str, file: str, detail: str, image: str = "") -> dict[str, str]:
    return {"kind": kind, "file": file, "image": image, "detail": detail}


def _counts(problems: list[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in problems:
        kind = p["kind"] if isinstance(p, dict) else p.kind
        out[kind] = out.get(kind, 0) + 1
    return out
