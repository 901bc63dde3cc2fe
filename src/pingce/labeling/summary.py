"""From stored records to the report: task metrics with CIs, indicators, sections, gallery.

The gallery of a detection task (its worst images with gold and predicted boxes) is a report
section of ``boxes`` charts, built by `pingce.labeling.gallery`.

Ratios over images (precision, recall, F1, accuracy, CER, κ, mIoU, time saved) are corpus
statistics with percentile-bootstrap CIs over images (`pingce.core.stats.estimate`); COCO AP
comes from one COCOeval run and carries no CI (bootstrapping it would cost a COCOeval per
resample). Latencies go through `pingce.core.measure.LatencyStats`. Rows, indicators and
sections are the typed records of `pingce.core.report.kit`; stored label rows are read by name
(`pingce.labeling.rows`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from pingce.core.measure import LatencyStats
from pingce.core.report.kit import (
    BarsChart,
    BarSeries,
    HeatmapChart,
    IndicatorEntry,
    LinesChart,
    LineSeries,
    MetricRow,
    Section,
    Table,
    TaskRow,
    finite_or_none,
    to_dicts,
)
from pingce.core.stats import Estimate, estimate, estimate_indexed
from pingce.labeling.catalogue import BY_NAME
from pingce.labeling.metrics.classification import classification_scores
from pingce.labeling.metrics.coco_eval import CocoImage, coco_metrics
from pingce.labeling.metrics.segmentation import summarize_segmentation
from pingce.labeling.rows import label_rows
from pingce.labeling.task_types import DETECTION, task_type

RESAMPLES = 1000
SIZES = (("small", 0.0, 32.0**2), ("medium", 32.0**2, 96.0**2), ("large", 96.0**2, math.inf))
MAX_SAMPLES = 200
Rows = dict[str, MetricRow]
Report = tuple[Rows, list[Section], dict[str, Any]]


def _row(name: str, value: float, n: int, est: Estimate | None = None) -> MetricRow:
    """The catalogue metric `name` at `value` over `n` images (CI from `est` when given)."""
    m = BY_NAME[name]
    if est is None:
        return MetricRow.fixed(m, float(value), n)
    return replace(MetricRow.from_estimate(m, est, n=n), value=float(value))


def corpus_metric(
    name: str,
    items: Sequence[Any],
    stat: Callable[[Sequence[Any]], float],
    resamples: int = RESAMPLES,
) -> MetricRow | None:
    """A corpus statistic over per-image `items` with its bootstrap CI; None when undefined."""
    if not items:
        return None
    on_array = getattr(stat, "on_array", None)
    if on_array is not None:
        # Ratios of sums: index vectors resampled over one array (core.stats.estimate_indexed,
        # the same draws as the list path) instead of a Python list per resample.
        arr = np.asarray(items, dtype=float)
        est = estimate_indexed(
            len(arr), lambda idx: on_array(arr[idx]), n_resamples=resamples, seed=0
        )
    else:
        est = estimate(list(items), stat, n_resamples=resamples, seed=0)
    if not math.isfinite(est.value):
        return None
    return _row(name, est.value, len(items), est)


def corpus_row(
    name: str,
    items: Sequence[Any],
    stat: Callable[[Sequence[Any]], float],
    resamples: int = RESAMPLES,
) -> dict[str, Any] | None:
    """`corpus_metric` as a report dict."""
    row = corpus_metric(name, items, stat, resamples)
    return None if row is None else row.to_dict()


def _add(rows: Rows, name: str, row: MetricRow | None) -> None:
    if row is not None:
        rows[name] = row


def _ratio(i: int, j: int) -> Callable[[Sequence[Any]], float]:
    def stat(xs: Sequence[Any]) -> float:
        den = sum(x[j] for x in xs)
        return sum(x[i] for x in xs) / den if den else float("nan")

    def on_array(a: np.ndarray) -> float:
        den = a[:, j].sum()
        return float(a[:, i].sum() / den) if den else float("nan")

    stat.on_array = on_array  # type: ignore[attr-defined]
    return stat


def _f1(xs: Sequence[Any]) -> float:
    v, p, g = (sum(x[k] for x in xs) for k in range(3))
    return 2 * v / (p + g) if p + g else float("nan")


def _f1_on_array(a: np.ndarray) -> float:
    v, p, g = (a[:, k].sum() for k in range(3))
    return float(2 * v / (p + g)) if p + g else float("nan")


_f1.on_array = _f1_on_array  # type: ignore[attr-defined]


def _flat_mean(xs: Sequence[Sequence[float]]) -> float:
    vals = [v for x in xs for v in x]
    return sum(vals) / len(vals) if vals else float("nan")


def _latencies_ms(recs: Sequence[dict[str, Any]]) -> list[float]:
    return [r["data"]["latency_ms"] for r in recs if r["data"].get("latency_ms") is not None]


def _latency_rows(recs: Sequence[dict[str, Any]], rows: Rows) -> dict[str, Any] | None:
    ms = _latencies_ms(recs)
    if not ms:
        return None
    stats = LatencyStats.from_samples([v / 1000.0 for v in ms])
    n = stats.n
    speed = _row("label_images_per_s", 1000.0 / stats.mean_ms, n)
    rows["label_images_per_s"] = replace(
        speed,
        ci_low=1000.0 / stats.ci_high_ms if stats.ci_high_ms else None,
        ci_high=1000.0 / stats.ci_low_ms if stats.ci_low_ms else None,
    )
    rows["label_latency_p50_ms"] = _row("label_latency_p50_ms", stats.p50_ms, n)
    rows["label_latency_p95_ms"] = _row("label_latency_p95_ms", stats.p95_ms, n)
    return stats.to_dict()


def _latency_section(
    task_id: str, latency: dict[str, Any], recs: Sequence[dict[str, Any]]
) -> Section:
    ms = sorted(_latencies_ms(recs))
    cdf = [(i + 1) / len(ms) for i in range(len(ms))]
    keys = ("n", "mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "min_ms", "max_ms")
    chart = LinesChart(
        "Per-image latency CDF",
        [LineSeries("latency", ms, cdf)],
        x_label="latency (ms)",
        y_label="share of images",
    )
    speed = 1000.0 / latency["mean_ms"]
    return Section(
        id=f"{task_id}-latency",
        title=f"{task_id}: labeling speed",
        title_zh="标注效率",
        text=f"One image at a time, timed with pingce.core.measure; {speed:.2f} images/s.",
        table=Table(keys, [[latency[k] for k in keys]]),
        charts=[chart],
    )


def _size(area: float) -> str:
    return next(name for name, lo, hi in SIZES if lo <= area < hi)


def detection_summary(
    spec: dict[str, Any], recs: Sequence[dict[str, Any]], cats: list[str]
) -> Report:
    """Metric rows, report sections and extra data of one detection task."""
    rows: Rows = {}
    per_image = []
    ious: list[list[float]] = []
    text: list[tuple[int, int]] = []
    totals: dict[str, int] = defaultdict(int)
    per_class: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_size: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    confusion: dict[tuple[str, str], int] = defaultdict(int)
    coco_images = []
    for r in recs:
        d, m = r["data"], r["data"]["match"]
        gold, pred = label_rows(d["gold"]), label_rows(d["pred"])
        nv = len(m["valid"])
        # Crowd regions and the predictions inside them are COCO's "ignore": not counted.
        crowd, ignored = set(m.get("crowd", [])), set(m.get("ignored", []))
        totals["crowd"] += len(crowd)
        totals["ignored"] += len(ignored)
        n_all = nv + len(m["mismatched"]) + len(m["missing"]) + len(m["extra"])
        per_image.append((nv, len(pred) - len(ignored), len(gold) - len(crowd), n_all))
        ious.append([v for _, _, v in m["valid"]])
        edits, chars = d["text"]
        if chars:
            text.append((edits, chars))
        for k in ("valid", "mismatched", "missing", "extra"):
            totals[k] += len(m[k])
        totals["low_overlap"] += m["low_overlap"]
        for i, g in enumerate(gold):
            if i not in crowd:
                per_class[g.label]["gold"] += 1
                per_size[_size(g.box_area)]["gold"] += 1
        for i, p in enumerate(pred):
            if i not in ignored:
                per_class[p.label]["pred"] += 1
                per_size[_size(p.box_area)]["pred"] += 1
        for g, p, _ in m["valid"]:
            per_class[gold[g].label]["valid"] += 1
            per_size[_size(gold[g].box_area)]["valid_gold"] += 1
            per_size[_size(pred[p].box_area)]["valid_pred"] += 1
            confusion[(gold[g].label, pred[p].label)] += 1
        for g, p, _ in m["mismatched"]:
            confusion[(gold[g].label, pred[p].label)] += 1
        for g in m["missing"]:
            confusion[(gold[g].label, "(missed)")] += 1
        for p in m["extra"]:
            confusion[("(extra)", pred[p].label)] += 1
        width, height = int(d.get("width") or 0), int(d.get("height") or 0)
        coco_images.append(CocoImage(width, height, d["gold"], d["pred"]))
    n = len(recs)
    for name, stat in (
        ("label_precision", _ratio(0, 1)),
        ("label_recall", _ratio(0, 2)),
        ("label_f1", _f1),
        ("label_accuracy", _ratio(0, 3)),
    ):
        _add(rows, name, corpus_metric(name, per_image, stat))
    _add(rows, "label_mean_iou", corpus_metric("label_mean_iou", ious, _flat_mean))
    if text:
        _add(rows, "label_cer", corpus_metric("label_cer", text, _ratio(0, 1)))
    classes = list(dict.fromkeys([*cats, *sorted(per_class)]))
    coco = coco_metrics(coco_images, classes)
    for key in ("ap", "ap50", "ap75", "ap_small", "ap_medium", "ap_large", "ar1", "ar10", "ar100"):
        if coco.get(key) is not None:
            rows[f"label_{key}"] = _row(f"label_{key}", coco[key], n)
    latency = _latency_rows(recs, rows)

    tid = spec["id"]
    predicted = totals["valid"] + totals["mismatched"] + totals["extra"]
    gold_n = totals["valid"] + totals["mismatched"] + totals["missing"]
    total = predicted + totals["missing"]
    quality = {
        "valid": totals["valid"],
        "mismatched_label": totals["mismatched"],
        "missing": totals["missing"],
        "extra": totals["extra"],
        "low_overlap": totals["low_overlap"],
        "predicted": predicted,
        "gold": gold_n,
        "total": total,
        "crowd_regions": totals["crowd"],
        "ignored_in_crowd": totals["ignored"],
        "precision": totals["valid"] / predicted if predicted else None,
        "recall": totals["valid"] / gold_n if gold_n else None,
        "accuracy": totals["valid"] / total if total else None,
    }
    sections = [
        Section(
            id=f"{tid}-quality",
            title=f"{tid}: annotation quality (CVAT-style)",
            title_zh="标注质量汇总",
            text=(
                f"Greedy one-to-one matching at IoU >= {spec.get('iou_threshold', 0.5)}; low "
                f"overlap = valid with IoU < {spec.get('low_overlap_threshold', 0.8)} (still "
                "valid). precision = valid/predicted, recall = valid/gold, accuracy = "
                "valid/total, total = valid + mismatched + missing + extra. Crowd regions "
                "(COCO iscrowd) are not gold, and predictions of their label inside them are "
                "ignored (neither right nor wrong), as in COCOeval."
            ),
            table=Table(list(quality), [list(quality.values())]),
        )
    ]
    class_rows = []
    for c in classes:
        pc = per_class.get(c, {})
        g, p, v = pc.get("gold", 0), pc.get("pred", 0), pc.get("valid", 0)
        ap = (coco["per_class"].get(c) or {}) if coco.get("per_class") else {}
        prec, rec = (v / p if p else None), (v / g if g else None)
        f1 = 2 * v / (g + p) if g + p else None
        class_rows.append([c, g, p, v, prec, rec, f1, ap.get("ap"), ap.get("ap50")])
    sections.append(
        Section(
            id=f"{tid}-per-class",
            title=f"{tid}: per class",
            title_zh="分类别结果",
            table=Table(
                ["class", "gold", "predicted", "valid", "precision", "recall", "F1", "AP", "AP50"],
                class_rows,
            ),
            charts=[
                BarsChart(
                    "Precision, recall and AP per class",
                    classes,
                    [
                        BarSeries("precision", [r[4] for r in class_rows]),
                        BarSeries("recall", [r[5] for r in class_rows]),
                        BarSeries("AP", [r[7] for r in class_rows]),
                    ],
                    "0-1",
                )
            ],
        )
    )
    size_rows = []
    for name, _, _ in SIZES:
        ps = per_size.get(name, {})
        g, p = ps.get("gold", 0), ps.get("pred", 0)
        recall = ps.get("valid_gold", 0) / g if g else None
        precision = ps.get("valid_pred", 0) / p if p else None
        size_rows.append([name, g, recall, p, precision, coco.get(f"ap_{name}")])
    sections.append(
        Section(
            id=f"{tid}-per-size",
            title=f"{tid}: per object size (COCO areas)",
            title_zh="分尺寸结果",
            text="small < 32² px, medium < 96² px, large otherwise; recall by gold box area, "
            "precision by predicted box area.",
            table=Table(["size", "gold", "recall", "predicted", "precision", "AP"], size_rows),
            charts=[
                BarsChart(
                    "Recall and precision by object size",
                    [r[0] for r in size_rows],
                    [
                        BarSeries("recall", [r[2] for r in size_rows]),
                        BarSeries("precision", [r[4] for r in size_rows]),
                    ],
                    "0-1",
                )
            ],
        )
    )
    row_labels = [*classes, "(extra)"]
    col_labels = [*classes, "(missed)"]
    values = [[float(confusion.get((g, p), 0)) for p in col_labels] for g in row_labels]
    sections.append(
        Section(
            id=f"{tid}-confusion",
            title=f"{tid}: label confusion (rows gold, columns predicted)",
            title_zh="标签混淆矩阵",
            charts=[
                HeatmapChart(
                    "Matched boxes by gold and predicted label",
                    row_labels,
                    col_labels,
                    values,
                    "boxes",
                )
            ],
        )
    )
    if latency:
        sections.append(_latency_section(tid, latency, recs))
    extra = {"quality": quality, "coco": dict(coco.items()), "latency": latency}
    return rows, sections, extra


def detection_report(
    spec: dict[str, Any], recs: Sequence[dict[str, Any]], cats: list[str]
) -> Report:
    """`detection_summary` plus the gallery of the task's worst images."""
    from pingce.labeling.gallery import GALLERY_MAX, gallery_section

    rows, sections, extra = detection_summary(spec, recs, cats)
    ranked = sorted(recs, key=lambda r: (_badness(r), r["position"]))
    worst = ranked[: min(int(spec.get("gallery", 6)), GALLERY_MAX)]
    # Images without errors only when there are too few to choose from.
    worst = [r for r in worst if _badness(r) < 0 or len(worst) <= 3]
    if worst:
        sections.append(gallery_section(spec, worst, len(recs)))
    return rows, sections, extra


