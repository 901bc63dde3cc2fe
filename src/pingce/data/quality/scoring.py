"""Per-record measurements of the data-quality model (stored as run records).

Everything corpus-level (duplicates, schema, language shares, balance, topics) is recomputed in
`summarize` from what each record stores here: its normalised-text hash, its LSH band keys,
its field set, its detected language and its most frequent content terms.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from pingce.core.execute import Outcome
from pingce.data.document import Document
from pingce.data.io.readers import InputProblem, problem_dict
from pingce.data.minhash import MinHashConfig, MinHasher
from pingce.data.operators.cleaning import CONTROL_RE
from pingce.data.operators.dedup import ExactParams, normalized_hash
from pingce.data.operators.heuristics import (
    C4Params,
    FineWebParams,
    GopherQualityParams,
    GopherRepetitionParams,
    c4_rules,
    fineweb_rules,
    gopher_quality,
    gopher_repetition,
    units_zh,
)
from pingce.data.operators.language import DEFAULT_CANDIDATES, identify
from pingce.data.operators.toxicity import _matcher
from pingce.data.pii import find_pii
from pingce.data.quality.topics import doc_terms
from pingce.data.text import TERMINAL_PUNCTUATION, is_punct_token, resolve_language, words

Profile = Literal["pretrain", "sft"]
# Personal data for the PII measure. A URL names a resource, not a person: counting it made
# every documentation page with a link "personal data" (90% of Debian's man pages). The `pii`
# operator still finds and masks URLs when asked.
PERSONAL_KINDS = ("email", "id_cn", "bank_card", "phone", "ip")
MATTR_WINDOW = 50
CLOSERS = TERMINAL_PUNCTUATION + ("]", "}", "`", "】", "》", ">", "*")


@dataclass(frozen=True)
class ScoringSettings:
    profile: Profile = "pretrain"
    languages: tuple[str, ...] = DEFAULT_CANDIDATES
    minhash: MinHashConfig = MinHashConfig()


@lru_cache(maxsize=4)
def _hasher(cfg: MinHashConfig) -> MinHasher:
    return MinHasher(cfg)


def mattr(tokens: list[str], window: int = MATTR_WINDOW) -> float:
    """Moving-average type/token ratio (Covington & McFall 2010); plain TTR below one window."""
    if not tokens:
        return 0.0
    if len(tokens) <= window:
        return len(set(tokens)) / len(tokens)
    counts = Counter(tokens[:window])
    total = len(counts)
    acc = total
    for i in range(window, len(tokens)):
        out, inc = tokens[i - window], tokens[i]
        counts[out] -= 1
        if counts[out] == 0:
            del counts[out]
            total -= 1
        if counts[inc] == 0:
            total += 1
        counts[inc] += 1
        acc += total
    return acc / ((len(tokens) - window + 1) * window)


def bigram_entropy(tokens: list[str]) -> float | None:
    """Entropy of the word-bigram distribution / log2(number of bigrams), in [0, 1]."""
    grams = list(zip(tokens, tokens[1:], strict=False))
    if len(grams) < 2:
        return None
    counts = Counter(grams)
    n = len(grams)
    h = -sum(c / n * math.log2(c / n) for c in counts.values())
    return h / math.log2(n)


# A line ending in one of these announces more text: a list, a clause, a parenthesis.
CONTINUES = (",", "，", "、", ";", "；", ":", "：", "(", "（", "[", "【", "《", "“")
# Lines that are not running text: headings, list items, table rows, quotes, code.
NOT_PROSE_START = ("#", "|", ">", "-", "* ", "+ ", "•", "·", "●", "$ ", "```")
PROSE_LINE_WORDS = 8  # an English line of at least this many words is running text
PROSE_LINE_UNITS_ZH = 15  # a Chinese line of at least this many Han characters and words is


def _running_text(line: str) -> bool:
    if line.startswith(NOT_PROSE_START) or re.match(r"\d+[.)] ", line):
        return False
    if resolve_language("auto", line) == "zh":
        return units_zh(line) >= PROSE_LINE_UNITS_ZH
    return len(re.findall(r"[^\W\d_]+", line)) >= PROSE_LINE_WORDS


def truncated(text: str) -> bool:
    """Whether the text stops part-way: inside an unclosed code fence, after a word that
    announces more (a comma, a colon, an open bracket), or in the middle of a line of running
    text that has no sentence end.

    A document that ends in a heading, a list item, a table row, a link or a line of code is
    complete (tutorial pages do): only a line of running text is expected to end a sentence.
    """
    s = text.rstrip()
    if not s:
        return False
    if s.count("```") % 2:
        return True
    last = s.rsplit("\n", 1)[-1].strip()
    if last.endswith(CLOSERS) or re.search(r"(?:://|www\.)\S*$", last):
        return False  # a sentence end, a closing bracket, or a link
    if last.endswith(CONTINUES):
        return True
    return _running_text(last)


def encoding_damaged(text: str) -> bool:
    import ftfy.badness

    return "\ufffd" in text or bool(CONTROL_RE.search(text)) or ftfy.badness.is_bad(text)


def _problem_outcome(p: InputProblem) -> Outcome:
    if p.kind == "missing_field":
        scores = {"data_complete_ratio": 0.0, "data_missing_field_rate": 1.0}
        scores |= {"data_valid_ratio": 1.0, "data_malformed_rate": 0.0}
    else:
        scores = {"data_valid_ratio": 0.0, "data_malformed_rate": 1.0}
    return Outcome(scores=scores, data={"problem": problem_dict(p)})


def score_items(items: list[Document | InputProblem], s: ScoringSettings) -> list[Outcome]:
    docs = [x for x in items if isinstance(x, Document)]
    langs = (
        iter(identify([d.text[:1000] for d in docs], tuple(sorted(set(s.languages)))))
        if docs
        else iter(())
    )
    hasher = _hasher(s.minhash)
    sigs, valid = hasher.signatures([d.text for d in docs]) if docs else (None, None)
    keys = hasher.band_keys(sigs) if sigs is not None else None
    toxic = _matcher(("default",), ())
    outs: list[Outcome] = []
    j = 0
    for item in items:
        if isinstance(item, InputProblem):
            outs.append(_problem_outcome(item))
            continue
        doc = item
        lang, lang_score = next(langs)
        text = doc.text
        outs.append(
            _doc_outcome(doc, text, lang, lang_score, keys[j] if valid[j] else None, toxic, s)
        )  # type: ignore[index]
        j += 1
    return outs


def _annotated_perplexity(record: dict[str, Any]) -> float | None:
    """The `perplexity` a `perplexity_filter` wrote under the default annotations field."""
    ann = record.get("pingce")
    value = ann.get("perplexity") if isinstance(ann, dict) else None
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _doc_outcome(
    doc: Document,
    text: str,
    lang: str,
    lang_score: float,
    band_keys: Any,
    toxic: Any,
    s: ScoringSettings,
) -> Outcome:
    parts = dict(doc.parts)
    sc: dict[str, float] = {}
    empty = any(not t.strip() for _, t in doc.parts)
    judged = parts.get("response", text) if s.profile == "sft" else text
    if s.profile == "sft" and "response" not in parts:  # chat data: the last message
        judged = doc.parts[-1][1]
    trunc = (not empty) and truncated(judged)
    sc["data_missing_field_rate"] = 0.0
    sc["data_empty_rate"] = float(empty)
    sc["data_truncated_rate"] = float(trunc)
    sc["data_complete_ratio"] = float(not (empty or trunc))
    enc = encoding_damaged(text)
    sc["data_malformed_rate"] = 0.0
    sc["data_encoding_error_rate"] = float(enc)
    sc["data_valid_ratio"] = float(not enc)
    declared = doc.record.get("lang") or doc.record.get("language")
    if isinstance(declared, str) and declared.strip():
        sc["data_lang_agreement"] = float(declared.strip().lower()[:2] == lang)
    pii_spans = find_pii(text, PERSONAL_KINDS)
    hits = toxic.matches(text)
    sc["data_pii_rate"] = float(bool(pii_spans))
    sc["data_toxic_rate"] = float(bool(hits))
    sc["data_safe_ratio"] = float(not pii_spans and not hits)
    failed: dict[str, str] = {}
    if s.profile == "pretrain":
        rules = {
            "data_gopher_pass": gopher_quality(text, GopherQualityParams()),
            "data_gopher_repetition_pass": gopher_repetition(text, GopherRepetitionParams()),
            "data_c4_pass": c4_rules(text, C4Params())[0],
            "data_fineweb_pass": fineweb_rules(text, FineWebParams()),
        }
        for key, reason in rules.items():
            sc[key] = float(reason is None)
            if reason:
                failed[key] = reason
        sc["data_heuristic_score"] = sum(sc[k] for k in rules) / len(rules)
    else:
        prompt = parts.get("prompt", doc.parts[0][1] if len(doc.parts) > 1 else "")
        rep = gopher_repetition(judged, GopherRepetitionParams()) if judged.strip() else "empty"
        sc["data_gopher_repetition_pass"] = float(rep is None)
        checks = [rep is None, len(judged.strip()) >= 2, judged.strip() != prompt.strip()]
        sc["data_heuristic_score"] = sum(checks) / len(checks)
        if rep:
            failed["data_gopher_repetition_pass"] = rep
    tok_lang = resolve_language("auto", text)
    toks = [w.lower() for w in words(text, tok_lang) if not is_punct_token(w)]
    sc["data_lexical_diversity"] = mattr(toks)
    ent = bigram_entropy(toks)
    if ent is not None:
        sc["data_bigram_entropy"] = ent
    data: dict[str, Any] = {
        "id": doc.id,
        "source": doc.source,
        "lang": lang,
        "lang_score": round(lang_score, 4),
        "declared_lang": declared if isinstance(declared, str) else None,
        "chars": len(text),
        "tokens": len(toks),
        "schema": sorted(
            {k for k in doc.record if k != "_messages_roles"}
            | {k.split(".")[0] for k, _ in doc.parts}
        ),
        "exact": normalized_hash(text, ExactParams()).hex(),
        "bands": [f"{int(k):016x}" for k in band_keys] if band_keys is not None else None,
        "pii_kinds": sorted({sp.kind for sp in pii_spans}),
        "terms": doc_terms(toks),  # content-term counts for the topic model
        "perplexity": _annotated_perplexity(doc.record),
        "failed_rules": failed,
        "preview": text[:300],
    }
    return Outcome(scores=sc, data=data)
