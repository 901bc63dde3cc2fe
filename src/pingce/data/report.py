"""The data-quality report: measure values (pingce.data.quality.model) rolled up into
characteristic tasks, dimensions, the overall score and grade, indicators, notes, sample
previews and sections, with the report kit."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from pingce.core.report.kit import (
    BarsChart,
    BarSeries,
    Cell,
    IndicatorEntry,
    Section,
    Table,
    TaskRow,
    rnd,
    to_dicts,
)
from pingce.core.spec import Indicator
from pingce.data.metrics import METRIC_DEFS
from pingce.data.quality.indicators import (
    CAPPED,
    CHARACTERISTICS,
    MEASURE_BY_ID,
    MEASURES,
    defect_cap,
    grade,
)
from pingce.data.quality.model import (
    LANG_MIN_CHARS,
    LANG_MIN_CONFIDENCE,
    Measures,
    confident_language,
    measure_values,
)
from pingce.data.quality.topics import MAX_DOCS, MIN_DOCS, TopicResult

SAMPLES_IN_REPORT = 50
LENGTH_BINS = (0, 100, 300, 1000, 3000, 10_000)
OVERALL = Indicator(
    id="data_quality_score",
    name="Data quality score",
    name_zh="数据质量综合得分",
    unit="0-1",
    definition="Weighted mean of the characteristic scores (weights in the report).",
)


def summarize_quality(
    records: Sequence[dict[str, Any]], options: dict[str, Any], settings: dict[str, Any]
) -> dict[str, Any]:
    """The report body of a data-quality run, recomputed from its stored records."""
    return quality_report(measure_values(records, options), options, settings)


def quality_report(
    m: Measures, options: dict[str, Any], settings: dict[str, Any]
) -> dict[str, Any]:
    """The report body of a data-quality run from its measure values."""
    tasks, dims = _characteristics(m.values)
    overall_score = _weighted_score(dims)
    by_id = {d["id"]: d["score"] for d in dims}
    letter = grade(overall_score, by_id) if overall_score is not None else "–"
    weights = ", ".join(f"{c.id} {c.weight:g}" for c in CHARACTERISTICS)
    overall = {
        "score": overall_score,
        "method": f"weighted mean of characteristic scores ({weights}); grade {letter} "
        "(A ≥ 0.90, B ≥ 0.80, C ≥ 0.70, D ≥ 0.60, else E; capped by the worst defect rate of "
        f"{', '.join(CAPPED)}: A ≤ 5%, B ≤ 10%, C ≤ 20%, D ≤ 30%, else E)",
    }
    n_docs = len(m.docs)
    indicators = [
        IndicatorEntry.from_indicator(OVERALL, overall_score, "run", n=n_docs + len(m.problems))
    ]
    indicators += [
        _indicator(mid, row, MEASURE_BY_ID[mid].characteristic) for mid, row in m.values.items()
    ]
    if m.topics is None:  # listed as not measurable rather than left out
        row = {"value": None, "stderr": None, "ci_low": None, "ci_high": None, "n": n_docs}
        indicators.append(_indicator("data_topic_entropy", row, "diversity"))
    sections = [
        _grade_section(dims, overall_score, letter),
        *_distribution_sections(m.docs, m.shares, m.labels),
        *_funnel_sections(settings.get("funnel")),
        *_problem_sections(m.problems),
        *_topic_sections(m.topics),
        *_perplexity_sections(m.docs),
    ]
    return {
        "tasks": to_dicts(tasks),
        "dimensions": dims,
        "overall": overall,
        "indicators": to_dicts(indicators),
        "samples": _samples(m.docs),
        "notes": _notes(settings, m),
        "sections": to_dicts(sections),
        "extra": {
            "grade": letter,
            "documents": n_docs,
            "problems": len(m.problems),
            "language_shares": m.shares,
            "topics": _topics_extra(m.topics),
            "profile": options.get("profile", "pretrain"),
        },
    }


def _indicator(mid: str, row: dict[str, Any], scope: str) -> IndicatorEntry:
    """A measure's indicator entry; measures are reported without thresholds or verdicts (the
    grade caps carry the judgement)."""
    return IndicatorEntry.from_metric(
        METRIC_DEFS[mid], row, scope, name=MEASURE_BY_ID[mid].name, verdict=None
    )


def _characteristics(
    values: dict[str, dict[str, Any]],
) -> tuple[list[TaskRow], list[dict[str, Any]]]:
    """One task row and one dimension per characteristic whose score measure was measured."""
    tasks, dims = [], []
    for ch in CHARACTERISTICS:
        metrics = {
            m.id: values[m.id] for m in MEASURES if m.characteristic == ch.id and m.id in values
        }
        if ch.score_from not in metrics:
            continue
        spec = {"id": ch.id, "title": ch.name, "title_zh": ch.name_zh}
        n = max(r["n"] for r in metrics.values())
        tasks.append(
            TaskRow.of(
                spec,
                n,
                ch.score_from,
                metrics,
                type="data.characteristic",
                dimension=ch.id,
                language="multi",
            )
        )
        score = min(1.0, max(0.0, metrics[ch.score_from]["value"]))
        dims.append(
            {
                "id": ch.id,
                "name": ch.name,
                "name_zh": ch.name_zh,
                "score": score,
                "weight": ch.weight,
                "tasks": [ch.id],
            }
        )
    return tasks, dims


def _weighted_score(dims: list[dict[str, Any]]) -> float | None:
    total_w = sum(d["weight"] for d in dims)
    if not total_w:
        return None
    weighted = 0.0
    for d in dims:
        weighted += d["weight"] * d["score"]
    return weighted / total_w


def _notes(settings: dict[str, Any], m: Measures) -> list[str]:
    notes = []
    n, n_docs, topics = m.records, len(m.docs), m.topics
    sample = settings.get("sample")
    if sample and settings.get("population", 0) > n:
        notes.append(
            f"Estimated from a uniform random sample of {n} of {settings['population']} records "
            f"(seed {settings.get('seed')}); CIs are 95% bootstrap intervals. Duplicate rates are "
            "within the sample and understate the corpus rate."
        )
    if topics is None:
        notes.append(
            f"Topic distribution not measurable: it needs at least {MIN_DOCS} documents with content "
            f"words shared by two documents ({n_docs} documents here)."
        )
    elif topics.documents < n_docs and n_docs > MAX_DOCS:
        notes.append(
            f"Topic shares are estimated from a seeded sample of {MAX_DOCS} of {n_docs} documents."
        )
    uncertain = sum(confident_language(d["data"]) is None for d in m.docs)
    if uncertain:
        notes.append(
            f"{uncertain} of {n_docs} documents are left out of the language shares, entropy and "
            f"balance: shorter than {LANG_MIN_CHARS} characters or detected with a confidence "
            f"below {LANG_MIN_CONFIDENCE}."
        )
    return notes


def _samples(docs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in docs[:SAMPLES_IN_REPORT]:
        d = r["data"]
        out.append(
            {
                "task": r["task"],
                "sample_id": r["sample_id"],
                "prompt": d.get("preview", ""),
                "output": "",
                "extracted": None,
                "reference": "",
                "scores": {k: v for k, v in r["scores"].items() if isinstance(v, int | float)},
                "data": {
                    k: d[k] for k in ("lang", "source", "failed_rules", "pii_kinds") if k in d
                },
            }
        )
    return out


def _grade_section(dims: list[dict[str, Any]], score: float | None, letter: str) -> Section:
    rows: list[list[Cell]] = [
        [
            d["id"],
            d["name_zh"],
            d["weight"],
            rnd(d["score"]),
            defect_cap(1.0 - d["score"]) if d["id"] in CAPPED else "–",
        ]
        for d in dims
    ]
    text = (
        f"Overall score {score:.3f}; the grade is the score's letter, capped by the worst defect "
        "rate of the capped characteristics (A ≤ 5%, B ≤ 10%, C ≤ 20%, D ≤ 30%)."
        if score is not None
        else "No documents."
    )
    return Section(
        "grade",
        f"Quality grade {letter}",
        f"质量等级 {letter}",
        text=text,
        table=Table(("characteristic", "特性", "weight", "score", "grade cap"), rows),
    )


def _distribution_sections(
    docs: Sequence[dict[str, Any]], shares: dict[str, float], labels: np.ndarray
) -> list[Section]:
    """Document lengths by language, language shares, heuristic scores, duplicate clusters."""
    bins = [f"{lo}-{hi}" for lo, hi in zip(LENGTH_BINS, LENGTH_BINS[1:], strict=False)]
    bins.append(f"{LENGTH_BINS[-1]}+")
    series = []
    for lang in list(shares)[:5]:
        counts = [0] * len(bins)
        for d in docs:
            if d["data"].get("lang") != lang:
                continue
            idx = int(np.searchsorted(LENGTH_BINS, d["data"]["chars"], side="right")) - 1
            counts[max(0, idx)] += 1
        series.append(BarSeries(lang, counts))
    lengths = BarsChart("documents per length bin", bins, series, unit="docs")
    share_chart = BarsChart.single(
        "share of documents",
        list(shares),
        [round(v, 4) for v in shares.values()],
        "share",
        unit="ratio",
    )
    hs = [
        d["scores"].get("data_heuristic_score")
        for d in docs
        if "data_heuristic_score" in d["scores"]
    ]
    levels = sorted({round(h, 2) for h in hs})
    per_level = [sum(1 for h in hs if round(h, 2) == v) for v in levels]
    reasons = Counter(r for d in docs for r in d["data"].get("failed_rules", {}).values())
    sections = [
        Section(
            "length-histogram",
            "Document length (characters)",
            "文档长度分布（字符）",
            charts=[lengths],
        ),
        Section(
            "language-shares",
            "Language shares (detected)",
            "语言占比（检测）",
            charts=[share_chart],
        ),
        Section(
            "heuristic-distribution",
            "Heuristic score distribution",
            "启发式得分分布",
            table=Table(("failed rule", "documents"), [[k, v] for k, v in reasons.most_common(12)]),
            charts=[
                BarsChart.single(
                    "documents per score",
                    [f"{v:g}" for v in levels],
                    per_level,
                    "documents",
                    unit="docs",
                )
            ],
        ),
    ]
    sizes = Counter(labels.tolist())
    multi = sorted(((c, lab) for lab, c in sizes.items() if c > 1), reverse=True)[:10]
    if multi:
        rows: list[list[Cell]] = [[docs[lab]["data"]["id"], c] for c, lab in multi]
        sections.append(
            Section(
                "duplicate-clusters",
                "Largest near-duplicate clusters",
                "最大的近似重复簇",
                table=Table(("cluster (first document)", "size"), rows),
            )
        )
    return sections


def _funnel_sections(funnel: dict[str, Any] | None) -> list[Section]:
    """The processing pipeline's funnel (its stats.json, stored with the run)."""
    if not funnel:
        return []
    steps = funnel.get("funnel", [])
    reader = funnel["reader"]
    rows: list[list[Cell]] = []
    for s in steps:
        top = sorted(s["removed_by_reason"].items(), key=lambda kv: -kv[1])[:3]
        rows.append(
            [
                s["name"],
                s["docs_in"],
                s["kept"],
                s["removed"],
                s["modified"],
                ", ".join(f"{k} {v}" for k, v in top),
                rnd(s["seconds"], 3),
            ]
        )
    kept = BarsChart.single(
        "documents kept after each operator",
        ["input"] + [s["name"] for s in steps],
        [reader["documents"]] + [s["kept"] for s in steps],
        "kept",
        unit="docs",
    )
    return [
        Section(
            "funnel",
            "Processing funnel",
            "处理漏斗",
            text=f"Read {reader['documents']} documents ({reader['problems']} input problems); "
            f"{funnel.get('documents_out')} written.",
            table=Table(
                ("operator", "in", "kept", "removed", "modified", "top reasons", "seconds"), rows
            ),
            charts=[kept],
        )
    ]


