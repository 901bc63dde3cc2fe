"""The conversion standard's metrics: per-sample record scores and how they roll up.

Names are global across standards, so each carries the `conv_` prefix.
"""

from __future__ import annotations

from pingce.conversion import numerics as nm
from pingce.core.metric import MetricDef
from pingce.core.registry import metrics

CATALOGUE = [
    MetricDef(
        "conv_max_abs_err",
        "最大绝对误差",
        "max |t - s| over every element of every sample (s = source output, t = converted output).",
        "lower",
        0,
        "",
        nm.stat_max,
    ),
    MetricDef(
        "conv_max_rel_err",
        "最大相对误差",
        "max |t - s| / |s| over every element (zeros in s get 2.22e-16 added, as in Polygraphy).",
        "lower",
        0,
        "",
        nm.stat_max,
    ),
    MetricDef(
        "conv_mean_abs_err",
        "平均绝对误差",
        "mean |t - s| over all elements.",
        "lower",
        0,
        "",
        nm.stat_ratio,
    ),
    MetricDef(
        "conv_mean_rel_err",
        "平均相对误差",
        "mean |t - s| / |s| over all elements.",
        "lower",
        0,
        "",
        nm.stat_ratio,
    ),
    MetricDef(
        "conv_rmse",
        "均方根误差",
        "sqrt(mean (t - s)^2) over all elements.",
        "lower",
        0,
        "",
        nm.stat_sqrt_ratio,
    ),
    MetricDef(
        "conv_rel_l2",
        "相对欧氏距离",
        "||t - s||_2 / ||s||_2 over the whole dataset.",
        "lower",
        0,
        "",
        nm.stat_sqrt_ratio,
    ),
    MetricDef(
        "conv_cosine",
        "余弦相似度",
        "mean over samples of cos(s, t) (outputs flattened).",
        "higher",
        1,
        "0-1",
    ),
    MetricDef(
        "conv_kl",
        "KL散度",
        "mean over samples of KL(softmax(s) || softmax(t)) of the class-score output, in nats.",
        "lower",
        0,
        "nats",
    ),
    MetricDef(
        "conv_allclose_rate",
        "容差通过率",
        "fraction of samples whose every output element "
        "has |t - s| <= atol or |t - s|/|s| <= rtol (Polygraphy's elemwise check).",
        "higher",
        1,
        "0-1",
        None,
        True,
    ),
    MetricDef(
        "conv_top1_agreement",
        "Top-1一致率",
        "fraction of samples whose argmax class agrees.",
        "higher",
        1,
        "0-1",
        None,
        True,
    ),
    MetricDef(
        "conv_topk_agreement", "Top-k一致率", "mean |topk(s) ∩ topk(t)| / k.", "higher", 1, "0-1"
    ),
    MetricDef(
        "conv_accuracy_source",
        "源模型准确率",
        "accuracy of the source model on the labelled data.",
        "higher",
        1,
        "0-1",
        None,
        True,
    ),
    MetricDef(
        "conv_accuracy_target",
        "转换后模型准确率",
        "accuracy of the converted model on the labelled data.",
        "higher",
        1,
        "0-1",
        None,
        True,
    ),
    MetricDef(
        "conv_accuracy_delta",
        "任务指标差异",
        "converted minus source accuracy (task-metric parity; 0 = parity).",
        "higher",
        0,
        "",
        nm.stat_mean_delta,
    ),
    MetricDef(
        "conv_checker_pass",
        "ONNX检查通过",
        "onnx.checker full check passes (1) or not (0).",
        "higher",
        1,
        "0-1",
        None,
        True,
    ),
    MetricDef(
        "conv_shape_inference_pass",
        "形状推断通过",
        "strict ONNX shape inference succeeds.",
        "higher",
        1,
        "0-1",
        None,
        True,
    ),
    MetricDef(
        "conv_op_coverage",
        "算子覆盖率",
        "distinct operators defined in the model's opset "
        "and known to ONNX Runtime, over all distinct operators.",
        "higher",
        1,
        "0-1",
    ),
    MetricDef(
        "conv_shape_pass_rate",
        "动态形状通过率",
        "fraction of tested input shapes on which both models run and agree within tolerance.",
        "higher",
        1,
        "0-1",
        None,
        True,
    ),
    MetricDef(
        "conv_success_rate",
        "转换成功率",
        "fraction of zoo models converted and verified within tolerance.",
        "higher",
        1,
        "0-1",
        None,
        True,
    ),
    MetricDef(
        "conv_layer_agreement",
        "逐层一致率",
        "fraction of matched intermediate layers whose values pass the tolerance check.",
        "higher",
        1,
        "0-1",
    ),
    MetricDef(
        "conv_latency_ratio",
        "时延比",
        "converted p50 latency over source p50 latency (< 1: the converted model is faster).",
        "lower",
        0,
        "",
    ),
]

BY_NAME = {m.name: m for m in CATALOGUE}


def register_metrics() -> None:
    for m in CATALOGUE:
        if not metrics.has_loaded(m.name):
            metrics.register(m.name, m)
