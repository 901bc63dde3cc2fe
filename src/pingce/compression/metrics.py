"""The compression standard's metrics (prefix `cmp_`; metric names are global)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pingce.core.metric import MetricDef
from pingce.core.registry import metrics


def stat_drop(items: Sequence[Sequence[float]]) -> float:
    """Absolute accuracy drop: mean(baseline correct) - mean(compressed correct)."""
    import numpy as np  # not at registration (pingce --help)

    return float(np.mean([i[0] for i in items]) - np.mean([i[1] for i in items]))


def stat_rel_drop(items: Sequence[Sequence[float]]) -> float:
    """Relative accuracy drop: (acc_base - acc_comp) / acc_base (0 when acc_base is 0)."""
    import numpy as np  # not at registration (pingce --help)

    base = float(np.mean([i[0] for i in items]))
    return (base - float(np.mean([i[1] for i in items]))) / base if base else 0.0


def stat_sqnr_db(items: Sequence[Sequence[float]]) -> float:
    """10 log10(Σ s² / Σ (s - t)²) over all output elements, in dB (inf when identical)."""
    signal = sum(i[0] for i in items)
    noise = sum(i[1] for i in items)
    return 10 * math.log10(signal / noise) if noise > 0 else float("inf")


def _ratio(name: str, zh: str, form: str) -> MetricDef:
    return MetricDef(
        name, zh, f"compression ratio by {form}: baseline / compressed.", "higher", 0, "x"
    )


CATALOGUE = [
    _ratio("cmp_ratio_file_bytes", "压缩比（文件字节）", "file bytes"),
    _ratio("cmp_ratio_gzip_bytes", "压缩比（gzip字节）", "gzip-compressed file bytes"),
    _ratio("cmp_ratio_params", "压缩比（参数量）", "parameter count"),
    _ratio("cmp_ratio_nonzero_params", "压缩比（非零参数）", "non-zero parameter count"),
    MetricDef(
        "cmp_flops_reduction",
        "计算量降低比例",
        "1 - FLOPs of the compressed model / FLOPs of the baseline, counted on each "
        "model's graph (torch.utils.flop_counter); only layers with zeroed weights "
        "(unstructured pruning) are sparsity-adjusted (FLOPs × weight density).",
        "higher",
        1,
        "0-1",
    ),
    MetricDef(
        "cmp_accuracy_baseline",
        "基线准确率",
        "top-1 accuracy of the baseline.",
        "higher",
        1,
        "0-1",
        None,
        True,
    ),
    MetricDef(
        "cmp_accuracy_compressed",
        "压缩后准确率",
        "top-1 accuracy of the compressed model.",
        "higher",
        1,
        "0-1",
        None,
        True,
    ),
    MetricDef(
        "cmp_accuracy_drop",
        "准确率绝对下降",
        "baseline accuracy - compressed accuracy.",
        "lower",
        0,
        "",
        stat_drop,
    ),
    MetricDef(
        "cmp_rel_accuracy_drop",
        "准确率相对下降",
        "(baseline - compressed accuracy) / "
        "baseline accuracy; its CI's upper end is held against the budget.",
        "lower",
        0,
        "",
        stat_rel_drop,
    ),
    MetricDef(
        "cmp_top1_agreement",
        "Top-1一致率",
        "fraction of samples where both models predict the same class.",
        "higher",
        1,
        "0-1",
        None,
        True,
    ),
    MetricDef(
        "cmp_sqnr_db",
        "输出信噪比",
        "output SQNR: 10 log10(Σ s² / Σ (s - t)²), s = baseline output, t = compressed output.",
        "higher",
        0,
        "dB",
        stat_sqnr_db,
    ),
    MetricDef(
        "cmp_cosine",
        "输出余弦相似度",
        "mean per-sample cosine similarity of the outputs.",
        "higher",
        1,
        "0-1",
    ),
    MetricDef(
        "cmp_speedup",
        "加速比",
        "baseline / compressed latency (geometric mean over alternating "
        "calls after warm-up, fixed threads), per batch size.",
        "higher",
        0,
        "x",
    ),
]
BY_NAME = {m.name: m for m in CATALOGUE}


def register_metrics() -> None:
    for m in CATALOGUE:
        if not metrics.has_loaded(m.name):
            metrics.register(m.name, m)
