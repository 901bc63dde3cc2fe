"""Vectorised MinHash signatures, LSH banding and connected components.

Text -> tokens (lower-cased words; every Han/Kana character its own token, or jieba words) ->
64-bit token hashes (for the default tokenizer found and hashed with array operations over the
batch's code points, see `_cjk_token_hashes`; jieba words through xxh3-64, cached per process)
-> n-gram shingle hashes (a polynomial combination of the n token hashes, 64-bit wrapping
arithmetic, vectorised over the batch) -> for each of P permutations
h_k(x) = ((a_k * x + b_k) mod 2^64) >> 32 with odd random a_k (multiply-add-shift hashing) ->
the signature is the per-permutation minimum, computed for ~8k shingles at a time as one
(P x shingles) numpy array reduced along its contiguous axis with `np.minimum.reduceat`.

Banding: P = bands x rows; each band's `rows` values are folded into one 64-bit key. Documents
sharing any band key are candidate pairs; candidates (optionally verified by the signature
agreement, an unbiased Jaccard estimate) are edges, and connected components are the duplicate
clusters. See docs/design/minhash-dedup.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from pingce.data.text import HAN, KANA, jieba_words, shingle_tokens

MAX_CHUNK_SHINGLES = 1 << 13  # shingles permuted at once: P x 8k uint64 (7.3 MB, reused)
MAX_BATCH_CHARS = 1 << 18  # characters tokenised at once (a few MB of temporaries)

# splitmix64's finaliser constants (Steele et al. 2014): a bijective 64-bit mixer.
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_TOKEN_SALT = np.uint64(0xD6E8FEB86659FD93)


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


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place on a uint64 array (wrapping arithmetic)."""
    x ^= x >> np.uint64(30)
    x *= _MIX1
    x ^= x >> np.uint64(27)
    x *= _MIX2
    x ^= x >> np.uint64(31)
    return x


@lru_cache(maxsize=1)
def _char_classes() -> np.ndarray:
    """Class of every code point as `shingle_tokens` sees it: 0 separator, 1 part of a word
    (a run of regex word characters), 2 a token on its own (a Han or Kana character)."""
    table = np.zeros(0x110000, dtype=np.uint8)
    every = "".join(map(chr, range(0x110000)))
    for m in re.finditer(r"\w+", every):  # exactly the `re` module's Unicode \w
        table[m.start() : m.end()] = 1
    for m in re.finditer(f"[{HAN}{KANA}]+", every):
        table[m.start() : m.end()] = 2
    return table


