"""The labeling standard's metrics (names are global, so all start with ``label_``)."""

from __future__ import annotations

from pingce.core.metric import MetricDef


def _m(
    name: str,
    zh: str,
    definition: str,
    direction: str = "higher",
    scale: float = 1.0,
    unit: str = "",
) -> MetricDef:
    return MetricDef(
        name=name, name_zh=zh, definition=definition, direction=direction, scale=scale, unit=unit
    )  # type: ignore[arg-type]


METRICS = [
    _m(
        "label_ap",
        "平均精度AP@[.5:.95]",
        "COCO AP averaged over IoU 0.50:0.05:0.95 (pycocotools COCOeval); unscored predictions count as score 1.",
    ),
    _m("label_ap50", "AP@0.5", "COCO AP at IoU 0.5."),
    _m("label_ap75", "AP@0.75", "COCO AP at IoU 0.75."),
    _m("label_ap_small", "小目标AP", "COCO AP for gold boxes with area < 32² px."),
    _m("label_ap_medium", "中目标AP", "COCO AP for gold boxes with 32² <= area < 96² px."),
    _m("label_ap_large", "大目标AP", "COCO AP for gold boxes with area >= 96² px."),
    _m("label_ar1", "AR@1", "COCO average recall with at most 1 detection per image."),
    _m("label_ar10", "AR@10", "COCO average recall with at most 10 detections per image."),
    _m("label_ar100", "AR@100", "COCO average recall with at most 100 detections per image."),
    _m(
        "label_precision",
        "标注精确率",
        "Valid / predicted boxes, greedy one-to-one matching at IoU >= the task's threshold (0.5) with the same label.",
    ),
    _m("label_recall", "标注召回率", "Valid / gold boxes (same matching)."),
    _m("label_f1", "标注F1", "Harmonic mean of label_precision and label_recall."),
    _m("label_mean_iou", "匹配框平均IoU", "Mean IoU of valid (matched, same-label) box pairs."),
    _m(
        "label_accuracy",
        "标注准确率",
        "CVAT-style accuracy: valid / (valid + mismatched label + missing + extra).",
    ),
    _m(
        "label_cer",
        "字符错误率",
        "Character error rate of transcriptions of matched text boxes: Levenshtein edits / gold characters (whitespace ignored by default).",
        "lower",
        0.0,
    ),
    _m(
        "label_cls_accuracy",
        "分类准确率",
        "Share of images whose predicted class equals the gold class.",
    ),
    _m(
        "label_cls_macro_f1",
        "分类宏平均F1",
        "Unweighted mean of per-class F1 over the union of gold and predicted classes.",
    ),
    _m(
        "label_cls_micro_f1",
        "分类微平均F1",
        "F1 over all images pooled (equals accuracy for one label per image).",
    ),
    _m(
        "label_cls_kappa",
        "Cohen's κ",
        "Cohen's kappa between predicted and gold classes: (p_o - p_e) / (1 - p_e).",
        scale=1.0,
    ),
    _m(
        "label_seg_miou",
        "平均交并比mIoU",
        "Mean over classes of Σ intersection / Σ union of class pixels.",
    ),
    _m(
        "label_seg_dice",
        "Dice系数",
        "Mean over classes of 2 Σ intersection / (Σ predicted + Σ gold pixels).",
    ),
    _m(
        "label_seg_boundary_f1",
        "边界F1",
        "Boundary F1 (Csurka et al. 2013) with a pixel tolerance, per image and class, averaged over images then classes.",
    ),
    _m(
        "label_effort_s_per_image",
        "人工修正时间（估计）",
        "Estimated seconds per image to correct the auto-labels into the final labels (documented per-action costs).",
        "lower",
        0.0,
        "s",
    ),
    _m(
        "label_scratch_s_per_image",
        "从零标注时间（估计）",
        "Estimated seconds per image to draw the final labels from scratch.",
        "lower",
        0.0,
        "s",
    ),
    _m(
        "label_time_saved",
        "节省时间比例",
        "1 - estimated correction time / estimated from-scratch time, over all images.",
    ),
    _m(
        "label_measured_s_per_image",
        "人工修正时间（实测）",
        "Label Studio lead_time of the corrected annotations, seconds per image.",
        "lower",
        0.0,
        "s",
    ),
    _m(
        "label_box_correction",
        "框修正量",
        "Mean 1 - IoU between a predicted box and its corrected counterpart.",
        "lower",
    ),
    _m("label_kept_rate", "保留率", "Share of predicted objects kept unchanged by the corrector."),
    _m(
        "label_images_per_s",
        "标注吞吐量",
        "Images labelled per second, one image at a time (1000 / mean latency in ms).",
        scale=0.0,
        unit="img/s",
    ),
    _m(
        "label_latency_p50_ms",
        "标注时延P50",
        "Median per-image labeling latency.",
        "lower",
        0.0,
        "ms",
    ),
    _m(
        "label_latency_p95_ms",
        "标注时延P95",
        "95th percentile per-image labeling latency (MLPerf loadgen rank rule).",
        "lower",
        0.0,
        "ms",
    ),
]
BY_NAME = {m.name: m for m in METRICS}
INDICATOR_THRESHOLDS: dict[str, float] = {}
