"""Script detection and word/character tokenisation shared by filters, dedup and evaluation.

English-style rules count whitespace/regex words; Chinese has no spaces, so the Chinese-aware
variants count jieba words (for word statistics) or Han characters (for lengths). A document is
treated as Chinese when Han characters are at least `CJK_DOC_FRACTION` of its letters.
"""

from __future__ import annotations

import re
import string
import unicodedata
from functools import lru_cache

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
KANA = "\u3040-\u30ff"
HAN_RE = re.compile(f"[{HAN}]")
# One token per Han/Kana character, one per run of other word characters.
CJK_CHAR_OR_WORD_RE = re.compile(f"[{HAN}{KANA}]|[^\\W{HAN}{KANA}]+")
WORD_OR_PUNCT_RE = re.compile(r"\w+|[^\w\s]+")
LETTER_RE = re.compile(r"[^\W\d_]")
CJK_DOC_FRACTION = 0.3

PUNCTUATION = set(string.punctuation) | set(
    "。，、；：？！…—·“”‘’（）《》〈〉「」『』【】〔〕～￥％"
)
# Sentence-final marks of English and Chinese prose (closing quotes/brackets may follow).
TERMINAL_PUNCTUATION = (
    ".",
    "!",
    "?",
    '"',
    "'",
    "。",
    "！",
    "？",
    "…",
    "”",
    "’",
    "」",
    "』",
    "）",
    ")",
)
ELLIPSES = ("...", "…")
BULLETS = ("•", "●", "○", "■", "□", "▪", "▫", "–", "-", "*", "·", "‣", "⁃", "◦")

# Gopher's stop words (Rae et al. 2021, appendix A): a document needs at least two of them.
GOPHER_STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
# The Chinese counterpart: the most frequent function words of modern written Chinese.
CHINESE_STOP_WORDS = frozenset(
    {
        "的", "了", "是", "在", "和", "有", "我", "也", "就", "不", "人", "都", "这", "一个",
        "上", "中", "他", "我们", "与", "对", "为", "而", "及", "被", "把", "从", "到", "以",
    }
)  # fmt: skip


def han_count(text: str) -> int:
    return len(HAN_RE.findall(text))


def cjk_fraction(text: str) -> float:
    """Han characters / letters (0 when the text has no letters)."""
    letters = len(LETTER_RE.findall(text))
    return han_count(text) / letters if letters else 0.0


def is_chinese(text: str, sample_chars: int = 2000) -> bool:
    return _is_chinese(text[:sample_chars])


@lru_cache(maxsize=64)  # every rule set asks about the same document
def _is_chinese(head: str) -> bool:
    return cjk_fraction(head) >= CJK_DOC_FRACTION


def resolve_language(setting: str, text: str) -> str:
    """'en' or 'zh' for a filter's `language: auto|en|zh` setting."""
    if setting == "auto":
        return "zh" if is_chinese(text) else "en"
    return setting


@lru_cache(maxsize=1)
def _jieba() -> object:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def jieba_words(text: str) -> list[str]:
    """jieba's precise-mode segmentation, whitespace dropped."""
    return list(_jieba_cached(text))


@lru_cache(maxsize=64)
def _jieba_cached(text: str) -> tuple[str, ...]:
    # Several rules segment the same document in a row; segment it once.
    jieba = _jieba()
    return tuple(w for w in jieba.lcut(text) if not w.isspace())  # type: ignore[attr-defined]


def words(text: str, lang: str) -> list[str]:
    """Word tokens including punctuation tokens: regex words for 'en', jieba words for 'zh'."""
    if lang == "zh":
        return jieba_words(text)
    return list(_regex_words(text))


@lru_cache(maxsize=64)
def _regex_words(text: str) -> tuple[str, ...]:
    # Each rule set and the evaluation's measures tokenize the same document; do it once.
    return tuple(WORD_OR_PUNCT_RE.findall(text))


@lru_cache(maxsize=1 << 16)  # tokens repeat; this ran once per token of every rule
def is_punct_token(token: str) -> bool:
    return all(ch in PUNCTUATION or unicodedata.category(ch).startswith("P") for ch in token)


def shingle_tokens(text: str) -> list[str]:
    """Tokens for MinHash shingles: lower-cased words, and each Han/Kana character on its own.

    Character tokens make Chinese n-gram shingles work without a segmenter (and make them
    robust to segmentation differences between near-duplicates).
    """
    return CJK_CHAR_OR_WORD_RE.findall(text.lower())


def split_lines(text: str) -> list[str]:
    return [line for line in text.split("\n")]


def split_paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


SENTENCE_RE = re.compile(r"[^.!?。！？…]+(?:[.!?。！？…]+[\"'”’」』）)]*|$)")


def sentences(text: str) -> list[str]:
    """A simple rule-based sentence split on English and Chinese terminal punctuation."""
    return [s.strip() for s in SENTENCE_RE.findall(text) if s.strip()]
