"""Capability dimensions of large-model evaluation and how task scores roll up.

A task names one dimension. A dimension's score is the weighted mean of its tasks' primary
scores, each scaled to 0–1 (BLEU ÷ 100). Tasks whose primary metric has no fixed scale
(perplexity) are reported but not rolled up. The overall score is the weighted mean of the
dimension scores, each dimension weighing the sum of its tasks' weights.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dimension:
    id: str
    name: str
    name_zh: str


DIMENSIONS = {
    d.id: d
    for d in (
        Dimension("language_understanding", "Language understanding", "语言理解"),
        Dimension("language_generation", "Language generation", "语言生成"),
        Dimension("knowledge", "Knowledge", "知识运用"),
        Dimension("reasoning", "Reasoning", "推理能力"),
        Dimension("mathematics", "Mathematics", "数学能力"),
        Dimension("code", "Code", "代码能力"),
        Dimension("safety", "Safety", "安全性"),
        Dimension("robustness", "Robustness", "鲁棒性"),
        Dimension("efficiency", "Efficiency", "效率"),
        Dimension("language_modeling", "Language modelling", "语言建模"),
        Dimension("general", "General", "通用能力"),
    )
}

OVERALL_METHOD = (
    "Weighted mean of dimension scores (0–1); each dimension weighs the sum of its tasks' "
    "weights and is the weighted mean of its tasks' primary scores scaled to 0–1. Tasks "
    "without a fixed scale (perplexity) are shown but not rolled up."
)


def rollup(
    tasks: list[dict[str, object]],
) -> tuple[list[dict[str, object]], dict[str, object]]:
    """(dimension rows, overall) from task rows carrying dimension, weight and scaled score."""
    by_dim: dict[str, list[dict[str, object]]] = {}
    for task in tasks:
        by_dim.setdefault(str(task["dimension"]), []).append(task)
    rows: list[dict[str, object]] = []
    for dim_id, members in by_dim.items():
        dim = DIMENSIONS.get(dim_id, Dimension(dim_id, dim_id.replace("_", " ").title(), dim_id))
        scored = [(float(t["weight"]), t["scaled"]) for t in members if t["scaled"] is not None]  # type: ignore[arg-type]
        total = sum(w for w, _ in scored)
        score = sum(w * float(s) for w, s in scored) / total if total > 0 else None  # type: ignore[arg-type]
        rows.append(
            {
                "id": dim.id,
                "name": dim.name,
                "name_zh": dim.name_zh,
                "score": score,
                "weight": total,
                "tasks": [str(t["id"]) for t in members],
            }
        )
    weighted = [(float(r["weight"]), float(r["score"])) for r in rows if r["score"] is not None]  # type: ignore[arg-type]
    total = sum(w for w, _ in weighted)
    overall = {
        "score": sum(w * s for w, s in weighted) / total if total > 0 else None,
        "method": OVERALL_METHOD,
    }
    return rows, overall