def classification_summary(
    spec: dict[str, Any], recs: Sequence[dict[str, Any]], cats: list[str] | None = None
) -> Report:
    pairs = [(r["data"]["gold_class"], r["data"]["pred_class"]) for r in recs]
    s = classification_scores([g for g, _ in pairs], [p for _, p in pairs])
    correct = estimate([float(g == p) for g, p in pairs], n_resamples=RESAMPLES, seed=0)
    rows: Rows = {"label_cls_accuracy": _row("label_cls_accuracy", s.accuracy, len(pairs), correct)}
    for name, attr in (
        ("label_cls_macro_f1", "macro_f1"),
        ("label_cls_micro_f1", "micro_f1"),
        ("label_cls_kappa", "kappa"),
    ):

        def stat(xs: Sequence[Any], a: str = attr) -> float:
            return getattr(classification_scores([g for g, _ in xs], [p for _, p in xs]), a)

        _add(rows, name, corpus_metric(name, pairs, stat, 300))
    latency = _latency_rows(recs, rows)
    per_class = [
        [c, v["support"], v["precision"], v["recall"], v["f1"]] for c, v in s.per_class.items()
    ]
    tid = spec["id"]
    sections = [
        Section(
            id=f"{tid}-per-class",
            title=f"{tid}: per class",
            title_zh="分类别结果",
            table=Table(["class", "gold images", "precision", "recall", "F1"], per_class),
            charts=[
                BarsChart.single(
                    "F1 per class",
                    [r[0] for r in per_class],
                    [r[4] for r in per_class],
                    "F1",
                    "0-1",
                )
            ],
        ),
        Section(
            id=f"{tid}-confusion",
            title=f"{tid}: confusion (rows gold, columns predicted)",
            title_zh="混淆矩阵",
            charts=[
                HeatmapChart(
                    "Images by gold and predicted class",
                    s.labels,
                    s.labels,
                    s.confusion.astype(float).tolist(),
                    "images",
                )
            ],
        ),
    ]
    if latency:
        sections.append(_latency_section(tid, latency, recs))
    confusion = {"labels": s.labels, "matrix": s.confusion.tolist()}
    return rows, sections, {"confusion": confusion, "latency": latency}


