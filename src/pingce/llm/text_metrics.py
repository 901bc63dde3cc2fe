"""Text-similarity metrics for generated answers: exact / normalised match, token F1, BLEU-4
and ROUGE-L, for English and Chinese.

Everything here is a pure function of strings. Three tokenisations are used, each on purpose:

* `normalize_answer` -- SQuAD-style answer normalisation (NFKC, lowercase, punctuation removed,
  English articles removed, whitespace collapsed); the basis of `normalized_match`.
* `tokenize` -- the tokens of `token_prf` / `token_f1` / `rouge_l`. English: the words of
  `normalize_answer`. Chinese: one token per CJK character, one per run of other letters /
  digits, punctuation dropped (NFKC + lowercase first).
* `bleu_tokenize` -- the tokens of BLEU. Case and punctuation are kept, as BLEU is usually
  reported case-sensitively on raw text: every punctuation/symbol character is a token of its
  own, every run of letters/digits/marks is one token, and for Chinese every CJK character is
  a token. Nothing is normalised (no NFKC, no lowercasing).

Language: "zh", "en" or "auto". With "auto", a pair (prediction, references) is treated as
Chinese when *any* of its texts is Chinese by `detect_language`, so that Chinese text is
never whitespace-split (Latin words still come out as whole tokens in the Chinese path).

BLEU is corpus-level: `bleu_stats` gives per-sample sufficient statistics (so a corpus score
can be bootstrapped over samples) and `bleu_from_stats` sums and scores them, as sacrebleu
does with ``smooth_method="none"``.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence

__all__ = [
    "bleu_from_stats",
    "bleu_stats",
    "bleu_tokenize",
    "corpus_bleu",
    "detect_language",
    "exact_match",
    "is_cjk",
    "normalize_answer",
    "normalized_match",
    "rouge_l",
    "token_f1",
    "token_prf",
    "tokenize",
]

MAX_NGRAM = 4

# Han ideographs (with radicals, extensions and compatibility forms) and Japanese kana.
# Hangul is not included: Korean separates words by spaces.
_CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x2E80, 0x2FDF),  # CJK radicals supplement, Kangxi radicals
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x31F0, 0x31FF),  # katakana phonetic extensions
    (0x3400, 0x4DBF),  # extension A
    (0x4E00, 0x9FFF),  # unified ideographs
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0x20000, 0x2FA1F),  # extensions B-F, compatibility supplement
    (0x30000, 0x323AF),  # extensions G-H
)

_ASCII_PUNCT = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")


def is_cjk(ch: str) -> bool:
    """True if the single character `ch` is a CJK ideograph (or Japanese kana)."""
    if len(ch) != 1:
        return False
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def detect_language(text: str) -> str:
    """ "zh" when CJK characters are at least 30% of the non-space characters, else "en"."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return "en"
    cjk = sum(1 for c in chars if is_cjk(c))
    return "zh" if cjk >= 0.3 * len(chars) else "en"


def _resolve_language(language: str, *texts: str) -> str:
    if language in ("zh", "en"):
        return language
    if language != "auto":
        raise ValueError(f"language must be 'zh', 'en' or 'auto', not {language!r}")
    return "zh" if any(detect_language(t) == "zh" for t in texts) else "en"


def _is_punct(ch: str) -> bool:
    return ch in _ASCII_PUNCT or unicodedata.category(ch).startswith("P")


def _is_word_char(ch: str) -> bool:
    """Letters, digits and combining marks: the characters that make up a word."""
    return unicodedata.category(ch)[0] in "LNM"


def normalize_answer(text: str, language: str = "auto") -> str:
    """SQuAD-style normalisation: NFKC, lowercase, punctuation (ASCII and CJK) removed,
    English articles removed (not for Chinese), whitespace collapsed."""
    lang = _resolve_language(language, text)
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(c for c in text if not _is_punct(c))
    if lang == "en":
        text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _char_tokens(text: str, keep_punct: bool) -> list[str]:
    """CJK characters one token each, runs of word characters one token; other non-space
    characters one token each when `keep_punct`, dropped otherwise."""
    tokens: list[str] = []
    run: list[str] = []
    for ch in text:
        if is_cjk(ch):
            if run:
                tokens.append("".join(run))
                run = []
            tokens.append(ch)
        elif _is_word_char(ch):
            run.append(ch)
        else:
            if run:
                tokens.append("".join(run))
                run = []
            if keep_punct and not ch.isspace():
                tokens.append(ch)
    if run:
        tokens.append("".join(run))
    return tokens


