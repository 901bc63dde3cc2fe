"""From stored records to the vision report: metric rows with CIs, indicators, sections and
the requirements (pass/fail) table. Built with the report kit (`pingce.core.report.kit`).

Per-image rates (top-1, top-5) carry a seeded percentile-bootstrap CI over images; corpus
figures over images (macro F1, ECE, image AUROC, F1max) are bootstrapped over images as well;
pixel AUROC and AUPRO are single passes over every pixel (no CI). Continual-learning figures carry a CI over
seeds, frame-stream figures are single measurements (no CI).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from pingce.core.options import seed_of
from pingce.core.report.kit import (
    HeatmapChart,
    IndicatorEntry,
    LinesChart,
    LineSeries,
    MetricRow,
    Section,
    Table,
    TaskRow,
    rnd,
    unit_score,
    verdict,
)
from pingce.core.stats import estimate_indexed
from pingce.vision import classification as cls
from pingce.vision import defects
from pingce.vision.catalogue import BY_NAME
from pingce.vision.tasks import parse_requirement

RESAMPLES = 1000
DIMENSION = {
    "vision.classification": "quality",
    "vision.defects": "quality",
    "vision.segmentation": "quality",
    "vision.detection": "quality",
    "vision.continual": "continual",
    "vision.framestream": "performance",
}
PRIMARY = {
    "vision.classification": "vision_top1",
    "vision.defects": "vision_image_auroc",
    "vision.segmentation": "vision_miou",
    "vision.detection": "vision_ap",
    "vision.continual": "cl_average_accuracy",
    "vision.framestream": "fs_max_sustainable_fps",
}


def indexed_row(
    name: str, n: int, stat: Callable[[np.ndarray], float], seed: int, resamples: int = RESAMPLES
) -> MetricRow | None:
    """A corpus metric over `n` items with a bootstrap CI over item indices."""
    est = estimate_indexed(n, stat, n_resamples=resamples, seed=seed)
    row = MetricRow.from_estimate(BY_NAME[name], est, stderr_needs_ci=True)
    return row if row.finite else None


def classification_rows(
    spec: Mapping[str, Any], recs: Sequence[dict[str, Any]], classes: list[str], seed: int
) -> tuple[dict[str, MetricRow], list[Section]]:
    labels = np.array([r["data"]["label"] for r in recs])
    probs = np.array([r["data"]["probs"] for r in recs], dtype=np.float64)
    bins = int(spec.get("ece_bins", 15))
    rows: dict[str, MetricRow] = {}
    for name in ("vision_top1", "vision_top5"):
        rows[name] = MetricRow.from_items(
            BY_NAME[name], [r["scores"][name] for r in recs], seed=seed
        )
    n_cls = probs.shape[1]

    def macro_f1(idx: np.ndarray) -> float:
        cm = cls.confusion_matrix(labels[idx], probs[idx].argmax(1), n_cls)
        return cls.per_class(cm).macro_f1

    for name, stat in (
        ("vision_macro_f1", macro_f1),
        ("vision_ece", lambda idx: cls.expected_calibration_error(labels[idx], probs[idx], bins)),
    ):
        row = indexed_row(name, len(recs), stat, seed)
        if row is not None:
            rows[name] = row
    names = classes if len(classes) == n_cls else [str(i) for i in range(n_cls)]
    cm = cls.confusion_matrix(labels, probs.argmax(1), n_cls)
    pc = cls.per_class(cm)
    tid = spec["id"]
    sections = [
        Section(
            f"{tid}-per-class",
            f"{tid}: per-class precision, recall and F1",
            "分类别精确率、召回率与 F1",
            text="Top-1 prediction per image; a class never predicted has precision 0 (scikit-learn's zero_division=0).",
            table=Table(
                ["class", "support", "precision", "recall", "f1"],
                [
                    [c, int(pc.support[i]), rnd(pc.precision[i]), rnd(pc.recall[i]), rnd(pc.f1[i])]
                    for i, c in enumerate(names)
                ],
            ),
        ),
        Section(
            f"{tid}-confusion",
            f"{tid}: confusion matrix",
            "混淆矩阵",
            text="Rows: true class; columns: predicted class (image counts).",
            charts=[HeatmapChart("confusion matrix", names, names, cm.tolist(), unit="images")],
        ),
        Section(
            f"{tid}-reliability",
            f"{tid}: reliability ({bins} confidence bins)",
            "置信度校准",
            table=Table(
                ["bin low", "bin high", "images", "accuracy", "mean confidence"],
                [
                    [rnd(a), rnd(b), c, rnd(d), rnd(e)]
                    for a, b, c, d, e in cls.reliability(labels, probs, bins)
                ],
            ),
        ),
    ]
    return rows, sections


def defect_rows(
    spec: Mapping[str, Any], recs: Sequence[dict[str, Any]], seed: int
) -> tuple[dict[str, MetricRow], list[Section]]:
    from pingce.vision.quality import unpack_map, unpack_mask

    labels = np.array([r["data"]["label"] for r in recs])
    scores = np.array([r["data"]["score"] for r in recs], dtype=np.float64)
    maps = [unpack_map(r["data"]["map"], r["data"]["size"]) for r in recs]
    masks = [unpack_mask(r["data"]["mask"], r["data"]["size"]) for r in recs]
    limit = float(spec.get("fpr_limit", defects.FPR_LIMIT))
    rows: dict[str, MetricRow] = {}
    n = len(recs)

    for name, stat in (
        ("vision_image_auroc", lambda idx: defects.auroc(labels[idx], scores[idx])),
        ("vision_image_f1_max", lambda idx: defects.f1_max(labels[idx], scores[idx])[0]),
    ):
        row = indexed_row(name, n, stat, seed)
        if row is not None:
            rows[name] = row
    # Pixel-level figures are one pass over every pixel (no bootstrap: a resample would cost
    # a full sort of all pixels; COCO AP in the labeling standard is handled the same way).
    pixel = defects.auroc(
        np.concatenate([m.ravel() for m in masks]), np.concatenate([m.ravel() for m in maps])
    )
    for name, value in (
        ("vision_pixel_auroc", pixel),
        ("vision_aupro", defects.aupro(masks, maps, limit)),
    ):
        row = MetricRow.fixed(BY_NAME[name], value, n)
        if row.finite:
            rows[name] = row
    best_f1, threshold = defects.f1_max(labels, scores)
    kinds = sorted({r["data"]["kind"] for r in recs})
    good = [i for i, r in enumerate(recs) if r["data"]["label"] == 0]
    table = []
    for kind in kinds:
        idx = [i for i, r in enumerate(recs) if r["data"]["kind"] == kind]
        both = np.array(sorted(set(idx) | set(good)))
        au = defects.auroc(labels[both], scores[both]) if kind != "good" else None
        detected = float((scores[idx] >= threshold).mean()) if np.isfinite(threshold) else None
        table.append([kind, len(idx), rnd(au), rnd(detected)])
    fpr, pro = defects.pro_curve(masks, maps)
    keep = np.flatnonzero(fpr <= limit)
    step = max(1, len(keep) // 200)
    tid = spec["id"]
    sections = [
        Section(
            f"{tid}-by-type",
            f"{tid}: by defect type",
            "按缺陷类型",
            text=(
                f"AUROC of each defect type against the good images; 'flagged' = share scored at or above the F1-best "
                f"threshold {rnd(threshold)} (image F1 {rnd(best_f1)})."
            ),
            table=Table(["type", "images", "auroc vs good", "flagged"], table),
        ),
        Section(
            f"{tid}-pro",
            f"{tid}: per-region overlap curve",
            "PRO 曲线",
            charts=[
                LinesChart(
                    f"PRO up to FPR {limit}",
                    [
                        LineSeries(
                            "PRO",
                            [rnd(x, 5) for x in fpr[keep][::step]],
                            [rnd(y, 5) for y in pro[keep][::step]],
                        )
                    ],
                    x_label="false-positive rate (defect-free pixels)",
                    y_label="per-region overlap",
                )
            ],
        ),
    ]
    return rows, sections


def segmentation_rows(
    spec: Mapping[str, Any], recs: Sequence[dict[str, Any]], classes: list[str], seed: int
) -> tuple[dict[str, MetricRow], list[Section]]:
    from pingce.vision import segmentation as seg

    cms = np.array([r["data"]["confusion"] for r in recs], dtype=np.int64)
    bcs = np.array([r["data"]["boundary"] for r in recs], dtype=np.int64)

    def miou(idx: np.ndarray) -> float:
        iou = seg.iou_dice(cms[idx].sum(axis=0))[0]
        return float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan")

    def dice(idx: np.ndarray) -> float:
        d = seg.iou_dice(cms[idx].sum(axis=0))[1]
        return float(np.nanmean(d)) if np.isfinite(d).any() else float("nan")

    rows: dict[str, MetricRow] = {}
    for name, stat in (
        ("vision_miou", miou),
        ("vision_dice", dice),
        ("vision_boundary_f1", lambda idx: seg.boundary_f1(bcs[idx].sum(axis=0))[1]),
    ):
        row = indexed_row(name, len(recs), stat, seed)
        if row is not None:
            rows[name] = row
    iou, dc = seg.iou_dice(cms.sum(axis=0))
    bf, _ = seg.boundary_f1(bcs.sum(axis=0))
    names = classes if len(classes) == len(iou) else [str(i) for i in range(len(iou))]
    tid = spec["id"]
    section = Section(
        f"{tid}-per-class",
        f"{tid}: per-class IoU, Dice and boundary F1",
        "分类别交并比、Dice 与边界 F1",
        text=(
            "Dataset-level: confusion summed over images; a class that never occurs has no IoU. "
            f"Boundary tolerance {spec.get('boundary_tolerance_px', 2.0)} px."
        ),
        table=Table(
            ["class", "gold pixels", "iou", "dice", "boundary f1"],
            [
                [c, int(cms.sum(axis=0)[i].sum()), rnd(iou[i]), rnd(dc[i]), rnd(bf[i])]
                for i, c in enumerate(names)
            ],
        ),
    )
    return rows, [section]


def detection_rows(
    spec: Mapping[str, Any], recs: Sequence[dict[str, Any]], classes: list[str], seed: int
) -> tuple[dict[str, MetricRow], list[Section]]:
    from pingce.vision import detection as det

    images = [
        det.DetImage(r["data"]["width"], r["data"]["height"], r["data"]["gold"], r["data"]["pred"])
        for r in recs
    ]
    names = list(dict.fromkeys([*classes, *(b[0] for im in images for b in im.gold)]))
    coco = det.coco_ap(images, names)
    rows: dict[str, MetricRow] = {}
    # COCO AP: one COCOeval over all images, no CI (a resample would cost a COCOeval each).
    for name, key in (("vision_ap", "ap"), ("vision_ap50", "ap50")):
        row = MetricRow.fixed(BY_NAME[name], coco[key], len(recs))
        if row.finite:
            rows[name] = row
    iou_t = float(spec.get("iou_threshold", 0.5))
    min_score = float(spec.get("score_threshold", 0.5))
    counts = np.array([det.match_counts(im, iou_t, min_score) for im in images], dtype=np.float64)
    row = indexed_row("vision_det_f1", len(recs), lambda idx: det.prf(counts[idx])[2], seed)
    if row is not None:
        rows["vision_det_f1"] = row
    per_class = []
    for c in names:
        sub = [
            det.DetImage(
                im.width,
                im.height,
                [g for g in im.gold if g[0] == c],
                [p for p in im.pred if p[0] == c],
            )
            for im in images
        ]
        p, r, f = det.prf(np.array([det.match_counts(im, iou_t, min_score) for im in sub]))
        per_class.append(
            [
                c,
                sum(len(im.gold) for im in sub),
                sum(len(im.pred) for im in sub),
                rnd(p),
                rnd(r),
                rnd(f),
            ]
        )
    tid = spec["id"]
    section = Section(
        f"{tid}-detection",
        f"{tid}: COCO AP family and per-class P/R/F1 at IoU {iou_t}",
        "检测精度",
        text=(
            f"P/R/F1: greedy one-to-one matching by descending score at IoU >= {iou_t}, boxes scored >= {min_score}. "
            "COCO (pycocotools): " + ", ".join(f"{k} {rnd(v)}" for k, v in coco.items())
        ),
        table=Table(
            ["class", "gold boxes", "predicted boxes", "precision", "recall", "f1"], per_class
        ),
    )
    return rows, [section]


def requirement_table(
    tasks: Sequence[TaskRow],
) -> tuple[Section | None, dict[tuple[str, str], tuple[float, str]]]:
    """The pass/fail table of every task's `requirements`; also (task, metric) -> (threshold,
    verdict) for the indicator entries."""
    judged: dict[tuple[str, str], tuple[float, str]] = {}
    rows = []
    for spec, task in tasks:
        for name, text in (spec.get("requirements") or {}).items():
            direction, threshold = parse_requirement(text)
            row = task.metrics.get(name) if task is not None else None
            value = row.value if row is not None else None
            v = verdict(value, threshold, direction) or "fail"
            reason = "" if row is not None else "not measured"
            judged[(spec["id"], name)] = (threshold, v)
            rows.append([spec["id"], name, text, rnd(value), v.upper(), reason])
    if not rows:
        return None, judged
    n_pass = sum(r[4] == "PASS" for r in rows)
    section = Section(
        "requirements",
        f"Requirements: {n_pass} of {len(rows)} met",
        "要求符合性",
        text="Each requirement of the suite judged on the measured value (an indicator that was not measured fails).",
        table=Table(["task", "indicator", "requirement", "measured", "verdict", "note"], rows),
    )
    return section, judged


def summarize_vision(
    suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    from pingce.vision.continual import continual_rows
    from pingce.vision.framestream import framestream_rows

    seed = seed_of(config)
    settings = config.get("settings", {})
    by_task: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_task.setdefault(r["task"], []).append(r)
    pairs: list[tuple[dict[str, Any], TaskRow | None]] = []
    sections: list[Section] = []
    notes: list[str] = []
    for spec in suite["tasks"]:
        recs = sorted(by_task.get(spec["id"], []), key=lambda r: r["position"])
        if not recs:
            pairs.append((spec, None))
            continue
        kind = spec["type"]
        if kind == "vision.classification":
            rows, secs = classification_rows(
                spec, recs, settings.get("classes", {}).get(spec["id"], []), seed
            )
        elif kind == "vision.defects":
            rows, secs = defect_rows(spec, recs, seed)
        elif kind == "vision.detection":
            classes = settings.get("classes", {}).get(spec["id"], [])
            rows, secs = detection_rows(spec, recs, classes, seed)
        elif kind == "vision.segmentation":
            classes = settings.get("classes", {}).get(spec["id"], [])
            rows, secs = segmentation_rows(spec, recs, classes, seed)
        elif kind == "vision.continual":
            rows, secs = continual_rows(spec, recs, seed)
        else:
            rows, secs, fs_notes = framestream_rows(spec, recs)
            notes += fs_notes
        primary = PRIMARY[kind] if PRIMARY[kind] in rows else next(iter(rows), "")
        # A suite that names no dimension stores core's "general": use the type's own.
        dim = spec.get("dimension")
        dim = DIMENSION[kind] if dim in (None, "general") else dim
        task = TaskRow.of(spec, len(recs), primary, rows, dimension=dim) if rows else None
        pairs.append((spec, task))
        sections.extend(secs)
    req_section, judged = requirement_table(pairs)
    indicators = []
    for spec, task in pairs:
        if task is None:
            continue
        for name, row in task.metrics.items():
            threshold, v = judged.get((spec["id"], name), (None, None))
            indicators.append(
                IndicatorEntry.from_metric(
                    BY_NAME[name], row, spec["id"], threshold=threshold, verdict=v
                )
            )
    if req_section is not None:
        sections.insert(0, req_section)
    tasks = [t for _, t in pairs if t is not None]
    scores = []
    for t in tasks:
        row = t.metrics[t.primary_metric]
        if isinstance(row, MetricRow) and row.scale == 1.0:
            s = unit_score(row.value, row.direction)
            if s is not None:
                scores.append(min(1.0, max(0.0, s)))
    failed = [f"{k[0]}/{k[1]}" for k, (_, v) in judged.items() if v == "fail"]
    if judged:
        notes.insert(
            0,
            f"Requirements: {len(judged) - len(failed)} of {len(judged)} met"
            + (f"; failed: {', '.join(failed)}." if failed else "."),
        )
    return {
        "tasks": [t.to_dict() for t in tasks],
        "dimensions": [],
        "overall": {
            "score": sum(scores) / len(scores) if scores else None,
            "method": "mean of the tasks' primary rates (top-1, image AUROC, mIoU, average accuracy); fps figures are not rates",
        },
        "indicators": [i.to_dict() for i in indicators],
        "samples": [],
        "notes": notes,
        "sections": [s.to_dict() for s in sections],
        "extra": {"requirements": {f"{k[0]}/{k[1]}": v for k, (_, v) in judged.items()}},
    }