def _cjk_token_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(64-bit token hashes [T], document index of each token [T]) for `shingle_tokens`.

    The same tokens as `shingle_tokens` (lower-cased runs of word characters, every Han/Kana
    character alone), found and hashed with array operations over the batch's code points
    instead of a regex and a hash call per token. A token's hash is the mixed sum of
    mix(code point + position-in-token x golden ratio) over its characters, so it depends
    on the token's characters and their order only.
    """
    lowered = [t.lower() for t in texts]
    offsets = np.zeros(len(lowered) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in lowered], out=offsets[1:])
    cp = np.frombuffer("".join(lowered).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if cp.size == 0:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    cls = _char_classes()[cp]
    word = cls == 1
    start = cls == 2
    start[0] |= word[0]
    start[1:] |= word[1:] & ~word[:-1]
    doc_starts = offsets[:-1][offsets[:-1] < cp.size]
    start[doc_starts] = cls[doc_starts] > 0  # a token never spans two documents
    in_tok = cls > 0
    tok_pos = np.flatnonzero(start)
    if tok_pos.size == 0:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    pos = np.flatnonzero(in_tok)
    first = np.flatnonzero(start[in_tok])  # each token's first character among `pos`
    tok_of_char = np.cumsum(start[in_tok]) - 1
    rel = (pos - tok_pos[tok_of_char]).astype(np.uint64) + np.uint64(1)
    with np.errstate(over="ignore"):
        vals = _mix(cp[in_tok].astype(np.uint64) + rel * _GOLDEN)
        th = _mix(np.add.reduceat(vals, first) ^ _TOKEN_SALT)
    tok_doc = np.searchsorted(offsets, tok_pos, side="right") - 1
    return th, tok_doc


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
        self._buf: np.ndarray | None = None  # (P x MAX_CHUNK_SHINGLES) scratch, made on use

    def __getstate__(self) -> dict[str, object]:
        # Operators are shipped to workers: leave the scratch buffer behind.
        return {**self.__dict__, "_buf": None}

    def tokens(self, text: str) -> list[str]:
        if self.config.tokenizer == "jieba":
            return [w.lower() for w in jieba_words(text) if any(c.isalnum() for c in w)]
        return shingle_tokens(text)

    def _token_hashes(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(token hashes [T] uint64, document index of each token [T]) for a batch."""
        if self.config.tokenizer == "cjk_chars":
            return _cjk_token_hashes(texts)
        # jieba: segmentation is per document in Python anyway; hash each distinct word once.
        cache = self._cache
        if len(cache) > 2_000_000:  # bound memory on huge vocabularies
            cache.clear()
        hashes: list[int] = []
        counts: list[int] = []
        for text in texts:
            toks = self.tokens(text)
            hs = list(map(cache.get, toks))  # C-level lookups; most tokens are cached
            if None in hs:
                for i, h in enumerate(hs):
                    if h is None:
                        hs[i] = cache[toks[i]] = self._hash(toks[i])  # type: ignore[operator]
            hashes.extend(hs)  # type: ignore[arg-type]
            counts.append(len(toks))
        th = np.array(hashes, dtype=np.uint64)
        return th, np.repeat(np.arange(len(texts), dtype=np.int64), counts)

    def _batch_shingles(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(shingle hashes [S] uint64, document index of each [S], non-decreasing).

        A shingle's hash is sum_i token_hash[j + i] * gram_mult[i] (64-bit wrapping) over n
        consecutive tokens of one document; a document with fewer than n tokens gets one
        shingle of all its tokens, an empty one none.
        """
        th, tok_doc = self._token_hashes(texts)
        n = self.config.ngram
        t = th.size
        m = max(0, t - n + 1)
        with np.errstate(over="ignore"):
            acc = th[:m] * self.gram_mult[0]
            for i in range(1, n):
                acc += th[i : i + m] * self.gram_mult[i]
        same_doc = tok_doc[:m] == tok_doc[n - 1 : n - 1 + m]
        sh, sh_doc = acc[same_doc], tok_doc[:m][same_doc]
        counts = np.bincount(tok_doc, minlength=len(texts))
        short = np.flatnonzero((counts > 0) & (counts < n))
        if short.size:  # rare: documents shorter than one shingle
            first = np.searchsorted(tok_doc, short)
            extra = np.zeros(short.size, dtype=np.uint64)
            with np.errstate(over="ignore"):
                for k, (s, c) in enumerate(
                    zip(first.tolist(), counts[short].tolist(), strict=True)
                ):
                    extra[k] = (th[s : s + c] * self.gram_mult[:c]).sum(dtype=np.uint64)
            sh = np.concatenate([sh, extra])
            sh_doc = np.concatenate([sh_doc, short])
            order = np.argsort(sh_doc, kind="stable")
            sh, sh_doc = sh[order], sh_doc[order]
        return sh, sh_doc

    def shingles(self, text: str) -> np.ndarray:
        """64-bit hashes of the document's token n-grams (one hash of all tokens if fewer)."""
        return self._batch_shingles([text])[0]

    def signatures(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(signatures [N, P] uint32, has_shingles [N] bool) for a batch of documents."""
        p = self.config.permutations
        mins = np.full((len(texts), p), np.iinfo(np.uint64).max, dtype=np.uint64)
        valid = np.zeros(len(texts), dtype=bool)
        lo = 0
        while lo < len(texts):
            # Tokenise a few hundred kB of text at a time: bounded temporaries.
            hi, chars = lo, 0
            while hi < len(texts) and (hi == lo or chars + len(texts[hi]) <= MAX_BATCH_CHARS):
                chars += len(texts[hi])
                hi += 1
            sh, sh_doc = self._batch_shingles(texts[lo:hi])
            sh_doc += lo
            valid[sh_doc] = True
            for s in range(0, sh.size, MAX_CHUNK_SHINGLES):
                self._min_into(
                    mins, sh[s : s + MAX_CHUNK_SHINGLES], sh_doc[s : s + MAX_CHUNK_SHINGLES]
                )
            lo = hi
        return (mins >> np.uint64(32)).astype(np.uint32), valid

    def _min_into(self, mins: np.ndarray, sh: np.ndarray, doc: np.ndarray) -> None:
        """mins[d] = min(mins[d], min over d's shingles of (a*h + b) mod 2^64), per permutation.

        The (P x shingles) layout makes the per-document minimum a `reduceat` along the
        contiguous axis (about 3x faster than over rows of a (shingles x P) array), and the
        buffer is reused. The >> 32 is applied once at the end: it commutes with the minimum.
        """
        if self._buf is None:
            self._buf = np.empty((self.config.permutations, MAX_CHUNK_SHINGLES), np.uint64)
        v = self._buf[:, : sh.size]
        with np.errstate(over="ignore"):
            np.multiply(self.a[:, None], sh[None, :], out=v)
            v += self.b[:, None]
        bounds = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]])
        rows = doc[bounds]
        part = np.minimum.reduceat(v, bounds, axis=1)
        mins[rows] = np.minimum(mins[rows], part.T)

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
