"""Keyword checking of generated content over a large library (10k+ entries), through the
evasions a keyword list must see through.

Both the library and the text are normalised the same way before matching: Unicode NFKC
(full-width letters and digits become ASCII), case folding, traditional Chinese characters
to simplified (zhconv, when installed), and every character that is not a letter, digit or
Han character removed — so `炸 弹`, `炸*弹`, `炸彈` and `ＢＯＭＢ` all match their keyword. Each
Chinese keyword also matches its toneless pinyin (pypinyin, when installed), so `zha dan`
written in Latin letters is found; with `homophones=True` the text's Chinese is read as pinyin
too, so a keyword written with other characters of the same sound (谐音) is found. Matching
is one pass of an Aho-Corasick automaton (pyahocorasick), linear in the text length whatever
the library's size.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from pingce.safety.banks import Keyword

MIN_PINYIN_CHARS = 2  # one-character keywords' pinyin matches too much ordinary text


@cache
def _to_simplified() -> object | None:
    try:
        import zhconv
    except ModuleNotFoundError:
        return None
    return zhconv


def _keep(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in ("L", "N")


def normalise(text: str) -> str:
    """NFKC, case-folded, simplified Chinese, letters/digits/Han only (see module doc)."""
    out = unicodedata.normalize("NFKC", text).casefold()
    conv = _to_simplified()
    if conv is not None and any("\u4e00" <= c <= "\u9fff" for c in out):
        out = conv.convert(out, "zh-hans")  # type: ignore[attr-defined]
    return "".join(c for c in out if _keep(c))


def has_han(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


def pinyin(text: str) -> str | None:
    """Toneless pinyin of `text` with the non-Han characters kept, or None without pypinyin."""
    try:
        from pypinyin import Style, lazy_pinyin
    except ModuleNotFoundError:
        return None
    return "".join(lazy_pinyin(text, style=Style.NORMAL, errors=lambda s: list(s)))


@dataclass(frozen=True)
class Hit:
    keyword: str  # the library entry
    risk: str | None
    matched: str  # the normalised form that matched
    via: str  # "text", "variant", "pinyin" or "homophone"


class KeywordMatcher:
    """An Aho-Corasick automaton over a keyword library's normalised forms."""

    def __init__(self, keywords: Sequence[Keyword], *, homophones: bool = False) -> None:
        import ahocorasick

        self.homophones = homophones
        self.size = len(keywords)
        self._plain = ahocorasick.Automaton()
        self._sound = ahocorasick.Automaton()
        plain: dict[str, list[tuple[Keyword, str]]] = {}
        sound: dict[str, list[tuple[Keyword, str]]] = {}
        for kw in keywords:
            forms = [(normalise(kw.keyword), "text")] + [(normalise(v), "variant") for v in kw.variants]  # fmt: skip
            for form, via in forms:
                if form:
                    plain.setdefault(form, []).append((kw, via))
                if form and has_han(form) and len(form) >= MIN_PINYIN_CHARS:
                    py = pinyin(form)
                    if py:
                        plain.setdefault(py, []).append((kw, "pinyin"))
                        sound.setdefault(py, []).append((kw, "homophone"))
        for form, entries in plain.items():
            self._plain.add_word(form, (form, tuple(entries)))
        for form, entries in sound.items():
            self._sound.add_word(form, (form, tuple(entries)))
        self._has_plain = bool(plain)
        self._has_sound = bool(sound)
        if plain:
            self._plain.make_automaton()
        if sound:
            self._sound.make_automaton()

    def find(self, text: str) -> list[Hit]:
        """Every library entry found in `text` (each entry once, by its first way of matching)."""
        norm = normalise(text)
        hits: dict[str, Hit] = {}
        if self._has_plain:
            for _, (form, entries) in self._plain.iter(norm):
                for kw, via in entries:
                    hits.setdefault(kw.keyword, Hit(kw.keyword, kw.risk, form, via))
        if self.homophones and self._has_sound and has_han(norm):
            spoken = pinyin(norm) or ""
            for _, (form, entries) in self._sound.iter(spoken):
                for kw, via in entries:
                    hits.setdefault(kw.keyword, Hit(kw.keyword, kw.risk, form, via))
        return list(hits.values())

    def flags(self, texts: Iterable[str]) -> list[list[Hit]]:
        return [self.find(t) for t in texts]
