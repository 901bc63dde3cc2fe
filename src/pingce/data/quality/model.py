"""Roll stored per-record measurements up into measures, characteristics, score and grade."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from pingce.core.metric import finite_or_none as _finite
from pingce.core.stats import estimate
from pingce.data.minhash import candidate_edges, clusters
from pingce.data.quality.indicators import (
    CAPPED,
    CHARACTERISTICS,
    MEASURE_BY_ID,
    MEASURES,
    defect_cap,
    grade,
)
from pingce.data.quality.topics import (
    DEFAULT_TOPICS,
    MAX_DOCS,
    MIN_DOCS,
    TopicResult,
    topic_distribution,
)

BOOTSTRAP_RESAMPLES = 1000
SAMPLES_IN_REPORT = 50
LENGTH_BINS = (0, 100, 300, 1000, 3000, 10_000)


def _row(value: float, n: int, mid: str, est: Any = None) -> dict[str, Any]:
    m = MEASURE_BY_ID[mid]
    return {
        "value": float(value),
        "stderr": _finite(est.stderr) if est else None,
        "ci_low": _finite(est.ci_low) if est else None,
        "ci_high": _finite(est.ci_high) if est else None,
        "n": int(n),
        "direction": m.direction,
        "unit": m.unit,
        "scale": 0.0 if m.unit == "bits" else 1.0,
    }


def duplicate_flags(docs: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(exact duplicate, near duplicate incl. exact, cluster label) per document in order."""
    n = len(docs)
    exact = np.zeros(n, dtype=bool)
    seen: set[str] = set()
    for i, d in enumerate(docs):
        h = d["data"]["exact"]
        exact[i] = h in seen
        seen.add(h)
    bands = [d["data"].get("bands") for d in docs]
    width = next((len(b) for b in bands if b), 0)
    valid = np.array([bool(b) for b in bands], dtype=bool)
    keys = np.zeros((n, max(width, 1)), dtype=np.uint64)
    for i, b in enumerate(bands):
        if b:
            keys[i] = [int(x, 16) for x in b]
    labels = clusters(n, *candidate_edges(keys, valid)) if n else np.arange(0)
    near = (labels != np.arange(n)) | exact
    return exact, near, labels


# A detection counts towards language shares, entropy and balance only when lingua is
# confident (the `language` operator's default threshold) about a text long enough to judge:
# one 32-character document detected as Italian at confidence 0.40 halved the balance index
# of an English/Chinese corpus.
LANG_MIN_CONFIDENCE = 0.5
LANG_MIN_CHARS = 50


def confident_language(data: dict[str, Any]) -> str | None:
    """The document's detected language, or None when too short or too uncertain to count."""
    lang = data.get("lang") or "und"
    score = data.get("lang_score")
    if lang == "und" or (score is not None and score < LANG_MIN_CONFIDENCE):
        return None
    if data.get("chars", LANG_MIN_CHARS) < LANG_MIN_CHARS:
        return None
    return str(lang)


