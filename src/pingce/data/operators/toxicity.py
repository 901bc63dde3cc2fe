"""Sensitive/toxic content through word lists (Aho–Corasick automaton) and a classifier hook.

Word lists are matched with pyahocorasick in one pass over the lower-cased text. Terms made of
Latin letters only match whole words (so "class" does not match "ass"); CJK terms match
anywhere, since Chinese has no word boundaries. A classifier can be plugged in as
`classifier: "package.module:function"`, a callable taking a list of texts and returning one
toxicity probability per text.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from pingce.core.errors import SpecError
from pingce.data.document import Document
from pingce.data.operators.base import OPERATORS, Operator, OpParams, Removed

DEFAULT_LIST = "default"


def load_wordlist(ref: str) -> list[str]:
    """Terms from 'default' (pingce's list) or a UTF-8 file, one per line, '#' comments."""
    if ref == DEFAULT_LIST:
        text = (files("pingce.data") / "wordlists" / "toxic_default.txt").read_text(
            encoding="utf-8"
        )
    else:
        path = Path(ref).expanduser()
        if not path.is_file():
            raise SpecError(f"word list {ref!r} does not exist")
        text = path.read_text(encoding="utf-8")
    return [t.strip().lower() for t in text.splitlines() if t.strip() and not t.startswith("#")]


class WordMatcher:
    """All occurrences of any term, in one Aho–Corasick pass."""

    def __init__(self, terms: Sequence[str]) -> None:
        import ahocorasick

        self.automaton = ahocorasick.Automaton()
        for term in set(terms):
            self.automaton.add_word(term, term)
        self.empty = len(self.automaton) == 0
        if not self.empty:
            self.automaton.make_automaton()

    def matches(self, text: str) -> list[str]:
        if self.empty:
            return []
        low = text.lower()
        found = []
        for end, term in self.automaton.iter(low):
            start = end - len(term) + 1
            if term.isascii():
                before = low[start - 1] if start > 0 else " "
                after = low[end + 1] if end + 1 < len(low) else " "
                if before.isalnum() or after.isalnum():
                    continue
            found.append(term)
        return found


@lru_cache(maxsize=16)
def _matcher(refs: tuple[str, ...], extra: tuple[str, ...]) -> WordMatcher:
    terms: list[str] = list(extra)
    for ref in refs:
        terms.extend(load_wordlist(ref))
    return WordMatcher([t.lower() for t in terms])


def load_classifier(ref: str) -> Callable[[list[str]], Sequence[float]]:
    module, _, attr = ref.partition(":")
    if not attr:
        raise SpecError(f"classifier {ref!r} must look like 'package.module:function'")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise SpecError(f"classifier {ref!r} cannot be loaded ({exc})") from None
    if not callable(fn):
        raise SpecError(f"classifier {ref!r} is not callable")
    return fn  # type: ignore[no-any-return]


class ToxicParams(OpParams):
    wordlists: list[str] = Field(default_factory=lambda: [DEFAULT_LIST])
    words: list[str] = Field(default_factory=list)  # extra terms inline
    max_matches: int = Field(default=0, ge=0)  # remove when matches > max_matches
    classifier: str | None = None  # "module:function", texts -> probabilities
    classifier_threshold: float = Field(default=0.5, ge=0, le=1)
    action: str = Field(default="remove", pattern="^(remove|annotate)$")


@OPERATORS.register("toxic_words")
class ToxicWords(Operator):
    """Annotates `toxic_terms` (count) and `toxic_score`; removes above the limits."""

    name: ClassVar[str] = "toxic_words"
    Params = ToxicParams

    def __init__(self, params: OpParams, label: str | None = None) -> None:
        super().__init__(params, label)
        p: ToxicParams = params  # type: ignore[assignment]
        self.matcher = _matcher(tuple(p.wordlists), tuple(p.words))
        self.classifier = load_classifier(p.classifier) if p.classifier else None

    def run_batch(self, batch: list[Document]) -> tuple[list[Document], Removed, int]:
        p: ToxicParams = self.params  # type: ignore[assignment]
        scores: Sequence[Any] = (
            self.classifier([d.text for d in batch]) if self.classifier else [None] * len(batch)
        )
        kept: list[Document] = []
        removed: Removed = []
        for doc, score in zip(batch, scores, strict=True):
            hits = self.matcher.matches(doc.text)
            if hits:
                doc.meta["toxic_terms"] = len(hits)
            if score is not None:
                doc.meta["toxic_score"] = round(float(score), 4)
            if p.action == "remove" and len(hits) > p.max_matches:
                removed.append((doc, "toxic_words"))
            elif p.action == "remove" and score is not None and score >= p.classifier_threshold:
                removed.append((doc, "toxic_classifier"))
            else:
                kept.append(doc)
        return kept, removed, 0
