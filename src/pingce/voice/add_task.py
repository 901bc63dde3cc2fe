"""ADD 2023 track 2 (partially-fake localisation) and track 3 (algorithm attribution) outputs
as tasks of the voice standard: read the files, one record per utterance, metrics recomputed
from the stored records (`pingce.voice.add_metrics`).

File layouts (whitespace or tab separated, one item per line; blank lines and lines starting
with ``#`` are skipped; an optional first header line whose first field is ``utt``):

- localisation (prediction and reference alike): ``UTT START END LABEL``, times in seconds,
  LABEL ``real`` | ``fake`` (``bonafide`` / ``genuine`` and ``spoof`` are accepted as aliases).
  An utterance's duration is the largest END among its reference segments, so the reference
  must cover the utterance; frames no segment covers count as real. Every reference
  utterance needs at least one predicted segment (an all-real prediction is
  ``UTT 0 DUR real``); a predicted utterance missing from the reference is an error.
- attribution: ``UTT PREDICTED TRUE``, the algorithm labels as free-form strings (ADD 2023
  uses 0..6, 0 = bona fide).

Task types: ``voice.add-localisation`` (subject ``scores:PRED``, param ``ref``: reference
file, ``frame_step`` seconds, default 0.01) and ``voice.add-attribution`` (subject
``scores:FILE``); the older names ``voice-add-localisation`` / ``voice-add-attribution`` are
accepted as aliases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pingce.core.errors import DataError, SpecError
from pingce.core.execute import Outcome, WorkUnit
from pingce.core.fingerprint import content_hash
from pingce.core.report.kit import IndicatorEntry, MetricRow, Section, Table, TaskRow, rnd
from pingce.core.spec import Suite, validate_params
from pingce.core.stats import estimate
from pingce.voice.add_metrics import Segment, frame_labels, macro_f1
from pingce.voice.catalogue import ADD_METRICS, register_metrics
from pingce.voice.task_types import ADD_TYPES, ATTRIBUTION, LOCALISATION, canonical

__all__ = ["ADD_TYPES", "ATTRIBUTION", "LOCALISATION", "AddTask", "summarize_add"]

LABELS = {"real": "real", "bonafide": "real", "genuine": "real", "fake": "fake", "spoof": "fake"}


def _rows(path: Path, width: int, what: str) -> list[tuple[int, list[str]]]:
    if not path.is_file():
        raise DataError(f"{what} file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read as UTF-8 text ({exc})") from None
    out = []
    for ln, line in enumerate(text.splitlines(), 1):
        f = line.split()
        if not f or f[0].startswith("#") or (not out and f[0].lower() == "utt"):
            continue
        if len(f) != width:
            raise DataError(f"{path}: line {ln}: expected {width} columns ({what}), got {len(f)}")
        out.append((ln, f))
    if not out:
        raise DataError(f"{path}: no {what} lines")
    return out


def read_segments(path: Path) -> dict[str, list[Segment]]:
    """UTT START END LABEL lines -> {utt: [(start s, end s, 'real'|'fake'), ...]}."""
    segs: dict[str, list[Segment]] = {}
    for ln, (utt, a, b, label) in _rows(path, 4, "UTT START END LABEL"):
        try:
            start, end = float(a), float(b)
        except ValueError:
            raise DataError(
                f"{path}: line {ln}: START and END must be seconds, got {a!r} {b!r}"
            ) from None
        if not (np.isfinite(start) and np.isfinite(end) and 0 <= start < end):
            raise DataError(f"{path}: line {ln}: need 0 <= START < END, got {start} {end}")
        if label.lower() not in LABELS:
            raise DataError(f"{path}: line {ln}: LABEL must be real or fake, got {label!r}")
        segs.setdefault(utt, []).append((start, end, LABELS[label.lower()]))
    return segs


def read_attribution(path: Path) -> list[tuple[str, str, str]]:
    """UTT PREDICTED TRUE lines, in file order; an utterance may appear once."""
    seen: dict[str, int] = {}
    out = []
    for ln, (utt, pred, true) in _rows(path, 3, "UTT PREDICTED TRUE"):
        if utt in seen:
            raise DataError(f"{path}: line {ln}: utterance {utt} already on line {seen[utt]}")
        seen[utt] = ln
        out.append((utt, pred, true))
    return out


def _f1(items: Sequence[Any]) -> float:
    tp, fp, fn = np.asarray(items, dtype=float).reshape(-1, 4)[:, :3].sum(axis=0)
    return float(2 * tp / (2 * tp + fp + fn)) if tp else 0.0


def _track2(items: Sequence[Any]) -> float:
    arr = np.asarray(items, dtype=float).reshape(-1, 4)
    return 0.3 * float(arr[:, 3].mean()) + 0.7 * _f1(arr)


ADD_STATISTICS: dict[str, Callable[[Sequence[Any]], float]] = {
    "segment_f1": _f1,
    "track2": _track2,
    "macro_f1": lambda items: macro_f1([t for t, _ in items], [p for _, p in items]),
}
BY_TYPE = {
    LOCALISATION: [m.name for m in ADD_METRICS[:3]],
    ATTRIBUTION: ["voice_add_macro_f1"],
}


def register_add_metrics() -> None:
    """Kept for callers: the ADD metrics register with the others (`catalogue.register_metrics`)."""
    register_metrics()


class LocalisationParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ref: str
    frame_step: float = Field(default=0.01, gt=0, le=1)


class AttributionParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AddTask:
    """Plans and processes one ADD task; the subject is a ScoresSubject (the prediction)."""

    def __init__(self, spec: Any, suite: Suite) -> None:
        self.spec = spec
        self.kind = canonical(spec.type)
        self.base = suite.base_dir
        cls = LocalisationParams if self.kind == LOCALISATION else AttributionParams
        self.params: Any = validate_params(cls, spec.params, f"{suite.source}: task {spec.id}")

    def units(self, subject: Any) -> list[WorkUnit]:
        path = getattr(subject, "path", None)
        if path is None:
            raise SpecError(f"task {self.spec.id}: {self.spec.type} needs a scores:FILE subject")
        fp = subject.fingerprint()
        if self.kind == ATTRIBUTION:
            rows = read_attribution(path)
            self.provenance = {"file": str(path), "n_utterances": len(rows)}
            return [
                WorkUnit(content_hash(fp, self.spec.id, u, p, t), u, i, (p, t))
                for i, (u, p, t) in enumerate(rows)
            ]
        ref_path = Path(self.params.ref).expanduser()
        ref_path = ref_path if ref_path.is_absolute() else self.base / ref_path
        ref, hyp = read_segments(ref_path), read_segments(path)
        extra = sorted(set(hyp) - set(ref))
        if extra:
            raise DataError(
                f"{path}: {len(extra)} predicted utterance(s) are not in the reference {ref_path}, e.g. {extra[0]}"
            )
        missing = sorted(set(ref) - set(hyp))
        if missing:
            raise DataError(
                f"{path}: {len(missing)} reference utterance(s) have no predicted segment, e.g. {missing[0]}",
                hint="predict an all-real utterance as 'UTT 0 DURATION real'",
            )
        self.provenance = {"pred": str(path), "ref": str(ref_path), "n_utterances": len(ref)}
        step = self.params.frame_step
        out = []
        for i, (utt, segs) in enumerate(ref.items()):
            dur = max(e for _, e, _ in segs)
            key = content_hash(fp, self.spec.id, utt, segs, hyp[utt], dur, step)
            out.append(WorkUnit(key, utt, i, (segs, hyp[utt], dur, step)))
        return out

    def process(self, units: list[WorkUnit], subject: Any = None) -> list[Outcome]:
        outs = []
        for u in units:
            if self.kind == ATTRIBUTION:
                pred, true = u.payload
                outs.append(
                    Outcome(
                        {"voice_add_macro_f1": [true, pred]},
                        {"pred": pred, "true": true, "correct": pred == true},
                    )
                )
                continue
            segs, hyp, dur, step = u.payload
            ref = frame_labels(segs, dur, step)
            pr = frame_labels(hyp, dur, step)
            tp, fp, fn = int(np.sum(ref & pr)), int(np.sum(~ref & pr)), int(np.sum(ref & ~pr))
            correct = int(ref.any() == pr.any())
            counts = [tp, fp, fn, correct]
            outs.append(
                Outcome(
                    {
                        "voice_add_segment_f1": counts,
                        "voice_add_sentence_accuracy": float(correct),
                        "voice_add_track2_score": counts,
                    },
                    {
                        "duration": dur,
                        "ref_fake": bool(ref.any()),
                        "pred_fake": bool(pr.any()),
                        "tp": tp,
                        "fp": fp,
                        "fn": fn,
                    },
                )
            )
        return outs


def summarize_add(
    spec: dict[str, Any], recs: list[dict[str, Any]], seed: int
) -> tuple[TaskRow, list[IndicatorEntry], list[Section]]:
    """(task row, indicators, sections) of one ADD task from its stored records."""
    kind = canonical(spec["type"])
    by_name = {m.name: m for m in ADD_METRICS}
    rows: dict[str, MetricRow] = {}
    for name in BY_TYPE[kind]:
        m = by_name[name]
        est = estimate([r["scores"][name] for r in recs], m.statistic, seed=seed)
        rows[name] = MetricRow.from_estimate(m, est, n=len(recs), stderr_needs_ci=True)
    inds = [IndicatorEntry.from_metric(by_name[k], row, spec["id"]) for k, row in rows.items()]
    task = TaskRow.of(spec, len(recs), BY_TYPE[kind][-1], rows)
    if kind == ATTRIBUTION:
        classes = sorted({r["data"]["true"] for r in recs} | {r["data"]["pred"] for r in recs})
        table = []
        for c in classes:
            tp = sum(r["data"]["true"] == c and r["data"]["pred"] == c for r in recs)
            n_true = sum(r["data"]["true"] == c for r in recs)
            n_pred = sum(r["data"]["pred"] == c for r in recs)
            f1 = 2 * tp / (n_true + n_pred) if tp else 0.0
            table.append([c, n_true, n_pred, tp, rnd(f1)])
        section = Section(
            id=f"voice-add-classes-{spec['id']}",
            title="Per-algorithm F1",
            title_zh="各生成算法F1",
            table=Table(["algorithm", "true", "predicted", "correct", "F1"], table),
        )
    else:
        tp, fp, fn = (sum(r["data"][k] for r in recs) for k in ("tp", "fp", "fn"))
        precision = rnd(tp / (tp + fp)) if tp + fp else None
        recall = rnd(tp / (tp + fn)) if tp + fn else None
        columns = ["true positive", "false positive", "false negative", "precision", "recall"]
        section = Section(
            id=f"voice-add-frames-{spec['id']}",
            title="Frame counts (fake = positive)",
            title_zh="帧级统计（伪造为正类）",
            table=Table(columns, [[tp, fp, fn, precision, recall]]),
        )
    return task, inds, [section]
