"""Scoring one text's extracted triples against its gold annotation.

Each gold text yields one record. Its scores are the *counts* corpus metrics need (true
positives, predicted, gold; or WebNLG element categories), so the micro-averaged P/R/F1 and
their bootstrap CIs (resampling texts) come from stored records alone; the Text2KGBench
rates are per text and averaged over the texts the system answered.

Pooled triples (no text id, e.g. a plain Turtle file) are attributed to a gold text first
by an exact key match with one of its triples, then by grounding (subject and object both
occur in its text); the rest go to one extra record, ``(unattributed)``, with no gold
triples, so they count against precision and as hallucinated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pingce.kg.conformance import check_triple, grounding_key, mention_types
from pingce.kg.matching import (
    CATEGORIES,
    SCHEMES,
    element_counts,
    exact_counts,
    keyed,
    relation_key,
    scheme_prf,
    webnlg_pairs,
)
from pingce.kg.model import Item, Triple
from pingce.kg.normalize import entity_key
from pingce.kg.ontology import Ontology
from pingce.kg.spans import (
    entity_counts,
    predicted_mentions,
    predicted_relations,
    relation_counts,
)

UNATTRIBUTED = "(unattributed)"


def attribute_pooled(
    pooled: Sequence[Triple], gold: Sequence[Item], ontology: Ontology
) -> dict[str, list[Triple]]:
    """Pooled triples assigned to gold text ids (or UNATTRIBUTED)."""
    by_key: dict[tuple[str, str, str], str] = {}
    for g in gold:
        for kt in keyed(g.triples, ontology):
            by_key.setdefault(kt.key, g.id)
    texts = [(g.id, entity_key(g.text)) for g in gold]
    out: dict[str, list[Triple]] = {}
    for t in pooled:
        key = keyed([t], ontology)[0].key
        sid = by_key.get(key)
        if sid is None:
            s, o = entity_key(t.subject), entity_key(t.object)
            sid = next((i for i, txt in texts if s and o and s in txt and o in txt), UNATTRIBUTED)
        out.setdefault(sid, []).append(t)
    return out


def score_item(
    gold: Item, pred: Item | None, ontology: Ontology
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Scores (counts) and per-record data for one gold text; `pred` None = not answered."""
    answered = pred is not None
    pred = pred or Item(id=gold.id)
    pred_view = Item(
        id=gold.id,
        text=gold.text,
        triples=pred.triples,
        entities=pred.entities,
        relations=pred.relations,
    )
    pk, gk = keyed(pred.triples, ontology), keyed(gold.triples, ontology)
    tp, n_pred, n_gold = exact_counts(pk, gk)
    elements = element_counts(pk, gk)
    pairs = webnlg_pairs(pk, gk)
    scores: dict[str, Any] = {
        "kg_triple_precision": [tp, n_pred, n_gold],
        "kg_triple_recall": [tp, n_pred, n_gold],
        "kg_triple_f1": [tp, n_pred, n_gold],
    }
    for s in SCHEMES:
        # Official WebNLG 2020: [sum of aligned pairs' F1, pairs]; micro: element counts.
        scores[f"kg_webnlg_{s}_f1"] = [sum(p[s] for p in pairs), len(pairs)]
        scores[f"kg_webnlg_micro_{s}_f1"] = [elements[s][c] for c in CATEGORIES]

    # per-relation breakdown (exact matching)
    per_rel: dict[str, list[int]] = {}
    g_keys = {t.key for t in gk}
    p_keys = {t.key for t in pk}
    for key in p_keys | g_keys:
        row = per_rel.setdefault(key[1], [0, 0, 0])
        row[0] += key in p_keys and key in g_keys
        row[1] += key in p_keys
        row[2] += key in g_keys

    # entities and relations on spans
    p_mentions = predicted_mentions(pred_view, ontology)
    typed = bool(p_mentions)
    ent = entity_counts(p_mentions, gold.entities) if typed else {}
    if typed:
        tot = [sum(v[i] for v in ent.values()) for i in range(3)]
        scores["kg_entity_f1"] = tot
    p_rels = predicted_relations(pred_view, gold.text, ontology, p_mentions)
    g_rels = [type(r)(r.head, relation_key(r.type, ontology), r.tail) for r in gold.relations]
    # Relation mentions are scored against gold spans; a triples-only gold text (no entity or
    # relation spans) has none to score against, so the indicator is not applicable there
    # (it read 0.0 before; the summary says why it is absent).
    has_spans = bool(gold.entities or gold.relations)
    if has_spans:
        scores["kg_relation_f1"] = list(relation_counts(p_rels, g_rels, strict=False))
    if has_spans and (typed or any(r.head.type and r.tail.type for r in p_rels)):
        scores["kg_relation_strict_f1"] = list(relation_counts(p_rels, g_rels, strict=True))

    # conformance and hallucination (Text2KGBench, per text)
    checks = []
    if answered:
        haystack = grounding_key(gold.text, ontology)
        types = mention_types(pred.entities)
        checks = [check_triple(t, haystack, ontology, types) for t in pred.triples]
        n = len(checks)
        # Zero triples: the rates are not applicable (no record value), never 100% conformant
        # and 0% hallucinated; the summary counts such texts and says so.
        if n:
            scores["kg_ontology_conformance"] = sum(c.typed_conformant for c in checks) / n
            scores["kg_relation_hallucination"] = 1 - sum(c.relation_known for c in checks) / n
            scores["kg_subject_hallucination"] = sum(c.subject_hallucinated for c in checks) / n
            scores["kg_object_hallucination"] = sum(c.object_hallucinated for c in checks) / n
    matched = sorted(p_keys & g_keys)
    data = {
        "text": gold.text,
        "lang": gold.lang,
        "answered": answered,
        "pred_triples": [t.to_list() for t in pred.triples],
        "gold_triples": [t.to_list() for t in gold.triples],
        "missed": [list(k) for k in sorted(g_keys - p_keys)],
        "spurious": [list(k) for k in sorted(p_keys - g_keys)],
        "n_matched": len(matched),
        "per_relation": per_rel,
        "per_entity_type": ent,
        "nonconforming": [
            {"triple": t.to_list(), "reason": c.reason}
            for t, c in zip(pred.triples, checks, strict=True)
            if not c.typed_conformant
        ],
        "types_checked": sum(c.types_checked for c in checks),
        "gold_spans": has_spans,
    }
    return scores, data