def tokenize(text: str, language: str = "auto") -> list[str]:
    """Tokens for token F1 and ROUGE-L.

    Chinese: NFKC + lowercase, then each CJK character is a token, each run of other
    letters/digits is a token, punctuation and symbols are dropped. English: the
    whitespace-separated words of `normalize_answer`.
    """
    lang = _resolve_language(language, text)
    if lang == "en":
        return normalize_answer(text, language="en").split()
    return _char_tokens(unicodedata.normalize("NFKC", text).lower(), keep_punct=False)


def bleu_tokenize(text: str, language: str = "auto") -> list[str]:
    """Tokens for BLEU (case and punctuation kept, no normalisation).

    Every non-word, non-space character (punctuation, symbols) is a token of its own; every
    run of letters/digits/marks is one token; for Chinese each CJK character is also a token
    of its own (for English a run of CJK characters stays one token).
    """
    lang = _resolve_language(language, text)
    if lang == "zh":
        return _char_tokens(text, keep_punct=True)
    tokens: list[str] = []
    run: list[str] = []
    for ch in text:
        if _is_word_char(ch):
            run.append(ch)
            continue
        if run:
            tokens.append("".join(run))
            run = []
        if not ch.isspace():
            tokens.append(ch)
    if run:
        tokens.append("".join(run))
    return tokens


def _as_refs(refs: Sequence[str] | str) -> list[str]:
    """A bare string is one reference (a str is also a Sequence, of characters)."""
    return [refs] if isinstance(refs, str) else list(refs)


_ASCII_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ASCII_DIGITS = str.maketrans("", "", string.digits)


def exact_match(
    pred: str,
    refs: Sequence[str],
    *,
    regexes_to_ignore: Sequence[str] = (),
    ignore_case: bool = False,
    ignore_punctuation: bool = False,
    ignore_numbers: bool = False,
) -> float:
    """1.0 if `pred` equals any reference, else 0.0.

    Both texts are stripped of surrounding whitespace, then transformed as lm-eval's
    `exact_match` (HF evaluate's, `exact_match_hf_evaluate`) does, in its order: every match of
    each of `regexes_to_ignore` removed (`re.sub`), lowercased (`ignore_case`), ASCII
    punctuation removed (`ignore_punctuation`, Python's `string.punctuation`), ASCII digits
    removed (`ignore_numbers`).
    """

    def norm(text: str) -> str:
        text = text.strip()
        for pattern in regexes_to_ignore:
            text = re.sub(pattern, "", text)
        if ignore_case:
            text = text.lower()
        if ignore_punctuation:
            text = text.translate(_ASCII_PUNCTUATION)
        if ignore_numbers:
            text = text.translate(_ASCII_DIGITS)
        return text

    p = norm(pred)
    return 1.0 if any(p == norm(r) for r in _as_refs(refs)) else 0.0


def normalized_match(pred: str, refs: Sequence[str]) -> float:
    """1.0 if `pred` equals any reference after `normalize_answer` (each text on its own)."""
    p = normalize_answer(pred)
    return 1.0 if any(p == normalize_answer(r) for r in _as_refs(refs)) else 0.0


def token_prf(pred: str, ref: str, language: str = "auto") -> tuple[float, float, float]:
    """Bag-of-tokens (precision, recall, F1) of `pred` against one reference (SQuAD
    definition): both empty -> (1, 1, 1); exactly one empty or no overlap -> (0, 0, 0)."""
    lang = _resolve_language(language, pred, ref)
    p_toks = tokenize(pred, lang)
    r_toks = tokenize(ref, lang)
    if not p_toks and not r_toks:
        return 1.0, 1.0, 1.0
    if not p_toks or not r_toks:
        return 0.0, 0.0, 0.0
    common = sum((Counter(p_toks) & Counter(r_toks)).values())
    if common == 0:
        return 0.0, 0.0, 0.0
    precision = common / len(p_toks)
    recall = common / len(r_toks)
    return precision, recall, 2 * precision * recall / (precision + recall)


