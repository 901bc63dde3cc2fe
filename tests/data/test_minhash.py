"""MinHash: Jaccard estimates against exact set Jaccard, and dedup precision/recall on the
generated corpus's ground truth."""

from __future__ import annotations

import numpy as np

from pingce.data.generator import CorpusConfig, dedup_scores, generate
from pingce.data.minhash import MinHashConfig, MinHasher, candidate_edges, clusters


def test_signature_agreement_estimates_jaccard() -> None:
    h = MinHasher(MinHashConfig(ngram=3, permutations=256, bands=16))
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(400)]
    errors = []
    for _ in range(30):
        a = list(rng.choice(words, 200))
        b = list(a)
        for i in rng.choice(200, int(rng.integers(0, 80)), replace=False):
            b[i] = f"x{rng.integers(1_000_000)}"
        sa, sb = set(h.shingles(" ".join(a)).tolist()), set(h.shingles(" ".join(b)).tolist())
        exact = len(sa & sb) / len(sa | sb)
        sigs, _ = h.signatures([" ".join(a), " ".join(b)])
        errors.append(abs((sigs[0] == sigs[1]).mean() - exact))
    # Standard error of a 256-permutation estimate is <= 0.5/sqrt(256) = 0.031.
    assert np.mean(errors) < 0.03 and max(errors) < 0.12


def test_chinese_is_shingled_by_characters() -> None:
    h = MinHasher(MinHashConfig())
    assert h.tokens("今天天气 good Day") == ["今", "天", "天", "气", "good", "day"]


def test_dedup_precision_recall_on_generated_corpus() -> None:
    recs = generate(CorpusConfig(docs=1500, seed=11, low_quality_rate=0, pii_rate=0, toxic_rate=0))
    h = MinHasher(MinHashConfig())
    sigs, valid = h.signatures([r["text"] for r in recs])
    labels = clusters(len(recs), *candidate_edges(h.band_keys(sigs), valid))
    removed = {recs[i]["id"] for i in range(len(recs)) if labels[i] != i}
    s = dedup_scores(recs, removed)
    assert s["precision"] >= 0.99 and s["recall"] >= 0.97, s
    assert s["recall_exact_dup"] == 1.0
    assert s["recall_zh"] >= 0.95 and s["recall_en"] >= 0.95, s


def test_components_join_chains() -> None:
    labels = clusters(5, np.array([0, 3]), np.array([1, 4]))
    assert labels.tolist() == [0, 0, 2, 3, 3]