def segmentation_summary(
    spec: dict[str, Any], recs: Sequence[dict[str, Any]], cats: list[str]
) -> Report:
    stats = [r["data"]["seg"] for r in recs]
    full = summarize_segmentation(stats, cats)
    rows: Rows = {}
    for name, key in (
        ("label_seg_miou", "miou"),
        ("label_seg_dice", "dice"),
        ("label_seg_boundary_f1", "boundary_f1"),
    ):

        def stat(xs: Sequence[Any], k: str = key) -> float:
            return summarize_segmentation(xs, cats)[k]

        _add(rows, name, corpus_metric(name, stats, stat, 200))
    pc = full["per_class"]
    table = [
        [c, v["iou"], v["dice"], v["boundary_f1"], v["gold_pixels"], v["pred_pixels"]]
        for c, v in pc.items()
    ]
    chart = BarsChart(
        "IoU, Dice and boundary F1 per class",
        list(pc),
        [
            BarSeries("IoU", [v["iou"] for v in pc.values()]),
            BarSeries("Dice", [v["dice"] for v in pc.values()]),
            BarSeries("boundary F1", [v["boundary_f1"] for v in pc.values()]),
        ],
        "0-1",
    )
    section = Section(
        id=f"{spec['id']}-per-class",
        title=f"{spec['id']}: per class",
        title_zh="分类别分割结果",
        text=f"Boundary tolerance {spec.get('boundary_tolerance_px', 2.0)} px.",
        table=Table(["class", "IoU", "Dice", "boundary F1", "gold px", "pred px"], table),
        charts=[chart],
    )
    return rows, [section], {"segmentation": full}


