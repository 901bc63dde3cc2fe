"""Vectorised MinHash signatures, LSH banding and connected components.

Text -> tokens (lower-cased words; every Han/Kana character its own token, or jieba words) ->
token hashes (xxh3-64, cached per process) -> n-gram shingle hashes (a polynomial combination
of the n token hashes, 64-bit wrapping arithmetic, vectorised over the document) -> for each of
P permutations h_k(x) = ((a_k * x + b_k) mod 2^64) >> 32 with odd random a_k (multiply-add-shift
hashing) -> the signature is the per-permutation minimum, computed for a whole batch of
documents as one (shingles x P) numpy array reduced with `np.minimum.reduceat`.

Banding: P = bands x rows; each band's `rows` values are folded into one 64-bit key. Documents
sharing any band key are candidate pairs; candidates (optionally verified by the signature
agreement, an unbiased Jaccard estimate) are edges, and connected components are the duplicate
clusters. See docs/design/minhash-dedup.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from pingce.data.text import jieba_words, shingle_tokens

MAX_CHUNK_SHINGLES = 1 << 12  # shingles hashed at once: 4k x P uint64 (3.7 MB, cache-friendly)


@dataclass(frozen=True)
class MinHashConfig:
    """MinHash/LSH parameters. LSH threshold ~ (1/bands)^(1/rows) (0.72 for 14 x 8)."""

    ngram: int = 5
    permutations: int = 112
    bands: int = 14
    seed: int = 1
    tokenizer: Literal["cjk_chars", "jieba"] = "cjk_chars"

    @property
    def rows(self) -> int:
        return self.permutations // self.bands

    def validate(self) -> None:
        if self.ngram < 1:
            raise ValueError("ngram must be at least 1")
        if self.bands < 1 or self.permutations % self.bands:
            raise ValueError(
                f"permutations ({self.permutations}) must be a multiple of bands ({self.bands})"
            )


def _token_hasher() -> object:
    try:
        import xxhash

        fn = xxhash.xxh3_64_intdigest
        return lambda s: fn(s.encode("utf-8"))
    except ImportError:  # pragma: no cover - xxhash is in the data extra
        import hashlib

        return lambda s: int.from_bytes(
            hashlib.blake2b(s.encode(), digest_size=8).digest(), "little"
        )


class MinHasher:
    def __init__(self, config: MinHashConfig) -> None:
        config.validate()
        self.config = config
        rng = np.random.default_rng(config.seed)
        hi = np.iinfo(np.uint64).max
        self.a = rng.integers(
            1, hi, size=config.permutations, dtype=np.uint64, endpoint=True
        ) | np.uint64(1)
        self.b = rng.integers(0, hi, size=config.permutations, dtype=np.uint64, endpoint=True)
        self.gram_mult = rng.integers(1, hi, size=config.ngram, dtype=np.uint64) | np.uint64(1)
        self.band_mult = rng.integers(1, hi, size=config.rows, dtype=np.uint64) | np.uint64(1)
        self._hash = _token_hasher()
        self._cache: dict[str, int] = {}

    def tokens(self, text: str) -> list[str]:
        if self.config.tokenizer == "jieba":
            return [w.lower() for w in jieba_words(text) if any(c.isalnum() for c in w)]
        return shingle_tokens(text)

    def shingles(self, text: str) -> np.ndarray:
        """64-bit hashes of the document's token n-grams (one hash of all tokens if fewer)."""
        toks = self.tokens(text)
        if not toks:
            return np.empty(0, dtype=np.uint64)
        cache = self._cache
        if len(cache) > 2_000_000:  # bound memory on huge vocabularies
            cache.clear()
        hs = list(map(cache.get, toks))  # C-level lookups; most tokens are cached
        if None in hs:
            hasher = self._hash
            for i, h in enumerate(hs):
                if h is None:
                    t = toks[i]
                    hs[i] = cache[t] = hasher(t)  # type: ignore[operator]
        th = np.array(hs, dtype=np.uint64)
        n = min(self.config.ngram, th.size)
        m = th.size - n + 1
        acc = th[:m] * self.gram_mult[0]
        for i in range(1, n):
            acc += th[i : i + m] * self.gram_mult[i]
        return acc

    def signatures(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(signatures [N, P] uint32, has_shingles [N] bool) for a batch of documents."""
        p = self.config.permutations
        sigs = np.full((len(texts), p), np.iinfo(np.uint32).max, dtype=np.uint32)
        valid = np.zeros(len(texts), dtype=bool)
        group: list[np.ndarray] = []
        group_idx: list[int] = []
        size = 0
        with np.errstate(over="ignore"):
            for i, text in enumerate(texts):
                sh = self.shingles(text)
                if sh.size == 0:
                    continue
                valid[i] = True
                if sh.size > MAX_CHUNK_SHINGLES:
                    for start in range(0, sh.size, MAX_CHUNK_SHINGLES):
                        part = self._permute(sh[start : start + MAX_CHUNK_SHINGLES]).min(axis=0)
                        part = (part >> np.uint64(32)).astype(np.uint32)
                        np.minimum(sigs[i], part, out=sigs[i])
                    continue
                group.append(sh)
                group_idx.append(i)
                size += sh.size
                if size >= MAX_CHUNK_SHINGLES:
                    self._flush(group, group_idx, sigs)
                    group, group_idx, size = [], [], 0
            if group:
                self._flush(group, group_idx, sigs)
        return sigs, valid

    def _permute(self, h: np.ndarray) -> np.ndarray:
        """(a*h + b) mod 2^64 for every permutation; the >> 32 is applied after the min,
        which it commutes with (a monotone map), so it runs on [docs, P] instead of [shingles, P]."""
        v = h[:, None] * self.a[None, :]
        v += self.b[None, :]
        return v

    def _flush(self, group: list[np.ndarray], idx: list[int], sigs: np.ndarray) -> None:
        allh = np.concatenate(group)
        starts = np.zeros(len(group), dtype=np.int64)
        np.cumsum([g.size for g in group[:-1]], out=starts[1:])
        mins = np.minimum.reduceat(self._permute(allh), starts, axis=0)
        sigs[idx] = (mins >> np.uint64(32)).astype(np.uint32)

    def band_keys(self, sigs: np.ndarray) -> np.ndarray:
        """[N, bands] uint64: each band's rows folded into one key."""
        c = self.config
        s = sigs.reshape(sigs.shape[0], c.bands, c.rows).astype(np.uint64)
        with np.errstate(over="ignore"):
            keys = (s * self.band_mult[None, None, :]).sum(axis=2, dtype=np.uint64)
            keys ^= np.arange(c.bands, dtype=np.uint64)[None, :] * np.uint64(0x9E3779B97F4A7C15)
        return keys


def candidate_edges(band_keys: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) of documents sharing a band key; documents in one bucket form a chain."""
    idx = np.flatnonzero(valid)
    src: list[np.ndarray] = []
    dst: list[np.ndarray] = []
    for b in range(band_keys.shape[1]):
        keys = band_keys[idx, b]
        order = np.argsort(keys, kind="stable")
        sk = keys[order]
        same = sk[1:] == sk[:-1]
        if same.any():
            src.append(idx[order[:-1][same]])
            dst.append(idx[order[1:][same]])
    if not src:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(src), np.concatenate(dst)


def clusters(
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    sigs: np.ndarray | None = None,
    verify_threshold: float | None = None,
) -> np.ndarray:
    """Component label per document (the smallest document index in its component).

    With `verify_threshold`, an edge is kept only if the two signatures agree on at least that
    fraction of permutations (the MinHash estimate of their Jaccard similarity).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if verify_threshold is not None and sigs is not None and src.size:
        keep = np.zeros(src.size, dtype=bool)
        for start in range(0, src.size, 65536):
            s, d = src[start : start + 65536], dst[start : start + 65536]
            keep[start : start + 65536] = (sigs[s] == sigs[d]).mean(axis=1) >= verify_threshold
        src, dst = src[keep], dst[keep]
    if src.size == 0:
        return np.arange(n)
    graph = coo_matrix((np.ones(src.size, dtype=np.int8), (src, dst)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    # Relabel each component by its smallest member so labels are stable and meaningful.
    first = np.full(labels.max() + 1, n, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(n))
    return first[labels]


def jaccard_estimate(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    return float((sig_a == sig_b).mean())