def token_f1(pred: str, refs: Sequence[str], language: str = "auto") -> float:
    """The best token F1 of `pred` over the references (0.0 with no references)."""
    return max((token_prf(pred, r, language)[2] for r in _as_refs(refs)), default=0.0)


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def bleu_stats(hyp: str, refs: Sequence[str], language: str = "auto") -> list[float]:
    """Sufficient statistics of one sample for corpus BLEU-4:
    [m1, m2, m3, m4, t1, t2, t3, t4, hyp_len, ref_len].

    m_n: hypothesis n-grams matched, each clipped to its largest count in any one reference;
    t_n: hypothesis n-grams; ref_len: the reference length closest to hyp_len, ties to the
    shorter (Papineni et al. / sacrebleu).
    """
    refs = _as_refs(refs)
    if not refs:
        raise ValueError("bleu_stats needs at least one reference")
    lang = _resolve_language(language, hyp, *refs)
    h_toks = bleu_tokenize(hyp, lang)
    r_toks = [bleu_tokenize(r, lang) for r in refs]
    hyp_len = len(h_toks)
    ref_len = min((len(t) for t in r_toks), key=lambda n: (abs(n - hyp_len), n))
    matches: list[float] = []
    totals: list[float] = []
    for n in range(1, MAX_NGRAM + 1):
        h_counts = _ngrams(h_toks, n)
        max_ref: Counter[tuple[str, ...]] = Counter()
        for toks in r_toks:
            max_ref |= _ngrams(toks, n)
        matches.append(float(sum(min(c, max_ref[g]) for g, c in h_counts.items())))
        totals.append(float(max(hyp_len - n + 1, 0)))
    return [*matches, *totals, float(hyp_len), float(ref_len)]


def bleu_from_stats(stats: Sequence[Sequence[float]]) -> float:
    """Corpus BLEU-4 (0..100) from summed per-sample `bleu_stats` rows.

    Geometric mean of the four modified n-gram precisions times the brevity penalty
    BP = exp(1 - r/c) when c < r, else 1. No smoothing: any zero precision (or an empty
    corpus) gives 0.0.
    """
    width = 2 * MAX_NGRAM + 2
    sums = [0.0] * width
    for row in stats:
        if len(row) != width:
            raise ValueError(f"a BLEU statistics row has {width} numbers, got {len(row)}")
        for i, value in enumerate(row):
            sums[i] += value
    matches, totals = sums[:MAX_NGRAM], sums[MAX_NGRAM : 2 * MAX_NGRAM]
    hyp_len, ref_len = sums[-2], sums[-1]
    if hyp_len <= 0 or any(m <= 0 for m in matches) or any(t <= 0 for t in totals):
        return 0.0
    log_mean = sum(math.log(m / t) for m, t in zip(matches, totals, strict=True)) / MAX_NGRAM
    bp = math.exp(1.0 - ref_len / hyp_len) if hyp_len < ref_len else 1.0
    return 100.0 * bp * math.exp(log_mean)


def corpus_bleu(
    hyps: Sequence[str], refs_list: Sequence[Sequence[str]], language: str = "auto"
) -> float:
    """Corpus BLEU-4 (0..100); `refs_list[i]` holds the references of `hyps[i]` (one list per
    sample, not sacrebleu's one stream per reference)."""
    if len(hyps) != len(refs_list):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs_list)} reference lists")
    return bleu_from_stats(
        [bleu_stats(h, r, language) for h, r in zip(hyps, refs_list, strict=True)]
    )


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            cur[j] = prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1])
        prev = cur
    return prev[-1]


def rouge_l(hyp: str, refs: Sequence[str], language: str = "auto") -> float:
    """Sentence-level ROUGE-L F1 (0..1) on `tokenize` tokens, the best over the references.

    P = LCS/len(hyp), R = LCS/len(ref), F1 = 2PR/(P+R); 0.0 when either side has no tokens
    (as rouge-score does) or there are no references.
    """
    best = 0.0
    h_cache: dict[str, list[str]] = {}
    for ref in _as_refs(refs):
        lang = _resolve_language(language, hyp, ref)
        if lang not in h_cache:
            h_cache[lang] = tokenize(hyp, lang)
        h_toks, r_toks = h_cache[lang], tokenize(ref, lang)
        if not h_toks or not r_toks:
            continue
        lcs = _lcs_length(h_toks, r_toks)
        if lcs == 0:
            continue
        precision, recall = lcs / len(h_toks), lcs / len(r_toks)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best