def _mean_row(name: str, values: list[float]) -> MetricRow:
    est = estimate(values, n_resamples=RESAMPLES, seed=0)
    return _row(name, est.value, len(values), est)


def effort_summary(
    spec: dict[str, Any], recs: Sequence[dict[str, Any]], cats: list[str] | None = None
) -> Report:
    from pingce.labeling.metrics.effort import EffortCosts

    eff = [r["data"]["effort"] for r in recs]
    rows: Rows = {
        "label_effort_s_per_image": _mean_row(
            "label_effort_s_per_image", [e["estimated_s"] for e in eff]
        ),
        "label_scratch_s_per_image": _mean_row(
            "label_scratch_s_per_image", [e["scratch_s"] for e in eff]
        ),
    }
    _add(
        rows,
        "label_time_saved",
        corpus_metric(
            "label_time_saved",
            [(e["estimated_s"], e["scratch_s"]) for e in eff],
            lambda xs: 1 - sum(x[0] for x in xs) / sum(x[1] for x in xs),
        ),
    )
    _add(
        rows,
        "label_box_correction",
        corpus_metric("label_box_correction", [e["box_corrections"] for e in eff], _flat_mean),
    )
    _add(
        rows,
        "label_kept_rate",
        corpus_metric("label_kept_rate", [(e["kept"], e["predicted"]) for e in eff], _ratio(0, 1)),
    )
    measured = [r["data"]["lead_time"] for r in recs if r["data"].get("lead_time") is not None]
    if measured:
        rows["label_measured_s_per_image"] = _mean_row("label_measured_s_per_image", measured)
    actions = ("predicted", "final", "kept", "edited", "moved", "relabelled", "deleted", "added")
    counts = {k: sum(e[k] for e in eff) for k in actions}
    costs = EffortCosts(**(spec.get("costs") or {})).to_dict()
    if measured:
        how_long = (
            f". Measured (Label Studio lead_time): {sum(measured) / len(measured):.1f} s per "
            f"image over {len(measured)} images."
        )
    else:
        how_long = ". No lead_time in the corrected set: no measured time."
    text = (
        f"Predictions matched to the corrected labels (IoU >= {spec.get('iou_threshold', 0.5)}); "
        f"kept = same label and IoU >= {spec.get('kept_iou', 0.95)}. Seconds per action: "
        + ", ".join(f"{k} {v:g}" for k, v in costs.items())
        + how_long
    )
    did = ("kept", "moved", "relabelled", "deleted", "added")
    seconds_labels = ["correct auto-labels (estimated)", "from scratch (estimated)"]
    seconds = [rows["label_effort_s_per_image"].value, rows["label_scratch_s_per_image"].value]
    if measured:
        seconds_labels.append("correct (measured)")
        seconds.append(rows["label_measured_s_per_image"].value)
    section = Section(
        id=f"{spec['id']}-effort",
        title=f"{spec['id']}: human correction effort",
        title_zh="人工修正工作量",
        text=text,
        table=Table(list(counts), [list(counts.values())]),
        charts=[
            BarsChart.single(
                "What the corrector did", did, [counts[k] for k in did], "objects", "objects"
            ),
            BarsChart.single("Seconds per image", seconds_labels, seconds, "seconds", "s"),
        ],
    )
    return rows, [section], {"effort": counts, "costs": costs, "images": len(eff)}


