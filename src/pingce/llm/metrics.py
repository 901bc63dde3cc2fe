"""The large-model metrics: how each per-sample value rolls up into a task score.

Per-sample values live in a record's `scores`. A mean metric stores a float; a corpus metric
(BLEU, perplexity) stores the sufficient statistics it needs and names a `statistic` that
turns a list of them into one number, so both the score and its bootstrap CI come from the
stored records alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pingce.core.metric import MetricDef
from pingce.core.registry import metrics
from pingce.llm import text_metrics


def _exp(x: float) -> float:
    """exp that saturates to inf instead of raising (an untrained model can reach it)."""
    return math.exp(x) if x < 709.0 else math.inf


def _sum_cols(items: Sequence[Sequence[float]]) -> list[float]:
    return [sum(col) for col in zip(*items, strict=True)]


# Perplexity items are [logprob, n_tokens, n_words, n_bytes].
def token_perplexity(items: Sequence[Sequence[float]]) -> float:
    lp, toks, _, _ = _sum_cols(items)
    return _exp(-lp / toks)


def word_perplexity(items: Sequence[Sequence[float]]) -> float:
    lp, _, words, _ = _sum_cols(items)
    return _exp(-lp / words)


def byte_perplexity(items: Sequence[Sequence[float]]) -> float:
    lp, _, _, nbytes = _sum_cols(items)
    return _exp(-lp / nbytes)


def bits_per_byte(items: Sequence[Sequence[float]]) -> float:
    lp, _, _, nbytes = _sum_cols(items)
    return -lp / nbytes / math.log(2)


_CATALOGUE = [
    MetricDef(
        "acc",
        "准确率",
        "Share of items whose highest-loglikelihood choice is the gold one.",
        binary=True,
    ),
    MetricDef(
        "acc_norm",
        "长度归一化准确率",
        "Accuracy when each choice's loglikelihood is divided by its length in characters.",
        binary=True,
    ),
    MetricDef(
        "acc_norm_bytes",
        "字节归一化准确率",
        "Accuracy when each choice's loglikelihood is divided by its length in UTF-8 bytes.",
        binary=True,
    ),
    MetricDef(
        "exact_match",
        "精确匹配",
        "Share of outputs equal to a reference after trimming whitespace.",
        binary=True,
    ),
    MetricDef(
        "normalized_match",
        "归一化匹配",
        "Share of outputs equal to a reference after lower-casing and removing punctuation, articles and extra spaces.",
        binary=True,
    ),
    MetricDef(
        "precision",
        "精确率",
        "Token-overlap precision of the output against the best reference (characters for Chinese).",
    ),
    MetricDef(
        "recall",
        "召回率",
        "Token-overlap recall of the output against the best reference (characters for Chinese).",
    ),
    MetricDef(
        "f1",
        "F1 值",
        "Token-overlap F1 of the output against the best reference (characters for Chinese).",
    ),
    MetricDef(
        "bleu4",
        "BLEU-4",
        "Corpus BLEU with 1–4-gram precisions and the brevity penalty, no smoothing; Chinese tokenised by character.",
        scale=100.0,
        statistic=text_metrics.bleu_from_stats,
    ),
    MetricDef(
        "rouge_l",
        "ROUGE-L",
        "Mean sentence-level ROUGE-L F1 (longest common subsequence); Chinese by character.",
    ),
    MetricDef(
        "token_perplexity",
        "词元困惑度",
        "exp of the mean negative loglikelihood per model token.",
        direction="lower",
        scale=0.0,
        statistic=token_perplexity,
    ),
    MetricDef(
        "word_perplexity",
        "词困惑度",
        "exp of the negative loglikelihood per whitespace-separated word (lm-eval's definition).",
        direction="lower",
        scale=0.0,
        statistic=word_perplexity,
    ),
    MetricDef(
        "byte_perplexity",
        "字节困惑度",
        "exp of the negative loglikelihood per UTF-8 byte.",
        direction="lower",
        scale=0.0,
        statistic=byte_perplexity,
    ),
    MetricDef(
        "bits_per_byte",
        "每字节比特数",
        "Negative loglikelihood in bits per UTF-8 byte; comparable across tokenizers.",
        direction="lower",
        scale=0.0,
        unit="bit/B",
        statistic=bits_per_byte,
    ),
]

for _m in _CATALOGUE:
    metrics.register(_m.name, _m)


def get_metric(name: str) -> MetricDef:
    metric: MetricDef = metrics.get(name)
    return metric
