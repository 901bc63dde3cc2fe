"""Roll stored per-record measurements up into measure values (`measure_values`); the report
built from them (characteristics, score, grade, sections) is pingce.data.report
(`summarize_quality`)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pingce.core.report.kit import MetricRow
from pingce.core.stats import estimate
from pingce.data.metrics import METRIC_DEFS
from pingce.data.minhash import candidate_edges, clusters
from pingce.data.quality.indicators import MEASURES
from pingce.data.quality.topics import DEFAULT_TOPICS, TopicResult, topic_distribution

BOOTSTRAP_RESAMPLES = 1000


def _row(value: float, n: int, mid: str, est: Any = None) -> dict[str, Any]:
    """A measure's metric row: with the bootstrap `est`imate's stderr and CI when given."""
    mdef = METRIC_DEFS[mid]
    if est is not None:
        return MetricRow.from_estimate(mdef, est, n=int(n)).to_dict()
    return MetricRow.fixed(mdef, float(value), int(n)).to_dict()


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


@dataclass(frozen=True)
class Measures:
    """The measure values of a run's stored records and what its report shows beside them."""

    values: dict[str, dict[str, Any]]  # measure id -> metric row, in computation order
    docs: list[dict[str, Any]]  # the records of readable documents, in input order
    problems: list[dict[str, Any]]  # input problems (unreadable lines...)
    records: int
    shares: dict[str, float]  # confidently detected language shares
    labels: np.ndarray  # near-duplicate cluster label per document
    topics: TopicResult | None


def measure_values(records: Sequence[dict[str, Any]], options: dict[str, Any]) -> Measures:
    """Every measure's value from the stored records: record-level rates with bootstrap CIs,
    corpus-level measures (consistency, duplicates, diversity, languages, topics) as figures."""
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
    return Measures(values, docs, problems, len(recs), shares, labels, topics)


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