def _problems_section(problems: list[dict[str, str]], counts: dict[str, int]) -> Section:
    shown = problems[:50]
    found = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) if counts else "none found."
    text = "Bad input is counted and listed, never dropped silently: " + found
    if len(problems) > len(shown):
        text += (
            f" First {len(shown)} of {len(problems)} listed; all are in the JSON report's "
            "extra.problems."
        )
    rows = [[p.get("task", ""), p["kind"], p["file"], p["image"], p["detail"]] for p in shown]
    return Section(
        id="input-problems",
        title="Input problems",
        title_zh="输入数据问题",
        text=text,
        table=Table(["task", "kind", "file", "image", "detail"], rows),
    )


def _described(stored: list[list[Any]]) -> str:
    """Stored label rows as text lines: label, [x,y,w,h] for a box, the transcription."""
    lines = []
    for r in label_rows(stored):
        box = f" [{r.x:.0f},{r.y:.0f},{r.w:.0f},{r.h:.0f}]" if r.is_box else ""
        text = f" {r.text!r}" if r.text else ""
        lines.append(f"{r.label}{box}{text}")
    return "\n".join(lines)


def _sample(task_id: str, rec: dict[str, Any]) -> dict[str, Any]:
    d = rec["data"]
    return {
        "task": task_id,
        "sample_id": rec["sample_id"],
        "prompt": d["image"],
        "output": _described(d.get("pred") or []),
        "extracted": d.get("pred_class"),
        "reference": d.get("gold_class") or _described(d.get("gold") or []),
        "scores": {k: float(v) for k, v in rec["scores"].items() if isinstance(v, int | float)},
        "data": {"latency_ms": d.get("latency_ms"), "problems": d.get("problems", [])},
    }


