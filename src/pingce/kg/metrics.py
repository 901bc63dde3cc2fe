"""The kg standard's metric catalogue (registered once in `pingce.core.registry.metrics`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pingce.core.metric import MetricDef


def _statistic(name: str, scheme: str | None = None) -> Callable[[Sequence[Any]], float]:
    """`pingce.kg.extraction`'s statistic `name` (for one WebNLG `scheme`: its table entry),
    imported when a report is computed: the catalogue is registered at every CLI start and
    extraction's matching needs numpy."""

    def statistic(items: Sequence[Any]) -> float:
        from pingce.kg import extraction

        found = getattr(extraction, name)
        return float((found[scheme] if scheme is not None else found)(items))

    statistic.__name__ = name if scheme is None else f"{name}[{scheme}]"
    return statistic


micro_f1 = _statistic("micro_f1")
micro_precision = _statistic("micro_precision")
micro_recall = _statistic("micro_recall")
SCHEME_F1 = {s: _statistic("SCHEME_F1", s) for s in ("strict", "exact", "partial", "type")}
MICRO_SCHEME_F1 = {
    s: _statistic("MICRO_SCHEME_F1", s) for s in ("strict", "exact", "partial", "type")
}

_SCHEME_TEXT = {
    "strict": (
        "严格匹配",
        "exact element string and the same element type (subject/predicate/object)",
    ),
    "exact": ("精确匹配", "exact element string, any element type"),
    "partial": (
        "部分匹配",
        "overlapping element tokens, any element type; partial matches count half",
    ),
    "type": ("类型匹配", "overlapping element tokens and the same element type"),
}

EXTRACTION: list[MetricDef] = [
    MetricDef(
        "kg_triple_f1",
        "三元组F1",
        "Micro F1 of extracted triples against gold after normalisation (NFKC, case, spaces, units; relations through the ontology).",
        statistic=micro_f1,
    ),
    MetricDef(
        "kg_triple_precision",
        "三元组精确率",
        "Share of distinct extracted triples that are gold triples (normalised, micro).",
        statistic=micro_precision,
    ),
    MetricDef(
        "kg_triple_recall",
        "三元组召回率",
        "Share of distinct gold triples that were extracted (normalised, micro).",
        statistic=micro_recall,
    ),
    *[
        MetricDef(
            f"kg_webnlg_{s}_f1",
            f"WebNLG {zh} F1",
            f"WebNLG 2020 element-level F1, {s} scheme ({text}), as the official script aggregates it: mean F1 of aligned, padded (candidate, reference) triple pairs.",
            statistic=SCHEME_F1[s],
        )
        for s, (zh, text) in _SCHEME_TEXT.items()
    ],
    *[
        MetricDef(
            f"kg_webnlg_micro_{s}_f1",
            f"WebNLG {zh} F1(微平均)",
            f"WebNLG element-level F1, {s} scheme ({text}), micro-averaged: element counts summed over all texts into one F1.",
            statistic=MICRO_SCHEME_F1[s],
        )
        for s, (zh, text) in _SCHEME_TEXT.items()
    ],
    MetricDef(
        "kg_entity_f1",
        "实体识别F1",
        "Micro F1 of entity mentions: same character span and same (top-level) type; seqeval-compatible.",
        statistic=micro_f1,
    ),
    MetricDef(
        "kg_relation_f1",
        "关系抽取F1",
        "Micro F1 of relation mentions, boundaries mode: same head span, tail span and relation.",
        statistic=micro_f1,
    ),
    MetricDef(
        "kg_relation_strict_f1",
        "关系抽取F1(严格)",
        "Micro F1 of relation mentions, strict mode: boundaries plus both entity types.",
        statistic=micro_f1,
    ),
    MetricDef(
        "kg_ontology_conformance",
        "本体一致率",
        "Per text, share of triples whose relation is in the ontology and whose known argument types fit its domain and range; mean over answered texts.",
    ),
    MetricDef(
        "kg_relation_hallucination",
        "关系幻觉率",
        "Text2KGBench: per text, share of triples whose relation is not in the ontology; mean over answered texts.",
        direction="lower",
    ),
    MetricDef(
        "kg_subject_hallucination",
        "主体幻觉率",
        "Text2KGBench: per text, share of triples whose subject occurs neither in the text nor among the ontology's class labels; mean over answered texts.",
        direction="lower",
    ),
    MetricDef(
        "kg_object_hallucination",
        "客体幻觉率",
        "Text2KGBench: per text, share of triples whose object occurs neither in the text nor among the ontology's class labels; mean over answered texts.",
        direction="lower",
    ),
]

BUILD: list[MetricDef] = [
    MetricDef(
        "kg_parse_rate",
        "输出可解析率",
        "Share of texts whose model output parsed as the requested JSON (after repairs).",
        binary=True,
    ),
    MetricDef(
        "kg_triples_per_text",
        "每段三元组数",
        "Mean number of valid triples extracted per text.",
        scale=0.0,
        unit="triples",
    ),
]

QUALITY: list[MetricDef] = [
    MetricDef(
        "kg_shacl_conformance",
        "SHACL符合率",
        "Share of graph nodes that are the focus of no SHACL violation.",
        binary=True,
    ),
    MetricDef(
        "kg_completeness",
        "完整性",
        "Mean share of the completeness expectations (required properties per class) each node meets.",
    ),
    MetricDef(
        "kg_consistency",
        "一致性",
        "Share of nodes with no disjoint-class membership and no conflicting functional values.",
        binary=True,
    ),
    MetricDef(
        "kg_redundancy_rate",
        "冗余率",
        "Share of nodes that duplicate another node (same normalised label, types and values; sameAs clusters count once).",
        direction="lower",
        binary=True,
    ),
    MetricDef(
        "kg_isolated_rate",
        "孤立节点率",
        "Share of nodes linked to no other node.",
        direction="lower",
        binary=True,
    ),
    MetricDef(
        "kg_cq_pass_rate",
        "能力问题通过率",
        "Share of competency questions whose SPARQL answers contain (or equal) the expected answers.",
        binary=True,
    ),
    MetricDef(
        "kg_cq_recall",
        "能力问题召回率",
        "Mean share of expected competency-question answers returned.",
    ),
]

CATALOGUE: dict[str, MetricDef] = {m.name: m for m in [*EXTRACTION, *BUILD, *QUALITY]}