def _problem_sections(problems: list[dict[str, Any]]) -> list[Section]:
    if not problems:
        return []
    kinds = Counter(p["kind"] for p in problems)
    rows: list[list[Cell]] = [[p["file"], p["line"], p["kind"], p["reason"]] for p in problems[:30]]
    return [
        Section(
            "input-problems",
            "Input problems",
            "输入问题",
            text="; ".join(f"{k}: {v}" for k, v in kinds.most_common()),
            table=Table(("file", "line", "kind", "reason"), rows),
        )
    ]


def _topics_extra(t: TopicResult | None) -> dict[str, Any] | None:
    if t is None:
        return None
    return {
        "k": t.k,
        "found": t.found,
        "documents": t.documents,
        "entropy": t.entropy,
        "silhouette": t.silhouette,
        "null_silhouette": t.null_silhouette,
        "shares": t.shares,
        "top_words": t.top_words,
    }


def _topic_sections(t: TopicResult | None) -> list[Section]:
    if t is None:
        return []
    if t.silhouette is None:
        groups = "each language is one topic" if t.found > 1 else "all documents form one topic"
        how = (
            f"No topic structure beyond the languages: the best NMF assignment's silhouette did "
            f"not beat a shuffled corpus's ({t.null_silhouette:.3f}) by the margin, so {groups}."
        )
    else:
        how = (
            f"{t.found} topics kept (silhouette {t.silhouette:.3f} vs {t.null_silhouette:.3f} "
            "on a shuffled corpus)."
        )
    names = [f"T{i + 1}: " + " ".join(w[:3]) for i, w in enumerate(t.top_words)]
    rows: list[list[Cell]] = [
        [f"T{i + 1}", round(share, 4), round(share * t.documents), ", ".join(words)]
        for i, (share, words) in enumerate(zip(t.shares, t.top_words, strict=True))
    ]
    chart = BarsChart.single(
        "share of documents per dominant topic",
        names,
        [round(v, 4) for v in t.shares],
        "share",
        unit="ratio",
    )
    return [
        Section(
            "topics",
            "Topic distribution (NMF over TF-IDF)",
            "主题分布（TF-IDF + NMF）",
            text=f"{t.documents} documents, up to K = {t.k} topics. {how} "
            f"Normalised topic entropy {t.entropy:.3f}.",
            table=Table(("topic", "share", "documents", "top words"), rows),
            charts=[chart],
        )
    ]


def _perplexity_sections(docs: Sequence[dict[str, Any]]) -> list[Section]:
    """Histogram of the `perplexity` annotations a processing pipeline left (if any)."""
    values = [d["data"]["perplexity"] for d in docs if d["data"].get("perplexity") is not None]
    if not values:
        return []
    top = max(1, math.ceil(math.log10(max(values))))
    edges = [10.0**e for e in range(0, top + 1)]  # decades: 1, 10, 100, ...
    counts = [0] * (len(edges) - 1)
    for v in values:
        idx = int(np.searchsorted(edges, v, side="right")) - 1
        counts[min(max(idx, 0), len(counts) - 1)] += 1
    labels = [f"{lo:g}-{hi:g}" for lo, hi in zip(edges, edges[1:], strict=False)]
    med = float(np.median(values))
    chart = BarsChart.single(
        "documents per perplexity decade", labels, counts, "documents", unit="docs"
    )
    return [
        Section(
            "perplexity",
            "Perplexity (perplexity_filter annotations)",
            "困惑度分布（perplexity_filter 标注）",
            text=f"{len(values)} of {len(docs)} documents carry a perplexity; median {med:.4g}.",
            charts=[chart],
        )
    ]
