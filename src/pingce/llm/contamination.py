"""Contamination signals: n-gram overlap with a reference corpus, and min-k% token probability.

N-gram overlap (as in the GPT-3 and Llama 2 contamination studies): text is NFKC-normalised,
lower-cased and split into words (each CJK character is a word; punctuation is dropped). An
item's n-grams (13 by default; the whole item when shorter) are kept in a set of 64-bit
hashes; the corpus is streamed — in 256 KiB chunks for plain text, line by line for JSON Lines,
gzip either way — and each of its n-grams is looked up in that set. Memory is bounded by the
benchmark's n-grams plus one chunk, whatever the corpus size. An item's overlap is the share
of its n-grams found in the corpus.

Min-k% probability (Shi et al. 2023, "Detecting Pretraining Data from Large Language
Models"): the mean log-probability of the k% least likely tokens of the text under the model;
text seen in training has fewer very unlikely tokens, so a higher value is a signal.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from pingce.core.errors import DataError, ModelError

CHUNK_CHARS = 1 << 18  # 256 KiB of text per step: memory stays at a few MB
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_]+", re.UNICODE)


def words(text: str) -> list[str]:
    """Normalised words: NFKC, lower case, punctuation dropped, each CJK character alone."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).lower())


def _h(gram: Sequence[str]) -> int:
    digest = hashlib.blake2b("\x1f".join(gram).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


class NgramIndex:
    """The benchmark side: every item's n-gram hashes, and the words n-grams start with."""

    def __init__(self, texts: Sequence[str], n: int = 13) -> None:
        self.n = n
        self.items: list[set[int]] = []
        self.starts: set[str] = set()
        self.lengths: set[int] = set()
        for text in texts:
            toks = words(text)
            length = min(n, len(toks))
            grams = [toks[i : i + length] for i in range(len(toks) - length + 1)] if toks else []
            self.items.append({_h(g) for g in grams})
            self.starts.update(g[0] for g in grams)
            if grams:
                self.lengths.add(length)
        self.wanted: set[int] = set().union(*self.items) if self.items else set()

    def overlap(self, found: set[int]) -> list[float]:
        """Per item, the share of its n-grams found (0 for an item without words)."""
        return [len(g & found) / len(g) if g else 0.0 for g in self.items]

    def _lookup(self, toks: list[str], found: set[int]) -> None:
        starts = self.starts
        for i, tok in enumerate(toks):
            if tok not in starts:  # most corpus positions: no hashing at all
                continue
            for length in self.lengths:
                if i + length <= len(toks):
                    h = _h(toks[i : i + length])
                    if h in self.wanted:
                        found.add(h)

    def scan(self, paths: Iterable[Path], field: str = "text") -> set[int]:
        """The benchmark n-gram hashes that occur in the corpus files (streamed)."""
        found: set[int] = set()
        keep = max(self.lengths, default=1) - 1
        for path in paths:
            carry: list[str] = []
            tail = ""
            for piece in _documents(path, field):
                if piece is _BOUNDARY:
                    self._lookup(carry + words(tail), found)
                    carry, tail = [], ""
                    continue
                text = tail + piece
                # The chunk's last word may continue in the next chunk: hold it back.
                cut = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t")) + 1
                if cut == 0 and len(text) < 4 * CHUNK_CHARS:
                    tail = text
                    continue
                body, tail = (text[:cut], text[cut:]) if cut else (text, "")
                toks = carry + words(body)
                self._lookup(toks, found)
                carry = toks[-keep:] if keep else []
            self._lookup(carry + words(tail), found)
        return found


_BOUNDARY = "\x00<doc>\x00"


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


def _documents(path: Path, field: str) -> Iterator[str]:
    """The corpus as a stream of text pieces (chunks of plain text, or JSONL `field` values)."""
    jsonl = ".jsonl" in path.suffixes
    with _open_text(path) as fh:
        if jsonl:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line).get(field)
                except (json.JSONDecodeError, AttributeError):
                    raise DataError(f"{path}:{n}: expected a JSON object with {field!r}") from None
                if isinstance(value, str):
                    yield value
                    yield _BOUNDARY  # n-grams never span two documents
        else:
            while chunk := fh.read(CHUNK_CHARS):
                yield chunk


def corpus_fingerprint(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Cheap identity of corpus files: size, mtime and SHA-256 of the first and last MiB."""
    out = []
    for path in paths:
        if not path.is_file():
            raise DataError(f"corpus file {path} does not exist")
        st = path.stat()
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            digest.update(fh.read(1 << 20))
            if st.st_size > 2 << 20:
                fh.seek(-(1 << 20), os.SEEK_END)
                digest.update(fh.read(1 << 20))
        out.append(
            {
                "path": str(path),
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "edges_sha256": digest.hexdigest(),
            }
        )
    return out


# ---- min-k% probability -----------------------------------------------------------------
def min_k_percent(token_logprobs: Sequence[float], k: float) -> float:
    """Mean of the ceil(k% of n) lowest token log-probabilities (k in percent, 0 < k <= 100)."""
    if not token_logprobs:
        return math.nan
    count = max(1, math.ceil(len(token_logprobs) * k / 100.0))
    return sum(sorted(token_logprobs)[:count]) / count


def token_logprobs(lm: Any, texts: Sequence[str]) -> list[list[float]]:
    """log p(token_i | tokens_<i) for every token of each text (the first from the prefix token).

    Uses the backend's `token_logprobs` when it has one; otherwise, for backends exposing
    `tok_encode` and `loglikelihood_tokens` (the HF backend), one scored continuation token per
    position.
    """
    if hasattr(lm, "token_logprobs"):
        return [list(x) for x in lm.token_logprobs(list(texts))]
    if not (hasattr(lm, "tok_encode") and hasattr(lm, "loglikelihood_tokens")):
        raise ModelError(
            "min-k% probability needs token log-probabilities, which this backend does not give",
            hint="use an hf: model, or drop min_k_percent from the contamination task",
        )
    prefix = getattr(lm, "prefix_token_id", None)
    requests: list[tuple[list[int], list[int]]] = []
    owners: list[int] = []
    for t, text in enumerate(texts):
        toks = list(lm.tok_encode(text))
        start = [prefix] if prefix is not None else []
        for i, tok in enumerate(toks):
            ctx = start + toks[:i]
            if not ctx:  # no prefix token: the first token has no context to be scored in
                continue
            requests.append((ctx, [tok]))
            owners.append(t)
    out: list[list[float]] = [[] for _ in texts]
    for owner, res in zip(owners, lm.loglikelihood_tokens(requests), strict=True):
        out[owner].append(float(res.logprob))
    return out
