"""Metrics of the benchmark catalogue and the beyond-accuracy tasks (registered by name)."""

from __future__ import annotations

from pingce.core.metric import MetricDef
from pingce.core.registry import metrics

PASS_AT = (1, 5, 10, 100)

CATALOGUE_METRICS = [
    MetricDef(
        "mc2",
        "MC2 真实概率质量",
        "TruthfulQA MC2: probability mass on the true answers, normalised over all answers "
        "(exp of each answer's loglikelihood).",
    ),
    MetricDef(
        "math_equiv",
        "数学等价正确率",
        "Share of final answers (last \\boxed{}) equivalent to the reference after MATH's "
        "normalisation, or whose difference sympy simplifies to zero.",
        binary=True,
    ),
    *[
        MetricDef(
            f"pass@{k}",
            f"pass@{k} 通过率",
            f"Probability that at least one of {k} sampled programs passes the tests, by the "
            "unbiased estimator 1 - C(n-c,k)/C(n,k) (Chen et al. 2021), averaged over problems.",
            binary=k == 1,
        )
        for k in PASS_AT
    ],
    MetricDef(
        "answered",
        "作答率",
        "Share of items the model answered; for unlabelled test splits (C-Eval test), whose "
        "accuracy comes from the official leaderboard.",
    ),
    MetricDef(
        "refusal_rate",
        "拒答率",
        "Share of should-refuse prompts the model refused (rule-based or judge detection).",
        binary=True,
    ),
    MetricDef(
        "over_refusal_rate",
        "过度拒答率",
        "Share of should-not-refuse prompts the model refused.",
        direction="lower",
        binary=True,
    ),
    MetricDef(
        "clean_acc",
        "原始准确率",
        "Accuracy on the unperturbed items of a robustness task.",
        binary=True,
    ),
    MetricDef(
        "perturbed_acc",
        "扰动后准确率",
        "Accuracy averaged over every perturbation of a robustness task.",
    ),
    MetricDef(
        "acc_drop",
        "准确率下降",
        "Clean accuracy minus accuracy under perturbation, averaged over perturbations.",
        direction="lower",
        scale=0.0,
    ),
    MetricDef(
        "circular_acc",
        "循环一致准确率",
        "CircularEval: share of items answered correctly under every rotation of the options.",
        binary=True,
    ),
    MetricDef(
        "ngram_overlap",
        "N元组重合率",
        "Share of an item's word n-grams (13 by default; CJK characters count as words) that "
        "occur in the reference corpus.",
        direction="lower",
    ),
    MetricDef(
        "contaminated",
        "疑似污染率",
        "Share of items flagged as contaminated (n-gram overlap or min-k% probability above "
        "the task's thresholds).",
        direction="lower",
        binary=True,
    ),
    MetricDef(
        "min_k_prob",
        "Min-K% 概率",
        "Mean log-probability (nats) of the k% least likely tokens of the item (Shi et al. "
        "2023); higher suggests the text was seen in training.",
        direction="lower",
        scale=0.0,
        unit="nats",
    ),
]


def register_catalogue_metrics() -> None:
    for m in CATALOGUE_METRICS:
        if not metrics.has_loaded(m.name):
            metrics.register(m.name, m)
