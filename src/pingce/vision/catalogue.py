"""The vision standard's metrics (one `MetricDef` each; names are global, hence `vision_`)."""

from __future__ import annotations

from collections.abc import Sequence

from pingce.core.metric import MetricDef


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


M = MetricDef
METRICS: tuple[MetricDef, ...] = (
    # classification
    M(
        "vision_top1",
        "Top-1 准确率",
        "Share of images whose highest-scored class is the true class.",
        binary=True,
    ),
    M(
        "vision_top5",
        "Top-5 准确率",
        "Share of images whose true class is among the 5 highest-scored classes.",
        binary=True,
    ),
    M(
        "vision_macro_f1",
        "宏平均 F1",
        "Unweighted mean over classes of per-class F1 (precision and recall of the top-1 prediction).",
    ),
    M(
        "vision_ece",
        "期望校准误差",
        "Expected calibration error: over equal-width bins of top-1 confidence, the image-weighted mean |accuracy - mean confidence|.",
        direction="lower",
    ),
    # defects (MVTec AD protocol)
    M(
        "vision_image_auroc",
        "图像级 AUROC",
        "ROC AUC of per-image anomaly scores against good / defective labels.",
    ),
    M(
        "vision_pixel_auroc",
        "像素级 AUROC",
        "ROC AUC of every pixel's anomaly score against the ground-truth defect masks.",
    ),
    M(
        "vision_aupro",
        "AUPRO（FPR≤30%）",
        "Area under the per-region-overlap curve for false-positive rates up to 30 %, divided by 0.3 (MVTec AD).",
    ),
    M(
        "vision_image_f1_max",
        "最佳阈值 F1",
        "Image-level F1 at the threshold on the anomaly score that maximises it (anomalib's F1Max).",
    ),
    # segmentation and detection
    M("vision_miou", "平均交并比", "Mean over classes of dataset-level IoU = TP / (TP + FP + FN)."),
    M(
        "vision_dice",
        "平均 Dice",
        "Mean over classes of dataset-level Dice = 2TP / (2TP + FP + FN).",
    ),
    M(
        "vision_boundary_f1",
        "边界 F1",
        "Mean over classes of boundary F1: boundary pixels matched within the tolerance (Csurka et al. 2013).",
    ),
    M(
        "vision_ap",
        "COCO AP",
        "COCO mean average precision over IoU 0.50:0.95 (pycocotools COCOeval).",
    ),
    M("vision_ap50", "AP@0.5", "COCO average precision at IoU 0.5."),
    M(
        "vision_det_f1",
        "检测 F1@IoU",
        "F1 of one-to-one matched boxes at the task's IoU threshold.",
    ),
    # continual learning (accuracy matrix R[i][j]: accuracy on experience j after learning i)
    M(
        "cl_average_accuracy",
        "平均准确率",
        "Mean over experiences j of R[T-1][j]: accuracy on every experience after the last one was learned.",
    ),
    M(
        "cl_avg_incremental_accuracy",
        "平均增量准确率",
        "Mean over steps i of the mean of R[i][j] for j <= i (Rebuffi et al., iCaRL).",
    ),
    M(
        "cl_forgetting",
        "遗忘率",
        "Mean over j < T-1 of R[j][j] - R[T-1][j] (Avalanche's StreamForgetting).",
        direction="lower",
        scale=1.0,
    ),
    M(
        "cl_bwt",
        "后向迁移",
        "Backward transfer: mean over j < T-1 of R[T-1][j] - R[j][j] (Lopez-Paz & Ranzato, GEM; -forgetting).",
        scale=1.0,
    ),
    M(
        "cl_fwt",
        "前向迁移",
        "Forward transfer: mean over j >= 1 of R[j-1][j] - b[j], b[j] the accuracy before any learning (GEM; Avalanche).",
        scale=1.0,
    ),
    M(
        "cl_plasticity",
        "可塑性",
        "Learning accuracy: mean over j of R[j][j], accuracy on an experience right after learning it.",
    ),
    M(
        "cl_label_efficiency",
        "标注效率",
        "Mean over the task's label budgets of the average accuracy learned with that share of labels "
        "(first query strategy) divided by the average accuracy with every label.",
    ),
    M(
        "cl_seconds_per_experience",
        "每经验耗时",
        "Mean wall time of learn() over the stream's experiences.",
        direction="lower",
        scale=0.0,
        unit="s",
    ),
    # frame streams
    M(
        "fs_throughput_fps",
        "持续吞吐",
        "Frames analysed per second over the stream (completed frames / stream duration).",
        scale=0.0,
        unit="fps",
    ),
    M(
        "fs_drop_rate",
        "丢帧率",
        "Share of offered frames not analysed: refused by a full queue or finished after the deadline.",
        direction="lower",
    ),
    M(
        "fs_latency_p50_ms",
        "帧延迟 P50",
        "Median per-frame latency, completion minus scheduled arrival.",
        direction="lower",
        scale=0.0,
        unit="ms",
    ),
    M(
        "fs_latency_p99_ms",
        "帧延迟 P99",
        "99th percentile per-frame latency.",
        direction="lower",
        scale=0.0,
        unit="ms",
    ),
    M(
        "fs_latency_max_ms",
        "帧延迟最大值",
        "Largest per-frame latency.",
        direction="lower",
        scale=0.0,
        unit="ms",
    ),
    M(
        "fs_jitter_ms",
        "抖动",
        "Mean absolute difference of consecutive frames' latencies (RFC 3550's interarrival jitter, unsmoothed).",
        direction="lower",
        scale=0.0,
        unit="ms",
    ),
    M(
        "fs_queue_growth",
        "队列增长",
        "Least-squares slope of the queue depth over the stream, frames per second (> 0: the system falls behind).",
        direction="lower",
        scale=0.0,
        unit="frames/s",
    ),
    M(
        "fs_accuracy_under_load",
        "负载下准确率",
        "Share of offered labelled frames analysed in time and correctly (a dropped frame counts as wrong).",
    ),
    M(
        "fs_max_sustainable_fps",
        "最大可持续帧率",
        "Highest target fps whose stream met the drop-rate and p99-latency bounds (bisection search).",
        scale=0.0,
        unit="fps",
    ),
    M(
        "fs_sched_error_p99_ms",
        "调度误差 P99",
        "99th percentile of the generator's own lateness (frame offered - frame scheduled).",
        direction="lower",
        scale=0.0,
        unit="ms",
    ),
)

BY_NAME = {m.name: m for m in METRICS}
