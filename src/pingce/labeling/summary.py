"""From stored records to the report: task metrics with CIs, indicators, sections, gallery.

The gallery of a detection task (its worst images with gold and predicted boxes) is a report
section of ``boxes`` charts, built by `pingce.labeling.gallery`.

Ratios over images (precision, recall, F1, accuracy, CER, κ, mIoU, time saved) are corpus
statistics with percentile-bootstrap CIs over images (`pingce.core.stats.estimate`); COCO AP
comes from one COCOeval run and carries no CI (bootstrapping it would cost a COCOeval per
resample). Latencies go through `pingce.core.measure.LatencyStats`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pingce.core.measure import LatencyStats
from pingce.core.metric import finite_or_none as _finite
from pingce.core.standard import task_row
from pingce.core.stats import estimate, estimate_indexed
from pingce.labeling.catalogue import BY_NAME
from pingce.labeling.metrics.classification import classification_scores
from pingce.labeling.metrics.coco_eval import CocoImage, coco_metrics
from pingce.labeling.metrics.segmentation import summarize_segmentation

RESAMPLES = 1000
SIZES = (("small", 0.0, 32.0**2), ("medium", 32.0**2, 96.0**2), ("large", 96.0**2, math.inf))
MAX_SAMPLES = 200


def metric_row(name: str, value: float, n: int, est: Any = None) -> dict[str, Any]:
    m = BY_NAME[name]
    return {
        "value": float(value),
        "stderr": _finite(est.stderr) if est is not None else None,
        "ci_low": _finite(est.ci_low) if est is not None else None,
        "ci_high": _finite(est.ci_high) if est is not None else None,
        "n": int(n), "direction": m.direction, "unit": m.unit, "scale": m.scale,
    }  # fmt: skip


def corpus_row(name: str, items: Sequence[Any], stat: Callable[[Sequence[Any]], float], resamples: int = RESAMPLES) -> dict[str, Any] | None:  # fmt: skip
    if not items:
        return None
    on_array = getattr(stat, "on_array", None)
    if on_array is not None:
        # Ratios of sums: index vectors resampled over one array (core.stats.estimate_indexed,
        # the same draws as the list path) instead of a Python list per resample.
        arr = np.asarray(items, dtype=float)
        est = estimate_indexed(len(arr), lambda idx: on_array(arr[idx]), n_resamples=resamples, seed=0)  # fmt: skip
    else:
        est = estimate(list(items), stat, n_resamples=resamples, seed=0)
    if not math.isfinite(est.value):
        return None
    return metric_row(name, est.value, len(items), est)


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


def _latency_rows(recs: Sequence[dict[str, Any]], rows: dict[str, Any]) -> dict[str, Any] | None:
    ms = [r["data"]["latency_ms"] for r in recs if r["data"].get("latency_ms") is not None]
    if not ms:
        return None
    stats = LatencyStats.from_samples([v / 1000.0 for v in ms])
    n = stats.n
    rows["label_images_per_s"] = {
        **metric_row("label_images_per_s", 1000.0 / stats.mean_ms, n),
        "ci_low": 1000.0 / stats.ci_high_ms if stats.ci_high_ms else None,
        "ci_high": 1000.0 / stats.ci_low_ms if stats.ci_low_ms else None,
    }
    rows["label_latency_p50_ms"] = metric_row("label_latency_p50_ms", stats.p50_ms, n)
    rows["label_latency_p95_ms"] = metric_row("label_latency_p95_ms", stats.p95_ms, n)
    return stats.to_dict()


def _size(area: float) -> str:
    return next(name for name, lo, hi in SIZES if lo <= area < hi)


def detection_summary(spec: dict[str, Any], recs: Sequence[dict[str, Any]], cats: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:  # fmt: skip
    """Metric rows, report sections and extra data of one detection task."""
    rows: dict[str, Any] = {}
    per_image = []
    ious: list[list[float]] = []
    text: list[tuple[int, int]] = []
    totals = defaultdict(int)
    per_class: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_size: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    confusion: dict[tuple[str, str], int] = defaultdict(int)
    coco_images = []
    for r in recs:
        d, m = r["data"], r["data"]["match"]
        gold, pred = d["gold"], d["pred"]
        nv = len(m["valid"])
        # Crowd regions and the predictions inside them are COCO's "ignore": not counted.
        crowd, ignored = set(m.get("crowd", [])), set(m.get("ignored", []))
        totals["crowd"] += len(crowd)
        totals["ignored"] += len(ignored)
        per_image.append((nv, len(pred) - len(ignored), len(gold) - len(crowd), nv + len(m["mismatched"]) + len(m["missing"]) + len(m["extra"])))  # fmt: skip
        ious.append([v for _, _, v in m["valid"]])
        if d["text"][1]:
            text.append((d["text"][0], d["text"][1]))
        for k in ("valid", "mismatched", "missing", "extra"):
            totals[k] += len(m[k])
        totals["low_overlap"] += m["low_overlap"]
        for i, row in enumerate(gold):
            if i not in crowd:
                per_class[row[0]]["gold"] += 1
                per_size[_size(row[3] * row[4])]["gold"] += 1
        for i, row in enumerate(pred):
            if i not in ignored:
                per_class[row[0]]["pred"] += 1
                per_size[_size(row[3] * row[4])]["pred"] += 1
        for g, p, _ in m["valid"]:
            per_class[gold[g][0]]["valid"] += 1
            per_size[_size(gold[g][3] * gold[g][4])]["valid_gold"] += 1
            per_size[_size(pred[p][3] * pred[p][4])]["valid_pred"] += 1
            confusion[(gold[g][0], pred[p][0])] += 1
        for g, p, _ in m["mismatched"]:
            confusion[(gold[g][0], pred[p][0])] += 1
        for g in m["missing"]:
            confusion[(gold[g][0], "(missed)")] += 1
        for p in m["extra"]:
            confusion[("(extra)", pred[p][0])] += 1
        coco_images.append(CocoImage(int(d.get("width") or 0), int(d.get("height") or 0), gold, pred))  # fmt: skip
    n = len(recs)
    for name, stat in (("label_precision", _ratio(0, 1)), ("label_recall", _ratio(0, 2)), ("label_f1", _f1), ("label_accuracy", _ratio(0, 3))):  # fmt: skip
        row = corpus_row(name, per_image, stat)
        if row is not None:
            rows[name] = row
    row = corpus_row("label_mean_iou", ious, _flat_mean)
    if row is not None:
        rows["label_mean_iou"] = row
    if text:
        row = corpus_row("label_cer", text, _ratio(0, 1))
        if row is not None:
            rows["label_cer"] = row
    classes = list(dict.fromkeys([*cats, *sorted(per_class)]))
    coco = coco_metrics(coco_images, classes)
    for key in ("ap", "ap50", "ap75", "ap_small", "ap_medium", "ap_large", "ar1", "ar10", "ar100"):
        if coco.get(key) is not None:
            rows[f"label_{key}"] = metric_row(f"label_{key}", coco[key], n)
    latency = _latency_rows(recs, rows)

    sections = []
    predicted = totals["valid"] + totals["mismatched"] + totals["extra"]
    gold_n = totals["valid"] + totals["mismatched"] + totals["missing"]
    total = predicted + totals["missing"]
    quality = {
        "valid": totals["valid"], "mismatched_label": totals["mismatched"], "missing": totals["missing"],
        "extra": totals["extra"], "low_overlap": totals["low_overlap"], "predicted": predicted,
        "gold": gold_n, "total": total, "crowd_regions": totals["crowd"], "ignored_in_crowd": totals["ignored"],
        "precision": totals["valid"] / predicted if predicted else None,
        "recall": totals["valid"] / gold_n if gold_n else None,
        "accuracy": totals["valid"] / total if total else None,
    }  # fmt: skip
    sections.append({
        "id": f"{spec['id']}-quality", "title": f"{spec['id']}: annotation quality (CVAT-style)", "title_zh": "标注质量汇总",
        "text": (f"Greedy one-to-one matching at IoU >= {spec.get('iou_threshold', 0.5)}; low overlap = valid with IoU < "
                 f"{spec.get('low_overlap_threshold', 0.8)} (still valid). precision = valid/predicted, recall = valid/gold, "
                 "accuracy = valid/total, total = valid + mismatched + missing + extra. Crowd regions (COCO iscrowd) are not "
                 "gold, and predictions of their label inside them are ignored (neither right nor wrong), as in COCOeval."),
        "table": {"columns": list(quality), "rows": [list(quality.values())]},
    })  # fmt: skip
    class_rows = []
    for c in classes:
        pc = per_class.get(c, {})
        g, p, v = pc.get("gold", 0), pc.get("pred", 0), pc.get("valid", 0)
        ap = (coco["per_class"].get(c) or {}) if coco.get("per_class") else {}
        prec, rec = (v / p if p else None), (v / g if g else None)
        f1 = 2 * v / (g + p) if g + p else None
        class_rows.append([c, g, p, v, prec, rec, f1, ap.get("ap"), ap.get("ap50")])
    sections.append({
        "id": f"{spec['id']}-per-class", "title": f"{spec['id']}: per class", "title_zh": "分类别结果",
        "table": {"columns": ["class", "gold", "predicted", "valid", "precision", "recall", "F1", "AP", "AP50"], "rows": class_rows},
        "charts": [{"kind": "bars", "title": "Precision, recall and AP per class", "labels": classes,
                    "series": [{"name": "precision", "values": [r[4] for r in class_rows]},
                               {"name": "recall", "values": [r[5] for r in class_rows]},
                               {"name": "AP", "values": [r[7] for r in class_rows]}], "unit": "0-1"}],
    })  # fmt: skip
    size_rows = []
    for name, _, _ in SIZES:
        ps = per_size.get(name, {})
        g, p = ps.get("gold", 0), ps.get("pred", 0)
        size_rows.append([name, g, ps.get("valid_gold", 0) / g if g else None, p, ps.get("valid_pred", 0) / p if p else None, coco.get(f"ap_{name}")])  # fmt: skip
    sections.append({
        "id": f"{spec['id']}-per-size", "title": f"{spec['id']}: per object size (COCO areas)", "title_zh": "分尺寸结果",
        "text": "small < 32² px, medium < 96² px, large otherwise; recall by gold box area, precision by predicted box area.",
        "table": {"columns": ["size", "gold", "recall", "predicted", "precision", "AP"], "rows": size_rows},
        "charts": [{"kind": "bars", "title": "Recall and precision by object size", "labels": [r[0] for r in size_rows],
                    "series": [{"name": "recall", "values": [r[2] for r in size_rows]},
                               {"name": "precision", "values": [r[4] for r in size_rows]}], "unit": "0-1"}],
    })  # fmt: skip
    row_labels = [*classes, "(extra)"]
    col_labels = [*classes, "(missed)"]
    values = [[float(confusion.get((g, p), 0)) for p in col_labels] for g in row_labels]
    sections.append({
        "id": f"{spec['id']}-confusion", "title": f"{spec['id']}: label confusion (rows gold, columns predicted)", "title_zh": "标签混淆矩阵",
        "charts": [{"kind": "heatmap", "title": "Matched boxes by gold and predicted label", "rows": row_labels, "columns": col_labels, "values": values, "unit": "boxes"}],
    })  # fmt: skip
    if latency:
        sections.append(_latency_section(spec["id"], latency, recs))
    extra = {"quality": quality, "coco": {k: v for k, v in coco.items()}, "latency": latency}
    return rows, sections, extra


def _latency_section(task_id: str, latency: dict[str, Any], recs: Sequence[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    ms = sorted(r["data"]["latency_ms"] for r in recs if r["data"].get("latency_ms") is not None)
    cdf = [(i + 1) / len(ms) for i in range(len(ms))]
    keys = ("n", "mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "min_ms", "max_ms")
    return {
        "id": f"{task_id}-latency", "title": f"{task_id}: labeling speed", "title_zh": "标注效率",
        "text": f"One image at a time, timed with pingce.core.measure; {1000.0 / latency['mean_ms']:.2f} images/s.",
        "table": {"columns": list(keys), "rows": [[latency[k] for k in keys]]},
        "charts": [{"kind": "lines", "title": "Per-image latency CDF", "x_label": "latency (ms)", "y_label": "share of images", "series": [{"name": "latency", "x": ms, "y": cdf}]}],
    }  # fmt: skip


def classification_summary(spec: dict[str, Any], recs: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:  # fmt: skip
    pairs = [(r["data"]["gold_class"], r["data"]["pred_class"]) for r in recs]
    s = classification_scores([g for g, _ in pairs], [p for _, p in pairs])
    rows = {
        "label_cls_accuracy": metric_row(
            "label_cls_accuracy",
            s.accuracy,
            len(pairs),
            estimate([float(g == p) for g, p in pairs], n_resamples=RESAMPLES, seed=0),
        ),  # fmt: skip
    }
    for name, attr in (("label_cls_macro_f1", "macro_f1"), ("label_cls_micro_f1", "micro_f1"), ("label_cls_kappa", "kappa")):  # fmt: skip
        row = corpus_row(name, pairs, lambda xs, a=attr: getattr(classification_scores([g for g, _ in xs], [p for _, p in xs]), a), 300)  # fmt: skip
        if row is not None:
            rows[name] = row
    latency = _latency_rows(recs, rows)
    per_class = [
        [c, v["support"], v["precision"], v["recall"], v["f1"]] for c, v in s.per_class.items()
    ]
    sections = [
        {"id": f"{spec['id']}-per-class", "title": f"{spec['id']}: per class", "title_zh": "分类别结果",
         "table": {"columns": ["class", "gold images", "precision", "recall", "F1"], "rows": per_class},
         "charts": [{"kind": "bars", "title": "F1 per class", "labels": [r[0] for r in per_class], "series": [{"name": "F1", "values": [r[4] for r in per_class]}], "unit": "0-1"}]},
        {"id": f"{spec['id']}-confusion", "title": f"{spec['id']}: confusion (rows gold, columns predicted)", "title_zh": "混淆矩阵",
         "charts": [{"kind": "heatmap", "title": "Images by gold and predicted class", "rows": s.labels, "columns": s.labels, "values": s.confusion.astype(float).tolist(), "unit": "images"}]},
    ]  # fmt: skip
    if latency:
        sections.append(_latency_section(spec["id"], latency, recs))
    return (
        rows,
        sections,
        {"confusion": {"labels": s.labels, "matrix": s.confusion.tolist()}, "latency": latency},
    )


def segmentation_summary(spec: dict[str, Any], recs: Sequence[dict[str, Any]], cats: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:  # fmt: skip
    stats = [r["data"]["seg"] for r in recs]
    full = summarize_segmentation(stats, cats)
    rows = {}
    for name, key in (("label_seg_miou", "miou"), ("label_seg_dice", "dice"), ("label_seg_boundary_f1", "boundary_f1")):  # fmt: skip
        row = corpus_row(name, stats, lambda xs, k=key: summarize_segmentation(xs, cats)[k], 200)
        if row is not None:
            rows[name] = row
    pc = full["per_class"]
    table = [[c, v["iou"], v["dice"], v["boundary_f1"], v["gold_pixels"], v["pred_pixels"]] for c, v in pc.items()]  # fmt: skip
    sections = [{
        "id": f"{spec['id']}-per-class", "title": f"{spec['id']}: per class", "title_zh": "分类别分割结果",
        "text": f"Boundary tolerance {spec.get('boundary_tolerance_px', 2.0)} px.",
        "table": {"columns": ["class", "IoU", "Dice", "boundary F1", "gold px", "pred px"], "rows": table},
        "charts": [{"kind": "bars", "title": "IoU, Dice and boundary F1 per class", "labels": list(pc),
                    "series": [{"name": "IoU", "values": [v["iou"] for v in pc.values()]},
                               {"name": "Dice", "values": [v["dice"] for v in pc.values()]},
                               {"name": "boundary F1", "values": [v["boundary_f1"] for v in pc.values()]}], "unit": "0-1"}],
    }]  # fmt: skip
    return rows, sections, {"segmentation": full}


def effort_summary(spec: dict[str, Any], recs: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:  # fmt: skip
    from pingce.labeling.metrics.effort import EffortCosts

    eff = [r["data"]["effort"] for r in recs]
    n = len(eff)
    rows = {
        "label_effort_s_per_image": metric_row(
            "label_effort_s_per_image", *_mean_est([e["estimated_s"] for e in eff])
        ),  # fmt: skip
        "label_scratch_s_per_image": metric_row(
            "label_scratch_s_per_image", *_mean_est([e["scratch_s"] for e in eff])
        ),  # fmt: skip
    }
    row = corpus_row("label_time_saved", [(e["estimated_s"], e["scratch_s"]) for e in eff], lambda xs: 1 - sum(x[0] for x in xs) / sum(x[1] for x in xs))  # fmt: skip
    if row is not None:
        rows["label_time_saved"] = row
    row = corpus_row("label_box_correction", [e["box_corrections"] for e in eff], _flat_mean)
    if row is not None:
        rows["label_box_correction"] = row
    row = corpus_row("label_kept_rate", [(e["kept"], e["predicted"]) for e in eff], _ratio(0, 1))
    if row is not None:
        rows["label_kept_rate"] = row
    measured = [r["data"]["lead_time"] for r in recs if r["data"].get("lead_time") is not None]
    if measured:
        rows["label_measured_s_per_image"] = metric_row("label_measured_s_per_image", *_mean_est(measured))  # fmt: skip
    counts = {k: sum(e[k] for e in eff) for k in ("predicted", "final", "kept", "edited", "moved", "relabelled", "deleted", "added")}  # fmt: skip
    costs = EffortCosts(**(spec.get("costs") or {})).to_dict()
    sections = [{
        "id": f"{spec['id']}-effort", "title": f"{spec['id']}: human correction effort", "title_zh": "人工修正工作量",
        "text": ("Predictions matched to the corrected labels (IoU >= " + str(spec.get("iou_threshold", 0.5)) + "); kept = same label and IoU >= "
                 + str(spec.get("kept_iou", 0.95)) + ". Seconds per action: " + ", ".join(f"{k} {v:g}" for k, v in costs.items())
                 + (f". Measured (Label Studio lead_time): {sum(measured) / len(measured):.1f} s per image over {len(measured)} images." if measured else ". No lead_time in the corrected set: no measured time.")),
        "table": {"columns": list(counts), "rows": [list(counts.values())]},
        "charts": [{"kind": "bars", "title": "What the corrector did", "labels": ["kept", "moved", "relabelled", "deleted", "added"],
                    "series": [{"name": "objects", "values": [counts[k] for k in ("kept", "moved", "relabelled", "deleted", "added")]}], "unit": "objects"},
                   {"kind": "bars", "title": "Seconds per image", "labels": ["correct auto-labels (estimated)", "from scratch (estimated)"] + (["correct (measured)"] if measured else []),
                    "series": [{"name": "seconds", "values": [rows["label_effort_s_per_image"]["value"], rows["label_scratch_s_per_image"]["value"]] + ([rows["label_measured_s_per_image"]["value"]] if measured else [])}], "unit": "s"}],
    }]  # fmt: skip
    return rows, sections, {"effort": counts, "costs": costs, "images": n}


def _mean_est(values: list[float]) -> tuple[float, int, Any]:
    est = estimate(values, n_resamples=RESAMPLES, seed=0)
    return est.value, len(values), est


PRIMARY = {
    "label.detection": "label_f1",
    "label.classification": "label_cls_accuracy",
    "label.segmentation": "label_seg_miou",
    "label.effort": "label_time_saved",
}


def _problems_section(problems: list[dict[str, str]], counts: dict[str, int]) -> dict[str, Any]:
    shown = problems[:50]
    text = "Bad input is counted and listed, never dropped silently: " + (
        ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) if counts else "none found."
    )
    if len(problems) > len(shown):
        text += f" First {len(shown)} of {len(problems)} listed; all are in the JSON report's extra.problems."  # fmt: skip
    return {
        "id": "input-problems",
        "title": "Input problems",
        "title_zh": "输入数据问题",
        "text": text,
        "table": {
            "columns": ["task", "kind", "file", "image", "detail"],
            "rows": [
                [p.get("task", ""), p["kind"], p["file"], p["image"], p["detail"]] for p in shown
            ],
        },  # fmt: skip
    }


def _sample(task_id: str, rec: dict[str, Any]) -> dict[str, Any]:
    d = rec["data"]

    def fmt(rows: list[list[Any]]) -> str:
        return "\n".join(
            f"{r[0]}"
            + (f" [{r[1]:.0f},{r[2]:.0f},{r[3]:.0f},{r[4]:.0f}]" if r[1] is not None else "")
            + (f" {r[6]!r}" if len(r) > 6 and r[6] else "")  # fmt: skip
            for r in rows
        )

    return {
        "task": task_id, "sample_id": rec["sample_id"], "prompt": d["image"],
        "output": fmt(d.get("pred") or []), "extracted": d.get("pred_class"),
        "reference": d.get("gold_class") or fmt(d.get("gold") or []),
        "scores": {k: float(v) for k, v in rec["scores"].items() if isinstance(v, int | float)},
        "data": {"latency_ms": d.get("latency_ms"), "problems": d.get("problems", [])},
    }  # fmt: skip


def _badness(rec: dict[str, Any]) -> float:
    s = rec["scores"]
    if "image_f1" in s:
        return -(s.get("missing", 0) + s.get("extra", 0) + s.get("mismatched", 0) + 0.5 * s.get("low_overlap", 0))  # fmt: skip
    if "correct" in s:
        return s["correct"]
    if "pixel_accuracy" in s:
        return s["pixel_accuracy"]
    return -(s.get("edited", 0) + s.get("deleted", 0) + s.get("added", 0))


def summarize_labeling(suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    from pingce.labeling.gallery import GALLERY_MAX, gallery_section

    settings = config.get("settings", {})
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_task[r["task"]].append(r)
    tasks, indicators, sections, samples = [], [], [], []
    extra: dict[str, Any] = {"tasks": {}}
    problems: list[dict[str, str]] = []
    counts: dict[str, int] = defaultdict(int)
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
        kind = spec["type"]
        if kind == "label.detection":
            rows, secs, ext = detection_summary(spec, recs, cats)
            worst = sorted(recs, key=lambda r: (_badness(r), r["position"]))[
                : min(int(spec.get("gallery", 6)), GALLERY_MAX)
            ]
            # Images without errors only when there are too few to choose from.
            worst = [r for r in worst if _badness(r) < 0 or len(worst) <= 3]
            if worst:
                secs.append(gallery_section(spec, worst, len(recs)))
        elif kind == "label.classification":
            rows, secs, ext = classification_summary(spec, recs)
        elif kind == "label.segmentation":
            rows, secs, ext = segmentation_summary(spec, recs, cats)
        else:
            rows, secs, ext = effort_summary(spec, recs)
        primary = PRIMARY[kind] if PRIMARY[kind] in rows else next(iter(rows), "")
        tasks.append(
            task_row(spec, len(recs), primary, rows, default_dimension="quality", type=kind)
        )
        for name, row in rows.items():
            m = BY_NAME[name]
            indicators.append(m.indicator_row(row, tid))
        sections.extend(secs)
        extra["tasks"][tid] = ext
        for r in sorted(recs, key=lambda r: (_badness(r), r["position"]))[:MAX_SAMPLES]:
            samples.append(_sample(tid, r))
    sections.append(_problems_section(problems, dict(counts)))
    extra["problems"] = problems[:1000]
    extra["problem_counts"] = dict(counts)
    scores = [t["metrics"][t["primary_metric"]]["value"] for t in tasks if t["primary_metric"] in t["metrics"] and t["metrics"][t["primary_metric"]]["scale"] == 1.0]  # fmt: skip
    notes = []
    if any(t["type"] == "label.detection" for t in tasks):
        notes.append("COCO AP uses score 1 for predictions without a confidence, so it then describes a single operating point; P/R/F1 at IoU 0.5 do not use scores.")  # fmt: skip
    if counts:
        notes.append(f"{sum(counts.values())} input problems (see 'Input problems').")
    return {
        "tasks": tasks, "dimensions": [],
        "overall": {"score": min(1.0, max(0.0, sum(scores) / len(scores))) if scores else None, "method": "mean of the tasks' primary metrics (F1, accuracy, mIoU, time saved)"},
        "indicators": indicators, "samples": samples, "notes": notes, "sections": sections, "extra": extra,
    }  # fmt: skip
