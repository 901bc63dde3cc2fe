"""Topic distribution of a corpus: TF-IDF over content words, NMF, dominant topic per document.

Per record the scorer stores the document's most frequent content terms (`doc_terms`: regex
words for English, jieba words for Chinese, stop words, numbers and one-letter/one-character
tokens dropped). `topic_distribution` recomputes the model from those stored terms:

1. TF-IDF (sublinear tf, smoothed idf, L2 rows) over the terms that occur in at least two
   documents (scikit-learn's `DictVectorizer` + `TfidfTransformer`).
2. NMF (`init="nndsvda"`, fixed `random_state`) for every topic count k = 2 .. K, where K is
   the requested number of topics capped at one topic per `DOCS_PER_TOPIC` documents. Each
   document's topic is its largest NMF weight.
3. The topic count kept is the one whose assignment has the highest silhouette (cosine distance
   on the TF-IDF rows). The assignment is kept only if that silhouette beats, by `NULL_MARGIN`,
   the best silhouette the same procedure reaches on `NULL_REPLICATES` shuffled corpora (every
   term occurrence moved to a random document: same lengths and term frequencies, no
   co-occurrence structure; the reference-distribution idea of the gap statistic, Tibshirani et
   al. 2001). Otherwise the corpus has no topic structure a bag-of-words model can tell from
   chance *within a language*, and each document's topic is its detected language (`groups`;
   one topic when monolingual, entropy 0): without this test a single-theme corpus would be
   split into K noise "topics" and look maximally diverse. Languages share (almost) no content
   terms, so they are always separate topics of a bag-of-words model; the silhouette cannot
   show it when the documents of one language share few terms with each other (real
   bilingual documentation: silhouette 0.075 against 0.014 on the shuffled corpus), and the
   old fallback put a bilingual corpus into one topic (entropy 0).
4. Shares per topic, each topic's top words (largest NMF loadings), and the normalised topic
   entropy  H = -Σ_i p_i ln p_i / ln K  (0 = one topic, 1 = all K topics equally common).

Fewer than `MIN_DOCS` documents with terms, or fewer than two usable terms: not measurable.
"""

from __future__ import annotations

import math
import random
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pingce.data.text import CHINESE_STOP_WORDS

DEFAULT_TOPICS = 8
TERMS_PER_DOC = 64  # terms stored per record (the most frequent ones)
MIN_DOCS = 10  # fewer documents with terms: the topic distribution is not measurable
DOCS_PER_TOPIC = 5  # K is capped at n_docs // DOCS_PER_TOPIC
MIN_DOC_FREQ = 2  # terms in fewer documents carry no shared topic signal
# The model is fitted on a seeded sample of at most this many documents: shares from 1,000
# documents have a standard error of at most 1.6 points (sqrt(0.25 / 1000)), and the fit is the
# fixed cost of `data evaluate` that processing does not have. At 3,000 documents evaluation
# cost 22.1 CPU s against processing's 20.5 with a 2,000-document cap, whose fit alone took
# ~3 CPU s (1.4 s at 1,000; 5,000 documents took ~1 min on 2 busy cores).
MAX_DOCS = 1000
NULL_REPLICATES = 2  # shuffled corpora the silhouette is compared with
NULL_MARGIN = 0.1  # topics are kept only when the silhouette beats the null's by this much
SILHOUETTE_SAMPLE = 2000  # documents in the silhouette computation (it is O(n²))
TOP_WORDS = 8
NMF_MAX_ITER = 100
NMF_TOL = 1e-3  # the argmax assignment settles long before the loss does


@lru_cache(maxsize=1)
def _english_stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def doc_terms(tokens: Sequence[str], limit: int = TERMS_PER_DOC) -> dict[str, int]:
    """The `limit` most frequent content terms of a document's lower-cased word tokens.

    Dropped: stop words (scikit-learn's English list, pingce's Chinese list), tokens without a
    letter, one-letter Latin tokens and one-character Han tokens (mostly function words).
    """
    counts = Counter(tok for tok in tokens if _content_term(tok))
    return dict(counts.most_common(limit))


@lru_cache(maxsize=1 << 16)  # tokens repeat across documents: decide each once
def _content_term(tok: str) -> bool:
    if len(tok) < 2 or tok in _english_stop_words() or tok in CHINESE_STOP_WORDS:
        return False
    return any(ch.isalpha() for ch in tok)


@dataclass(frozen=True)
class TopicResult:
    """A fitted topic distribution.

    `k` is the topic budget K (requested, capped by corpus size) used to normalise the entropy;
    `labels` holds each input document's topic (None for documents without terms); `shares`
    and `top_words` are per found topic, largest share first.
    """

    k: int
    found: int
    labels: list[int | None]
    shares: list[float]
    top_words: list[list[str]]
    entropy: float  # normalised to 0-1 by ln k
    silhouette: float | None  # of the kept assignment; None when no k beat the null corpus
    null_silhouette: float  # best silhouette on the shuffled (structure-free) corpus
    documents: int  # documents the model was fitted on


