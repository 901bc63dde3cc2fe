"""Triple matching: exact normalised set match and WebNLG-style element matching.

Exact matching compares (subject, relation, object) keys: entity strings through
`entity_key` (NFKC, case, spaces, units), relations through the ontology (IRI, local name or
label all name one property).

WebNLG 2020 text-to-triples evaluation scores each *element* (subject, predicate, object) of
the candidate triples against the reference triples under four schemes (SemEval-2013 9.1, as
implemented by nervaluate):

- Strict: exact string match and the same element type (subject/predicate/object);
- Exact: exact string match, any element type (a subject matching the reference object);
- Partial: overlapping tokens, any element type, a partial match counts half;
- Type: overlapping tokens and the same element type.

Two aggregations of those element categories:

- **official** (`webnlg_pairs`, the ``kg_webnlg_*_f1`` indicators), as the WebNLG 2020
  evaluation script computes it: per text the shorter of the candidate and reference lists
  is padded with empty triples, each (candidate, reference) pair is scored on its own (its
  COR/INC/PAR/MIS/SPU and F1 per scheme; a pair with an empty triple has F1 0), candidates
  and references are aligned one-to-one to maximise the sum of the pairs' mean F1 over the
  four schemes, and a scheme's F1 is the **mean of the aligned pairs' F1** over all texts.
  The script enumerates permutations (exponential in the number of triples); the Hungarian
  assignment finds the same maximum.
- **micro** (`element_counts`, the ``kg_webnlg_micro_*_f1`` indicators): candidates aligned
  by the largest total token overlap, element counts summed over all texts into one F1.
  Unaligned candidate triples count three spurious elements, unaligned references three
  missed ones.

Element tokens split camelCase and underscores into words (``hasInput`` -> ``has input``), as
the script does, so related predicates overlap partially; exact element equality uses pingce's
normalised keys (entities through `entity_key`, relations through the ontology).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pingce.kg.model import Triple
from pingce.kg.normalize import element_tokens, entity_key, relation_text_key
from pingce.kg.ontology import Ontology

SCHEMES = ("strict", "exact", "partial", "type")
CATEGORIES = ("cor", "inc", "par", "mis", "spu")


def relation_key(name: str, ontology: Ontology | None) -> str:
    """The ontology property's local name, or a normalised key for unknown relations."""
    if ontology is not None:
        info = ontology.resolve_property(name)
        if info is not None:
            return info.name
    return "?" + relation_text_key(name)


@dataclass(frozen=True)
class KeyedTriple:
    triple: Triple
    key: tuple[str, str, str]
    toks: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def keyed(triples: Sequence[Triple], ontology: Ontology | None) -> list[KeyedTriple]:
    """Triples with their normalised keys, duplicates (same key) removed, order kept."""
    out: list[KeyedTriple] = []
    seen: set[tuple[str, str, str]] = set()
    for t in triples:
        rel = relation_key(t.predicate, ontology)
        key = (entity_key(t.subject), rel, entity_key(t.object, context=t.subject))
        if key in seen:
            continue
        seen.add(key)
        pred_tokens = tuple(element_tokens(rel.lstrip("?"))) or (rel,)
        toks = (tuple(element_tokens(t.subject)), pred_tokens, tuple(element_tokens(t.object)))
        out.append(KeyedTriple(t, key, toks))
    return out


def exact_counts(pred: Sequence[KeyedTriple], gold: Sequence[KeyedTriple]) -> tuple[int, int, int]:
    """(true positives, predicted, gold) of deduplicated key sets."""
    p = {t.key for t in pred}
    g = {t.key for t in gold}
    return len(p & g), len(p), len(g)


def _overlap(a: Sequence[str], b: Sequence[str]) -> float:
    """Token F1 between two token sequences (multiset overlap)."""
    if not a or not b:
        return 0.0
    common = 0
    rest = list(b)
    for tok in a:
        if tok in rest:
            rest.remove(tok)
            common += 1
    return 0.0 if common == 0 else 2 * common / (len(a) + len(b))


def _similarity(c: KeyedTriple, r: KeyedTriple) -> float:
    own = sum(_overlap(c.toks[k], r.toks[k]) for k in range(3))
    swapped = (
        _overlap(c.toks[0], r.toks[2])
        + _overlap(c.toks[1], r.toks[1])
        + _overlap(c.toks[2], r.toks[0])
    )
    exact_bonus = 0.001 * sum(c.key[k] == r.key[k] for k in range(3))
    return max(own, swapped) + exact_bonus