def _badness(rec: dict[str, Any]) -> float:
    s = rec["scores"]
    if "image_f1" in s:
        errors = s.get("missing", 0) + s.get("extra", 0) + s.get("mismatched", 0)
        return -(errors + 0.5 * s.get("low_overlap", 0))
    if "correct" in s:
        return s["correct"]
    if "pixel_accuracy" in s:
        return s["pixel_accuracy"]
    return -(s.get("edited", 0) + s.get("deleted", 0) + s.get("added", 0))


def summarize_labeling(
    suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    settings = config.get("settings", {})
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_task[r["task"]].append(r)
    tasks: list[TaskRow] = []
    indicators: list[IndicatorEntry] = []
    sections: list[Section] = []
    samples: list[dict[str, Any]] = []
    extra: dict[str, Any] = {"tasks": {}}
    problems: list[dict[str, str]] = []
    counts: dict[str, int] = defaultdict(int)
    kinds: list[str] = []
    for spec in suite["tasks"]:
        tid = spec["id"]
        for p in settings.get("problems", {}).get(tid, []):
            problems.append({**p, "task": tid})
        for k, v in settings.get("problem_counts", {}).get(tid, {}).items():
            counts[k] += v
        recs = sorted(by_task.get(tid, []), key=lambda r: r["position"])
        for r in recs:
            for p in r["data"].get("problems", []):
                problems.append({**p, "task": tid})
                counts[p["kind"]] += 1
        if not recs:
            continue
        cats = settings.get("categories", {}).get(tid, [])
        kind = task_type(spec["type"])
        rows, secs, ext = kind.report_fn()(spec, recs, cats)
        primary = kind.primary if kind.primary in rows else next(iter(rows), "")
        tasks.append(TaskRow.of(spec, len(recs), primary, rows, default_dimension="quality"))
        kinds.append(kind.name)
        for name, row in rows.items():
            indicators.append(IndicatorEntry.from_metric(BY_NAME[name], row, tid, verdict=None))
        sections.extend(secs)
        extra["tasks"][tid] = ext
        for r in sorted(recs, key=lambda r: (_badness(r), r["position"]))[:MAX_SAMPLES]:
            samples.append(_sample(tid, r))
    sections.append(_problems_section(problems, dict(counts)))
    extra["problems"] = problems[:1000]
    extra["problem_counts"] = dict(counts)
    scores = [
        t.metrics[t.primary_metric].value
        for t in tasks
        if t.primary_metric in t.metrics and t.metrics[t.primary_metric].scale == 1.0
    ]
    notes = []
    if DETECTION in kinds:
        notes.append(
            "COCO AP uses score 1 for predictions without a confidence, so it then describes a "
            "single operating point; P/R/F1 at IoU 0.5 do not use scores."
        )
    if counts:
        notes.append(f"{sum(counts.values())} input problems (see 'Input problems').")
    mean = finite_or_none(sum(scores) / len(scores)) if scores else None
    return {
        "tasks": to_dicts(tasks),
        "dimensions": [],
        "overall": {
            "score": None if mean is None else min(1.0, max(0.0, mean)),
            "method": "mean of the tasks' primary metrics (F1, accuracy, mIoU, time saved)",
        },
        "indicators": to_dicts(indicators),
        "samples": samples,
        "notes": notes,
        "sections": to_dicts(sections),
        "extra": extra,
    }
