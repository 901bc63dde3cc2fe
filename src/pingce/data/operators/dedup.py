"""Exact dedup (hash of normalised text) and near dedup (MinHash + LSH, connected components).

Both are global operators: workers summarise their shards (hashes, band keys), the parent
decides over the whole corpus, and the first document of each cluster (in input order) is
kept. Every document of a cluster of two or more is annotated with the cluster id (the id of
the kept document) and the cluster size, so users can audit what was merged.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from pingce.data.document import Document
from pingce.data.minhash import MinHashConfig, MinHasher, candidate_edges, clusters
from pingce.data.operators.base import OPERATORS, GlobalOperator, OpParams
from pingce.data.text import PUNCTUATION

Decision = dict[int, tuple[str | None, dict[str, Any]]]
_PUNCT_RE = re.compile("[" + re.escape("".join(sorted(PUNCTUATION))) + "]")


class ExactParams(OpParams):
    lowercase: bool = True
    collapse_whitespace: bool = True
    strip_punctuation: bool = False
    unicode_nfkc: bool = True


def normalized_hash(text: str, p: ExactParams) -> bytes:
    """16-byte BLAKE2b of the normalised text."""
    if p.unicode_nfkc:
        text = unicodedata.normalize("NFKC", text)
    if p.lowercase:
        text = text.lower()
    if p.strip_punctuation:
        text = _PUNCT_RE.sub("", text)
    if p.collapse_whitespace:
        text = " ".join(text.split())
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def _decide_from_labels(
    labels: np.ndarray, ids: list[str], offsets: list[int], reason: str
) -> list[Decision]:
    n = labels.size
    sizes = np.bincount(labels, minlength=n)
    out: list[Decision] = [{} for _ in offsets]
    shard_of = np.searchsorted(np.asarray(offsets), np.arange(n), side="right") - 1
    for i in np.flatnonzero(sizes[labels] > 1):
        rep = int(labels[i])
        notes = {"dup_cluster": ids[rep], "dup_cluster_size": int(sizes[rep])}
        s = int(shard_of[i])
        out[s][int(i) - offsets[s]] = (None if rep == i else reason, notes)
    return out


def _flatten(summaries: list[dict[str, Any]]) -> tuple[list[str], list[int]]:
    ids: list[str] = []
    offsets: list[int] = []
    for s in summaries:
        offsets.append(len(ids))
        ids.extend(s["ids"])
    return ids, offsets


@OPERATORS.register("exact_dedup")
class ExactDedup(GlobalOperator):
    name: ClassVar[str] = "exact_dedup"
    Params = ExactParams

    def summarize_shard(self, docs: list[Document]) -> dict[str, Any]:
        p: ExactParams = self.params  # type: ignore[assignment]
        return {"ids": [d.id for d in docs], "hashes": [normalized_hash(d.text, p) for d in docs]}

    def decide(self, summaries: list[dict[str, Any]]) -> list[Decision]:
        ids, offsets = _flatten(summaries)
        first: dict[bytes, int] = {}
        labels = np.empty(len(ids), dtype=np.int64)
        i = 0
        for s in summaries:
            for h in s["hashes"]:
                labels[i] = first.setdefault(h, i)
                i += 1
        return _decide_from_labels(labels, ids, offsets, "exact_duplicate")


class MinHashParams(OpParams):
    ngram: int = Field(5, ge=1, description="tokens per shingle")
    permutations: int = Field(112, ge=1, description="MinHash permutations (signature length)")
    bands: int = Field(14, ge=1, description="LSH bands; rows per band = permutations / bands")
    seed: int = 1
    tokenizer: Literal["cjk_chars", "jieba"] = "cjk_chars"
    verify_threshold: float | None = Field(
        None, ge=0, le=1, description="keep an LSH edge only if the estimated Jaccard is this high"
    )

    @model_validator(mode="after")
    def _bands_divide(self) -> MinHashParams:
        if self.permutations % self.bands:
            raise ValueError(
                f"permutations ({self.permutations}) must be a multiple of bands ({self.bands})"
            )
        return self

    def config(self) -> MinHashConfig:
        return MinHashConfig(self.ngram, self.permutations, self.bands, self.seed, self.tokenizer)


@OPERATORS.register("minhash_dedup")
class MinHashDedup(GlobalOperator):
    name: ClassVar[str] = "minhash_dedup"
    Params = MinHashParams

    def __init__(self, params: OpParams, label: str | None = None) -> None:
        super().__init__(params, label)
        self.hasher = MinHasher(params.config())  # type: ignore[attr-defined]

    def summarize_shard(self, docs: list[Document]) -> dict[str, Any]:
        sigs, valid = self.hasher.signatures([d.text for d in docs])
        out = {"ids": [d.id for d in docs], "keys": self.hasher.band_keys(sigs), "valid": valid}
        if self.params.verify_threshold is not None:  # type: ignore[attr-defined]
            out["sigs"] = sigs
        return out

    def decide(self, summaries: list[dict[str, Any]]) -> list[Decision]:
        ids, offsets = _flatten(summaries)
        bands = self.hasher.config.bands
        keys = (
            np.concatenate([s["keys"] for s in summaries])
            if ids
            else np.empty((0, bands), np.uint64)
        )
        valid = np.concatenate([s["valid"] for s in summaries]) if ids else np.empty(0, bool)
        verify = self.params.verify_threshold  # type: ignore[attr-defined]
        sigs = (
            np.concatenate([s["sigs"] for s in summaries]) if verify is not None and ids else None
        )
        src, dst = candidate_edges(keys, valid)
        labels = clusters(len(ids), src, dst, sigs, verify)
        return _decide_from_labels(labels, ids, offsets, "near_duplicate")
