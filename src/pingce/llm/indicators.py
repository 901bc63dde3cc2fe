"""The llm standard's run-level indicators: the score roll-up and efficiency."""

from __future__ import annotations

from pingce.core.spec import Indicator

EFFICIENCY_INDICATORS = [
    Indicator(
        id="requests",
        name="Requests",
        name_zh="请求数",
        unit="",
        definition="Model calls made for the run (one per choice for multiple choice).",
    ),
    Indicator(
        id="tokens_in",
        name="Input tokens",
        name_zh="输入词元数",
        unit="tokens",
        definition="Prompt tokens processed, summed over requests.",
    ),
    Indicator(
        id="tokens_out",
        name="Output tokens",
        name_zh="输出词元数",
        unit="tokens",
        definition="Tokens generated, summed over requests: every token generated for the "
        "output, the end-of-sequence token it stopped on included (not batch padding); the "
        "local and served backends count alike.",
    ),
    Indicator(
        id="latency_per_sample_ms",
        name="Latency per sample",
        name_zh="单样本时延",
        unit="ms",
        direction="lower",
        definition="Mean wall time per sample; batched work is shared equally among its samples.",
    ),
    Indicator(
        id="tokens_per_second",
        name="Throughput",
        name_zh="吞吐量",
        unit="tokens/s",
        definition="(input + output tokens) / total model time.",
    ),
]
SCORE_INDICATORS = [
    Indicator(
        id="overall_score",
        name="Overall score",
        name_zh="综合得分",
        unit="0-1",
        definition="Weighted mean of the dimension scores (see the report for weights).",
    ),
    Indicator(
        id="dimension_score",
        name="Dimension score",
        name_zh="能力维度得分",
        unit="0-1",
        definition="Weighted mean of a capability dimension's task scores, each scaled to 0-1.",
    ),
]