def normalised_entropy(shares: Sequence[float], k: int) -> float | None:
    """-Σ p ln p / ln k over the given shares (p > 0); None when k < 2."""
    if k < 2:
        return None
    h = -sum(p * math.log(p) for p in shares if p > 0)
    return max(0.0, h / math.log(k))  # max: a lone share gives -0.0


def topic_budget(requested: int, n_docs: int) -> int:
    """K: the requested topic count capped at one topic per DOCS_PER_TOPIC documents."""
    return max(0, min(requested, n_docs // DOCS_PER_TOPIC))


def _shuffled(counts: Any, seed: int) -> Any:
    """The null corpus: every term occurrence moved to a random document, keeping each
    document's length and each term's corpus frequency (co-occurrence structure destroyed)."""
    import numpy as np
    import scipy.sparse as sp

    counts = counts.tocsr()
    lengths = np.asarray(counts.sum(axis=1)).ravel().astype(np.int64)
    rows = np.repeat(np.arange(counts.shape[0]), lengths)
    cols = np.repeat(counts.indices, counts.data.astype(np.int64))
    cols = np.random.default_rng(seed).permutation(cols)
    return sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=counts.shape)


def _nndsvda(x: Any, k: int, seed: int) -> tuple[Any, Any]:
    """NNDSVDa initial factors (Boutsidis & Gallopoulos 2008, as scikit-learn's `init="nndsvda"`)
    for k topics, from ONE truncated SVD: the factors for j < k topics are the first j columns.
    scikit-learn recomputes the SVD for every k, which was a third of the topic model's time."""
    import numpy as np
    from sklearn.utils.extmath import randomized_svd

    u, sv, vt = randomized_svd(x, k, random_state=seed)
    w = np.zeros_like(u)
    h = np.zeros_like(vt)
    w[:, 0] = np.sqrt(sv[0]) * np.abs(u[:, 0])
    h[0, :] = np.sqrt(sv[0]) * np.abs(vt[0, :])
    for j in range(1, k):
        a, b = u[:, j], vt[j, :]
        ap, bp = np.maximum(a, 0), np.maximum(b, 0)
        an, bn = np.abs(np.minimum(a, 0)), np.abs(np.minimum(b, 0))
        mp = np.linalg.norm(ap) * np.linalg.norm(bp)
        mn = np.linalg.norm(an) * np.linalg.norm(bn)
        pu, pv, sigma = (ap, bp, mp) if mp > mn else (an, bn, mn)
        nu, nv = np.linalg.norm(pu), np.linalg.norm(pv)
        if nu == 0 or nv == 0:
            continue
        lbd = np.sqrt(sv[j] * sigma)
        w[:, j] = lbd * pu / nu
        h[j, :] = lbd * pv / nv
    w[w < 1e-6] = 0
    h[h < 1e-6] = 0
    avg = float(x.mean())
    w[w == 0] = avg
    h[h == 0] = avg
    return w, h


def _best_assignment(counts: Any, budget: int, seed: int) -> tuple[float, Any, Any] | None:
    """(silhouette, topic per row, NMF topic-term loadings) of the best k in 2..budget.

    Every row of `counts` must have a term (a zero TF-IDF row has no cosine distance)."""
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.metrics import silhouette_score

    x = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
    n = x.shape[0]
    best: tuple[float, Any, Any] | None = None
    sample = min(n, SILHOUETTE_SAMPLE)
    top = min(budget, n - 1)
    if top < 2:
        return None
    w0, h0 = _nndsvda(x, top, seed)
    # The silhouette's cosine distances are the same for every k: compute them once, on one
    # seeded sample of rows (all rows up to SILHOUETTE_SAMPLE).
    import numpy as np
    from sklearn.metrics.pairwise import cosine_distances

    rows = np.arange(n)
    if n > sample:
        rows = np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))
    dist = cosine_distances(x[rows])
    np.fill_diagonal(dist, 0.0)
    for n_topics in range(2, top + 1):
        model = NMF(
            n_components=n_topics,
            init="custom",
            random_state=seed,
            max_iter=NMF_MAX_ITER,
            tol=NMF_TOL,
        )
        with warnings.catch_warnings():
            # Not converging in NMF_MAX_ITER only costs precision the argmax does not need.
            warnings.simplefilter("ignore", ConvergenceWarning)
            w = model.fit_transform(x, W=w0[:, :n_topics].copy(), H=h0[:n_topics].copy())
            assigned = w.argmax(axis=1)
        if len(set(assigned[rows].tolist())) < 2:
            continue
        s = float(silhouette_score(dist, assigned[rows], metric="precomputed"))
        if best is None or s > best[0]:
            best = (s, assigned, model.components_)
    return best