# ---- statistics over stored per-record values (used by the metric definitions) ----------
def _prf(items: Sequence[Sequence[int]]) -> tuple[float, float, float]:
    tp = sum(i[0] for i in items)
    n_pred = sum(i[1] for i in items)
    n_gold = sum(i[2] for i in items)
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def micro_precision(items: Sequence[Sequence[int]]) -> float:
    return _prf(items)[0]


def micro_recall(items: Sequence[Sequence[int]]) -> float:
    return _prf(items)[1]


def micro_f1(items: Sequence[Sequence[int]]) -> float:
    return _prf(items)[2]


def prf(items: Sequence[Sequence[int]]) -> tuple[float, float, float]:
    """Micro precision, recall and F1 of [tp, predicted, gold] rows."""
    return _prf(items)


def _micro_scheme_f1(scheme: str) -> Any:
    def statistic(items: Sequence[Sequence[int]]) -> float:
        total = {c: sum(i[k] for i in items) for k, c in enumerate(CATEGORIES)}
        return scheme_prf(total, scheme)[2]

    statistic.__name__ = f"webnlg_micro_{scheme}_f1"
    return statistic


def webnlg_mean_f1(items: Sequence[Sequence[float]]) -> float:
    """Official WebNLG 2020 F1: mean over all aligned pairs of the per-pair F1, from per-text
    [sum of pair F1, pairs] rows (NaN without pairs)."""
    if any(len(i) != 2 for i in items):  # records stored before issue 24 hold micro counts
        return float("nan")
    n = sum(i[1] for i in items)
    return sum(i[0] for i in items) / n if n else float("nan")


SCHEME_F1 = dict.fromkeys(SCHEMES, webnlg_mean_f1)
MICRO_SCHEME_F1 = {s: _micro_scheme_f1(s) for s in SCHEMES}