def _classify(
    c_key: str, c_toks: Sequence[str], r_key: str, r_toks: Sequence[str], same_type: bool
) -> dict[str, str] | None:
    """Category per scheme for one aligned element pair; None when the pair does not overlap."""
    if c_key == r_key:
        return {
            "strict": "cor" if same_type else "inc",
            "exact": "cor",
            "partial": "cor",
            "type": "cor" if same_type else "inc",
        }
    if _overlap(c_toks, r_toks) == 0.0:
        return None
    return {
        "strict": "inc",
        "exact": "inc",
        "partial": "par",
        "type": "cor" if same_type else "inc",
    }


def empty_counts() -> dict[str, dict[str, int]]:
    return {s: dict.fromkeys(CATEGORIES, 0) for s in SCHEMES}


def element_counts(
    pred: Sequence[KeyedTriple], gold: Sequence[KeyedTriple]
) -> dict[str, dict[str, int]]:
    """COR/INC/PAR/MIS/SPU element counts per scheme for one text."""
    counts = empty_counts()

    def add(cat: dict[str, str] | None, *, spu: int = 0, mis: int = 0) -> None:
        for s in SCHEMES:
            if cat is None:
                counts[s]["spu"] += spu
                counts[s]["mis"] += mis
            else:
                counts[s][cat[s]] += 1

    matched_c: set[int] = set()
    matched_r: set[int] = set()
    if pred and gold:
        sim = np.array([[_similarity(c, r) for r in gold] for c in pred])
        from scipy.optimize import linear_sum_assignment  # ~0.1 s to import: only when used

        rows, cols = linear_sum_assignment(-sim)
        for i, j in zip(rows, cols, strict=True):
            if sim[i, j] <= 0.01:  # only exact-bonus noise: nothing in common
                continue
            matched_c.add(int(i))
            matched_r.add(int(j))
            for cat in _element_categories(pred[i], gold[j]):
                add(cat, spu=1, mis=1)
    for i in range(len(pred)):
        if i not in matched_c:
            add(None, spu=3)
    for j in range(len(gold)):
        if j not in matched_r:
            add(None, mis=3)
    return counts


def _element_categories(c: KeyedTriple, r: KeyedTriple) -> list[dict[str, str] | None]:
    """Per element (subject, predicate, object) its category per scheme, None: no overlap."""
    own = [_classify(c.key[k], c.toks[k], r.key[k], r.toks[k], True) for k in range(3)]
    if own[0] is None and own[2] is None:
        # WebNLG tries subject<->object when neither matches in place.
        crossed = [
            _classify(c.key[0], c.toks[0], r.key[2], r.toks[2], False),
            _classify(c.key[2], c.toks[2], r.key[0], r.toks[0], False),
        ]
        if crossed[0] is not None or crossed[1] is not None:
            own[0], own[2] = crossed
    return own


def pair_counts(c: KeyedTriple | None, r: KeyedTriple | None) -> dict[str, dict[str, int]]:
    """COR/INC/PAR/MIS/SPU per scheme of one (candidate, reference) pair; None is WebNLG's
    padding triple (three missed elements against a reference, three spurious otherwise)."""
    counts = empty_counts()
    for s in SCHEMES:
        if c is None:
            counts[s]["mis"] = 3 if r is not None else 0
        elif r is None:
            counts[s]["spu"] = 3
    if c is None or r is None:
        return counts
    for cat in _element_categories(c, r):
        for s in SCHEMES:
            if cat is None:  # an element with nothing in common: missed and spurious
                counts[s]["mis"] += 1
                counts[s]["spu"] += 1
            else:
                counts[s][cat[s]] += 1
    return counts


def webnlg_pairs(
    pred: Sequence[KeyedTriple], gold: Sequence[KeyedTriple]
) -> list[dict[str, float]]:
    """The official WebNLG 2020 pairs of one text: F1 per scheme of each aligned, padded
    (candidate, reference) pair (see the module docstring); [] when both lists are empty."""
    n = max(len(pred), len(gold))
    if n == 0:
        return []
    cands: list[KeyedTriple | None] = [*pred, *[None] * (n - len(pred))]
    refs: list[KeyedTriple | None] = [*gold, *[None] * (n - len(gold))]
    f1 = [
        [{s: scheme_prf(pc[s], s)[2] for s in SCHEMES} for pc in (pair_counts(c, r) for r in refs)]
        for c in cands
    ]
    score = np.array([[sum(cell.values()) / len(SCHEMES) for cell in row] for row in f1])
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(-score)
    return [f1[int(i)][int(j)] for i, j in zip(rows, cols, strict=True)]


def scheme_prf(counts: dict[str, int], scheme: str) -> tuple[float, float, float]:
    """Precision, recall, F1 of one scheme's summed counts (nervaluate's formulas)."""
    cor, inc, par, mis, spu = (counts[c] for c in CATEGORIES)
    possible = cor + inc + par + mis
    actual = cor + inc + par + spu
    credit = cor + 0.5 * par if scheme == "partial" else float(cor)
    p = credit / actual if actual else 0.0
    r = credit / possible if possible else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f