_CACHE: dict[str, TopicResult | None] = {}
_CACHE_SIZE = 4


def topic_distribution(
    terms: Sequence[dict[str, int] | None],
    k: int = DEFAULT_TOPICS,
    seed: int = 0,
    groups: Sequence[str | None] | None = None,
) -> TopicResult | None:
    """Fit the topic model on per-document term counts; None when not measurable.

    `groups` (optional) is each document's language: the topics when no finer structure beats
    the shuffled corpus. The result is cached by content (a report rebuilt from the same
    records does not refit the model).
    """
    import hashlib
    import json

    key = hashlib.blake2b(
        json.dumps([list(terms), k, seed, list(groups or [])], sort_keys=True).encode(),
        digest_size=16,
    ).hexdigest()
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = _fit_single_threaded(terms, k, seed, groups)
    return _CACHE[key]


def _fit_single_threaded(
    terms: Sequence[dict[str, int] | None],
    k: int,
    seed: int,
    groups: Sequence[str | None] | None,
) -> TopicResult | None:
    """`_fit_topics` with BLAS/OpenMP pools limited to one thread (threadpoolctl, a
    scikit-learn dependency). The matrices are small (at most MAX_DOCS rows), so extra threads
    gain nothing, and OpenBLAS threads busy-wait: on a loaded 2-core machine the default pools
    made the fit take 1.7x the CPU and wall time of one thread (20.6 s vs 12.3 s wall, 3,000
    documents, load average 12). The numbers do not depend on it."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with scikit-learn
        return _fit_topics(terms, k, seed, groups)
    with threadpool_limits(limits=1):
        return _fit_topics(terms, k, seed, groups)


def _fit_topics(
    terms: Sequence[dict[str, int] | None],
    k: int,
    seed: int,
    groups: Sequence[str | None] | None,
) -> TopicResult | None:
    import numpy as np
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.feature_extraction.text import TfidfTransformer

    usable = [i for i, t in enumerate(terms) if t]
    if len(usable) > MAX_DOCS:
        usable = sorted(random.Random(seed).sample(usable, MAX_DOCS))
    if len(usable) < MIN_DOCS:
        return None
    vec = DictVectorizer(sort=True)
    counts = vec.fit_transform([terms[i] for i in usable]).tocsc()
    df = np.asarray((counts > 0).sum(axis=0)).ravel()
    cols = np.flatnonzero(df >= MIN_DOC_FREQ)
    vocab = vec.get_feature_names_out()[cols]
    counts = counts[:, cols].tocsr()
    rows = np.flatnonzero(counts.getnnz(axis=1) > 0)  # documents with a shared term
    budget = min(topic_budget(k, len(rows)), len(cols))
    if len(rows) < MIN_DOCS or budget < 2:
        return None
    counts = counts[rows]
    real = _best_assignment(counts, budget, seed)
    nulls = [
        _best_assignment(_shuffled(counts, seed + r), budget, seed) for r in range(NULL_REPLICATES)
    ]
    null = max((b[0] for b in nulls if b is not None), default=0.0)
    if real is not None and real[0] - null >= NULL_MARGIN:
        silhouette: float | None = real[0]
        assigned, components = real[1], real[2]
    else:
        # No structure beyond chance: one topic per language, described by its highest mean
        # TF-IDF terms. Documents of no (confident) language join the largest language.
        silhouette = None
        row_groups = [groups[usable[r]] if groups else None for r in rows.tolist()]
        sizes = Counter(g for g in row_groups if g is not None)
        names = sorted(sizes, key=lambda g: (-sizes[g], g)) or [None]
        index = {g: i for i, g in enumerate(names)}
        assigned = np.array([index.get(g, 0) for g in row_groups], dtype=int)
        x = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
        components = np.vstack(
            [np.asarray(x[assigned == t].mean(axis=0)) for t in range(len(names))]
        )
    counts_by_topic = Counter(assigned.tolist())
    order = sorted(counts_by_topic, key=lambda t: (-counts_by_topic[t], t))
    renumber = {t: i for i, t in enumerate(order)}
    shares = [counts_by_topic[t] / len(rows) for t in order]
    top_words = [
        [str(vocab[j]) for j in np.argsort(-components[t], kind="stable")[:TOP_WORDS]]
        for t in order
    ]
    labels: list[int | None] = [None] * len(terms)
    for r, topic in zip(rows.tolist(), assigned.tolist(), strict=True):
        labels[usable[r]] = renumber[topic]
    entropy = normalised_entropy(shares, budget)
    assert entropy is not None  # budget >= 2 here
    return TopicResult(
        k=budget,
        found=len(order),
        labels=labels,
        shares=shares,
        top_words=top_words,
        entropy=entropy,
        silhouette=silhouette,
        null_silhouette=null,
        documents=len(rows),
    )