def language_shares(docs: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Shares of the documents whose language is confidently detected."""
    counts = Counter(lang for d in docs if (lang := confident_language(d["data"])) is not None)
    total = sum(counts.values())
    return {k: v / total for k, v in counts.most_common()} if total else {}


def balance_index(shares: dict[str, float], target: dict[str, float] | None) -> float:
    """1 - TVD to the target shares; without a target, Pielou's evenness (1.0 for one class)."""
    if target:
        tsum = sum(target.values()) or 1.0
        keys = set(shares) | set(target)
        tvd = 0.5 * sum(abs(shares.get(k, 0.0) - target.get(k, 0.0) / tsum) for k in keys)
        return 1.0 - tvd
    k = len(shares)
    if k <= 1:
        return 1.0
    h = -sum(p * math.log(p) for p in shares.values() if p > 0)
    return h / math.log(k)


def summarize_quality(
    records: Sequence[dict[str, Any]], options: dict[str, Any], settings: dict[str, Any]
) -> dict[str, Any]:
    seed = int(options.get("seed", 1234))
    recs = sorted(records, key=lambda r: r["position"])
    docs = [r for r in recs if "id" in r["data"]]
    problems = [r["data"]["problem"] for r in recs if "problem" in r["data"]]
    values: dict[str, dict[str, Any]] = {}
    for m in MEASURES:
        if m.level != "record":
            continue
        items = [r["scores"][m.id] for r in recs if m.id in r["scores"]]
        if items:
            est = estimate(items, None, n_resamples=BOOTSTRAP_RESAMPLES, seed=seed)
            values[m.id] = _row(est.value, est.n, m.id, est)
    n_docs = len(docs)
    if n_docs:
        schemas = Counter(tuple(d["data"]["schema"]) for d in docs)
        values["data_schema_consistency"] = _row(
            schemas.most_common(1)[0][1] / n_docs, n_docs, "data_schema_consistency"
        )
        parts = [values["data_schema_consistency"]["value"]]
        if "data_lang_agreement" in values:
            parts.append(values["data_lang_agreement"]["value"])
        values["data_consistency_ratio"] = _row(
            sum(parts) / len(parts), n_docs, "data_consistency_ratio"
        )
        exact, near, labels = duplicate_flags(docs)
        values["data_exact_dup_rate"] = _row(exact.mean(), n_docs, "data_exact_dup_rate")
        values["data_near_dup_rate"] = _row(near.mean(), n_docs, "data_near_dup_rate")
        values["data_unique_ratio"] = _row(1.0 - near.mean(), n_docs, "data_unique_ratio")
        div = [
            values[k]["value"]
            for k in ("data_lexical_diversity", "data_bigram_entropy")
            if k in values
        ]
        if div:
            values["data_diversity_index"] = _row(
                sum(div) / len(div), n_docs, "data_diversity_index"
            )
        shares = language_shares(docs)
        ent = -sum(p * math.log2(p) for p in shares.values() if p > 0)
        values["data_language_entropy"] = _row(ent, n_docs, "data_language_entropy")
        values["data_balance_index"] = _row(
            balance_index(shares, options.get("target")), n_docs, "data_balance_index"
        )
    else:
        shares, labels = {}, np.arange(0)
    topics = _topics(docs, options, seed)
    if topics is not None:
        values["data_topic_entropy"] = _row(topics.entropy, topics.documents, "data_topic_entropy")
    tasks, dims = [], []
    weighted = total_w = 0.0
    for ch in CHARACTERISTICS:
        metrics = {
            m.id: values[m.id] for m in MEASURES if m.characteristic == ch.id and m.id in values
        }
        if ch.score_from not in metrics:
            continue
        score = min(1.0, max(0.0, metrics[ch.score_from]["value"]))
        tasks.append(
            {
                "id": ch.id,
                "title": ch.name,
                "title_zh": ch.name_zh,
                "type": "data.characteristic",
                "dimension": ch.id,
                "language": "multi",
                "n_samples": max(r["n"] for r in metrics.values()),
                "primary_metric": ch.score_from,
                "metrics": metrics,
            }
        )
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
        weighted += ch.weight * score
        total_w += ch.weight
    overall_score = weighted / total_w if total_w else None
    by_id = {d["id"]: d["score"] for d in dims}
    letter = grade(overall_score, by_id) if overall_score is not None else "–"
    weights = ", ".join(f"{c.id} {c.weight:g}" for c in CHARACTERISTICS)
    overall = {
        "score": overall_score,
        "method": f"weighted mean of characteristic scores ({weights}); grade {letter} "
        "(A ≥ 0.90, B ≥ 0.80, C ≥ 0.70, D ≥ 0.60, else E; capped by the worst defect rate of "
        f"{', '.join(CAPPED)}: A ≤ 5%, B ≤ 10%, C ≤ 20%, D ≤ 30%, else E)",
    }
    indicators = [
        _indicator(mid, row, MEASURE_BY_ID[mid].characteristic) for mid, row in values.items()
    ]
    indicators.insert(0, _overall_indicator(overall_score, n_docs + len(problems)))
    if topics is None:  # listed as not measurable rather than left out
        indicators.append(_not_measured("data_topic_entropy", n_docs))
    notes = _notes(settings, len(recs), topics, n_docs)
    uncertain = sum(confident_language(d["data"]) is None for d in docs)
    if uncertain:
        notes.append(
            f"{uncertain} of {n_docs} documents are left out of the language shares, entropy and "
            f"balance: shorter than {LANG_MIN_CHARS} characters or detected with a confidence "
            f"below {LANG_MIN_CONFIDENCE}."
        )
    return {
        "tasks": tasks,
        "dimensions": dims,
        "overall": overall,
        "indicators": indicators,
        "samples": _samples(docs),
        "notes": notes,
        "sections": _sections(docs, problems, shares, labels, dims, overall_score, letter, settings)
        + _topic_sections(topics)
        + _perplexity_sections(docs),
        "extra": {
            "grade": letter,
            "documents": n_docs,
            "problems": len(problems),
            "language_shares": shares,
            "topics": _topics_extra(topics),
            "profile": options.get("profile", "pretrain"),
        },
    }


def _indicator(mid: str, row: dict[str, Any], scope: str) -> dict[str, Any]:
    m = MEASURE_BY_ID[mid]
    return {
        "id": mid,
        "name": m.name,
        "name_zh": m.name_zh,
        "unit": m.unit,
        "direction": m.direction,
        "definition": m.definition,
        "value": row["value"],
        "stderr": row["stderr"],
        "ci_low": row["ci_low"],
        "ci_high": row["ci_high"],
        "n": row["n"],
        "scope": scope,
        "threshold": None,
        "verdict": None,
    }


def _overall_indicator(score: float | None, n: int) -> dict[str, Any]:
    return {
        "id": "data_quality_score",
        "name": "Data quality score",
        "name_zh": "数据质量综合得分",
        "unit": "0-1",
        "direction": "higher",
        "definition": "Weighted mean of the characteristic scores (weights in the report).",
        "value": score,
        "stderr": None,
        "ci_low": None,
        "ci_high": None,
        "n": n,
        "scope": "run",
        "threshold": None,
        "verdict": None,
    }


def _topics(
    docs: Sequence[dict[str, Any]], options: dict[str, Any], seed: int
) -> TopicResult | None:
    """The topic distribution of the stored documents' content terms (None: not measurable)."""
    try:
        import sklearn  # noqa: F401
    except ImportError:  # pragma: no cover - scikit-learn ships with the data extra
        return None
    k = int(options.get("topics") or DEFAULT_TOPICS)
    return topic_distribution(
        [d["data"].get("terms") for d in docs],
        k=k,
        seed=seed,
        groups=[confident_language(d["data"]) for d in docs],
    )


def _not_measured(mid: str, n: int) -> dict[str, Any]:
    row = {"value": None, "stderr": None, "ci_low": None, "ci_high": None, "n": n}
    return _indicator(mid, row, MEASURE_BY_ID[mid].characteristic)


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


def _topic_sections(t: TopicResult | None) -> list[dict[str, Any]]:
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
    return [
        {
            "id": "topics",
            "title": "Topic distribution (NMF over TF-IDF)",
            "title_zh": "主题分布（TF-IDF + NMF）",
            "text": f"{t.documents} documents, up to K = {t.k} topics. {how} "
            f"Normalised topic entropy {t.entropy:.3f}.",
            "charts": [
                {
                    "kind": "bars",
                    "title": "share of documents per dominant topic",
                    "labels": names,
                    "series": [{"name": "share", "values": [round(v, 4) for v in t.shares]}],
                    "unit": "ratio",
                }
            ],
            "table": {
                "columns": ["topic", "share", "documents", "top words"],
                "rows": [
                    [f"T{i + 1}", round(share, 4), round(share * t.documents), ", ".join(words)]
                    for i, (share, words) in enumerate(zip(t.shares, t.top_words, strict=True))
                ],
            },
        }
    ]


def _perplexity_sections(docs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
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
    return [
        {
            "id": "perplexity",
            "title": "Perplexity (perplexity_filter annotations)",
            "title_zh": "困惑度分布（perplexity_filter 标注）",
            "text": f"{len(values)} of {len(docs)} documents carry a perplexity; median {med:.4g}.",
            "charts": [
                {
                    "kind": "bars",
                    "title": "documents per perplexity decade",
                    "labels": labels,
                    "series": [{"name": "documents", "values": counts}],
                    "unit": "docs",
                }
            ],
        }
    ]


def _notes(
    settings: dict[str, Any], n: int, topics: TopicResult | None = None, n_docs: int = 0
) -> list[str]:
    notes = []
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


def _sections(
    docs: Sequence[dict[str, Any]],
    problems: list[dict[str, Any]],
    shares: dict[str, float],
    labels: np.ndarray,
    dims: list[dict[str, Any]],
    score: float | None,
    letter: str,
    settings: dict[str, Any],
) -> list[dict[str, Any]]:
    sections: list[dict[str, Any]] = [
        {
            "id": "grade",
            "title": f"Quality grade {letter}",
            "title_zh": f"质量等级 {letter}",
            "text": f"Overall score {score:.3f}; the grade is the score's letter, capped by the "
            "worst defect rate of the capped characteristics (A ≤ 5%, B ≤ 10%, C ≤ 20%, "
            "D ≤ 30%)."
            if score is not None
            else "No documents.",
            "table": {
                "columns": ["characteristic", "特性", "weight", "score", "grade cap"],
                "rows": [
                    [
                        d["id"],
                        d["name_zh"],
                        d["weight"],
                        round(d["score"], 4),
                        defect_cap(1.0 - d["score"]) if d["id"] in CAPPED else "–",
                    ]
                    for d in dims
                ],
            },
        }
    ]
    labels_txt = [f"{lo}-{hi}" for lo, hi in zip(LENGTH_BINS, LENGTH_BINS[1:], strict=False)] + [
        f"{LENGTH_BINS[-1]}+"
    ]
    langs = [k for k in shares][:5]
    series = []
    for lang in langs:
        counts = [0] * len(labels_txt)
        for d in docs:
            if d["data"].get("lang") != lang:
                continue
            idx = int(np.searchsorted(LENGTH_BINS, d["data"]["chars"], side="right")) - 1
            counts[max(0, idx)] += 1
        series.append({"name": lang, "values": counts})
    sections.append(
        {
            "id": "length-histogram",
            "title": "Document length (characters)",
            "title_zh": "文档长度分布（字符）",
            "charts": [
                {
                    "kind": "bars",
                    "title": "documents per length bin",
                    "labels": labels_txt,
                    "series": series,
                    "unit": "docs",
                }
            ],
        }
    )
    sections.append(
        {
            "id": "language-shares",
            "title": "Language shares (detected)",
            "title_zh": "语言占比（检测）",
            "charts": [
                {
                    "kind": "bars",
                    "title": "share of documents",
                    "labels": list(shares),
                    "series": [{"name": "share", "values": [round(v, 4) for v in shares.values()]}],
                    "unit": "ratio",
                }
            ],
        }
    )
    hs = [
        d["scores"].get("data_heuristic_score")
        for d in docs
        if "data_heuristic_score" in d["scores"]
    ]
    levels = sorted({round(h, 2) for h in hs})
    reasons = Counter(r for d in docs for r in d["data"].get("failed_rules", {}).values())
    sections.append(
        {
            "id": "heuristic-distribution",
            "title": "Heuristic score distribution",
            "title_zh": "启发式得分分布",
            "charts": [
                {
                    "kind": "bars",
                    "title": "documents per score",
                    "labels": [f"{v:g}" for v in levels],
                    "series": [
                        {
                            "name": "documents",
                            "values": [sum(1 for h in hs if round(h, 2) == v) for v in levels],
                        }
                    ],
                    "unit": "docs",
                }
            ],
            "table": {
                "columns": ["failed rule", "documents"],
                "rows": [[k, v] for k, v in reasons.most_common(12)],
            },
        }
    )
    sizes = Counter(labels.tolist())
    multi = sorted(((c, lab) for lab, c in sizes.items() if c > 1), reverse=True)[:10]
    if multi:
        sections.append(
            {
                "id": "duplicate-clusters",
                "title": "Largest near-duplicate clusters",
                "title_zh": "最大的近似重复簇",
                "table": {
                    "columns": ["cluster (first document)", "size"],
                    "rows": [[docs[lab]["data"]["id"], c] for c, lab in multi],
                },
            }
        )
    funnel = settings.get("funnel")
    if funnel:
        steps = funnel.get("funnel", [])
        sections.append(
            {
                "id": "funnel",
                "title": "Processing funnel",
                "title_zh": "处理漏斗",
                "text": f"Read {funnel['reader']['documents']} documents ({funnel['reader']['problems']} input problems); {funnel.get('documents_out')} written.",
                "charts": [
                    {
                        "kind": "bars",
                        "title": "documents kept after each operator",
                        "labels": ["input"] + [s["name"] for s in steps],
                        "series": [
                            {
                                "name": "kept",
                                "values": [funnel["reader"]["documents"]]
                                + [s["kept"] for s in steps],
                            }
                        ],
                        "unit": "docs",
                    }
                ],
                "table": {
                    "columns": [
                        "operator",
                        "in",
                        "kept",
                        "removed",
                        "modified",
                        "top reasons",
                        "seconds",
                    ],
                    "rows": [
                        [
                            s["name"],
                            s["docs_in"],
                            s["kept"],
                            s["removed"],
                            s["modified"],
                            ", ".join(
                                f"{k} {v}"
                                for k, v in sorted(
                                    s["removed_by_reason"].items(), key=lambda kv: -kv[1]
                                )[:3]
                            ),
                            round(s["seconds"], 3),
                        ]
                        for s in steps
                    ],
                },
            }
        )
    if problems:
        kinds = Counter(p["kind"] for p in problems)
        sections.append(
            {
                "id": "input-problems",
                "title": "Input problems",
                "title_zh": "输入问题",
                "text": "; ".join(f"{k}: {v}" for k, v in kinds.most_common()),
                "table": {
                    "columns": ["file", "line", "kind", "reason"],
                    "rows": [[p["file"], p["line"], p["kind"], p["reason"]] for p in problems[:30]],
                },
            }
        )
    return sections
