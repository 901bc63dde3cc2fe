"""The labeling standard (AI visual data automatic labeling systems): auto-labels against gold,
human correction effort, and labeling speed.

Subjects: ``labels:PATH?format=F&which=predictions`` (a label file or folder produced by any
tool) or ``labeler:SPEC`` (an auto-labeler pingce runs on the images: ``shapes``, ``ocr``,
``reference``, ``onnx:DET.yaml``, ``http://HOST:PORT``). Run options: ``gold`` (path),
``gold_format``, ``images`` (folder), ``threads``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pingce.core.errors import DataError, SpecError
from pingce.core.execute import Outcome, WorkUnit, run_units
from pingce.core.fingerprint import content_hash
from pingce.core.registry import commands, demos, metrics, standards
from pingce.core.sample_failure import FailRule
from pingce.core.spec import Indicator, SubjectSpec, Suite, validate_params
from pingce.core.standard import Plan, PlannedTask, RunContext
from pingce.labeling.formats import read_labels
from pingce.labeling.formats.masks import semantic_masks
from pingce.labeling.model import LabelSet
from pingce.labeling.pairing import pair_labels
from pingce.labeling.tasks import (
    TASK_TYPES,
    TaskParams,
)

STANDARD_ID = "labeling"
CHUNK = 8
MAX_STORED_PROBLEMS = 1000


def _hash_path(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        digest.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()


class LabelsSubject:
    """Labels someone else produced, read from a file or folder."""

    def __init__(self, spec: SubjectSpec) -> None:
        self.path = Path(spec.target)
        if not self.path.exists():
            raise DataError(f"predicted labels {self.path} do not exist")
        self.format = spec.params.get("format", "auto")
        self.which = spec.params.get("which", "predictions")
        if self.which not in ("predictions", "annotations"):
            raise SpecError(f"subject {spec.raw!r}: which must be predictions or annotations")
        self.digest = _hash_path(self.path)
        self.labeler = None

    def fingerprint(self) -> dict[str, Any]:
        return {"labels": self.digest, "format": self.format, "which": self.which}

    def settings(self) -> dict[str, Any]:
        return {"pred": str(self.path), "pred_format": self.format}

    def read(self, images: Path | None, reference: LabelSet) -> LabelSet:
        return read_labels(self.path, self.format, images_dir=images, reference=reference, which=self.which)  # fmt: skip


class LabelerSubject:
    """An auto-labeler that pingce runs on every image."""

    def __init__(self, spec: SubjectSpec, options: dict[str, Any]) -> None:
        from pingce.labeling.labelers.base import resolve_labeler

        target = spec.raw.split(":", 1)[1]
        self.labeler = resolve_labeler(target, options)
        self._fp = self.labeler.fingerprint()

    def fingerprint(self) -> dict[str, Any]:
        return self._fp

    def settings(self) -> dict[str, Any]:
        return {"labeler": self.labeler.name}


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
    lut = np.asarray([dst.index(c) if c in dst else len(dst) for c in src] + [len(dst)], dtype=np.int32)  # fmt: skip
    return lut[np.clip(mask, 0, len(src))]


class LabelingStandard:
    id = STANDARD_ID
    title = "AI visual data automatic labeling systems"
    title_zh = "人工智能 视觉数据自动标注系统技术要求"

    def failure_rules(self) -> list[FailRule]:
        """A labelled image fails when a person would have to fix it: a missed, spurious or
        wrongly classed object (detection), a wrong image class,
        a box to edit, delete or add (effort), or no pixel right (segmentation, whose quality
        the IoU tables show). The other per-image numbers (valid, ignored, latency) are counts,
        not verdicts."""
        return [
            FailRule("missing", ">", 0),
            FailRule("extra", ">", 0),
            FailRule("mismatched", ">", 0),
            FailRule("correct", "<", 1),
            FailRule("edited", ">", 0),
            FailRule("deleted", ">", 0),
            FailRule("added", ">", 0),
            FailRule("pixel_accuracy", "<=", 0),
        ]

    def indicators(self) -> list[Indicator]:
        from pingce.labeling.catalogue import INDICATOR_THRESHOLDS, METRICS

        return [
            Indicator(id=m.name, name=m.name, name_zh=m.name_zh, unit=m.unit, direction=m.direction,
                      definition=m.definition, threshold=INDICATOR_THRESHOLDS.get(m.name))
            for m in METRICS
        ]  # fmt: skip

    def validate_suite(self, suite: Suite) -> None:
        for t in suite.spec.tasks:
            if t.type not in TASK_TYPES:
                raise SpecError(f"{suite.source}: task {t.id!r}: unknown type {t.type!r}", hint=f"one of: {', '.join(TASK_TYPES)}")  # fmt: skip
            validate_params(TaskParams, t.model_dump(), f"{suite.source}: tasks.{t.id}")

    def open_subject(self, subject: SubjectSpec, options: dict[str, Any]) -> Any:
        if subject.scheme == "labels":
            return LabelsSubject(subject)
        if subject.scheme == "labeler":
            if options.get("images") is None:
                raise SpecError(f"running {subject.raw!r} needs the images", hint="pass --images DIR")  # fmt: skip
            return LabelerSubject(subject, options)
        raise SpecError(
            f"subject {subject.raw!r}: unknown scheme {subject.scheme!r}",
            hint="use labels:PATH[?format=coco] or labeler:shapes|ocr|reference|onnx:DET.yaml|http://HOST:PORT",  # fmt: skip
        )

    def plan(self, suite: Suite, subject: Any, options: dict[str, Any]) -> Plan:
        images = _images_dir(options)
        fp = content_hash(subject.fingerprint())
        tasks, problems, categories = [], {}, {}
        for t in suite.spec.tasks:
            params = validate_params(TaskParams, t.model_dump(), f"{suite.source}: tasks.{t.id}")
            gold_ref = params.gold or options.get("gold")
            if not gold_ref:
                raise SpecError(f"task {t.id}: no gold labels", hint="pass --gold FILE")
            gold_path = (
                Path(gold_ref) if Path(gold_ref).is_absolute() else suite.base_dir / gold_ref
            )
            if not gold_path.exists():
                gold_path = Path(gold_ref)
            gold = read_labels(gold_path, options.get("gold_format") or params.gold_format, images_dir=images, which="annotations")  # fmt: skip
            pred = subject.read(images, gold) if isinstance(subject, LabelsSubject) else None
            pairs, probs = pair_labels(gold, pred, images)
            g_masks = p_masks = None
            if params.type == "label.segmentation":
                if isinstance(subject, LabelerSubject):
                    raise SpecError("segmentation is evaluated from mask files", hint="give labels:MASKS_DIR?format=masks as the subject")  # fmt: skip
                g_masks = semantic_masks(gold)
                p_masks = {k: _remap(m, pred.categories, gold.categories) for k, m in semantic_masks(pred).items()}  # type: ignore[union-attr]  # fmt: skip
            cats = list(gold.categories)
            if pred is not None:
                unknown = sorted({a.label for a in pred.annotations} - set(cats))
                for lab in unknown:
                    probs.append(_problem("unknown_class", pred.source, f"predicted label {lab!r} is not a gold class; its boxes count as mismatched or extra"))  # fmt: skip
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
                    extra = [hashlib.sha256(gm.tobytes()).hexdigest(), None if pm is None else hashlib.sha256(pm.tobytes()).hexdigest()]  # fmt: skip
                key = content_hash(fp, t.id, spec_dump, pair.key, pair.gold, pair.pred, pair.width, pair.height, extra)  # fmt: skip
                units.append(WorkUnit(key=key, sample_id=pair.key, position=pos, payload=payload))
            if not units:
                raise DataError(f"task {t.id}: the gold labels {gold_path} name no images")
            problems[t.id] = [p.to_dict() if hasattr(p, "to_dict") else p for p in probs]
            categories[t.id] = cats
            tasks.append(PlannedTask(t.id, units, params))
        return Plan(tasks=tasks, settings={"problems": {k: v[:MAX_STORED_PROBLEMS] for k, v in problems.items()}, "problem_counts": {k: _counts(v) for k, v in problems.items()}, "categories": categories, "images": str(images) if images else None, "gold": str(options.get("gold"))})  # fmt: skip

    def execute(self, ctx: RunContext) -> None:
        from pingce.labeling.runner import process_units

        for task in ctx.plan.tasks:
            run_units(
                ctx.store, ctx.run_id, task.task_id, task.units,
                lambda units: process_units(units, ctx.subject),
                chunk_size=CHUNK, progress=ctx.progress, description=f"labeling {task.task_id}",
            )  # fmt: skip

    def summarize(self, suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
        from pingce.labeling.summary import summarize_labeling

        return summarize_labeling(suite, config, records)


def _problem(kind: str, file: str, detail: str, image: str = "") -> dict[str, str]:
    return {"kind": kind, "file": file, "image": image, "detail": detail}


def _counts(problems: list[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in problems:
        kind = p["kind"] if isinstance(p, dict) else p.kind
        out[kind] = out.get(kind, 0) + 1
    return out


def register() -> None:
    """Entry point (via pingce.builtin): the standard, its metrics, `pingce label`, the demo."""
    if STANDARD_ID in standards._items:
        return
    from pingce.labeling.catalogue import METRICS
    from pingce.labeling.cli import app
    from pingce.labeling.demo import run_labeling_demo

    standards.register(STANDARD_ID, LabelingStandard())
    for m in METRICS:
        if m.name not in metrics._items:
            metrics.register(m.name, m)
    commands.register("label", app)
    demos.register("60-labeling", run_labeling_demo)


__all__ = ["LabelingStandard", "Outcome", "register"]
