"""Heuristic rule sets: hand-computed cases, and false-removal rates on generated clean text."""

from __future__ import annotations

from pingce.data.generator import CorpusConfig, generate
from pingce.data.operators.heuristics import (
    C4Params,
    FineWebParams,
    GopherQualityParams,
    GopherRepetitionParams,
    c4_rules,
    fineweb_rules,
    gopher_quality,
    gopher_repetition,
)

EN = (
    "The river runs through the old town and the bridge crosses it near the market. "
    "People have walked with their dogs along the water for many years, and the council "
    "wants to keep that tradition alive for the children of the town.\n"
) * 1


def test_gopher_quality_rules_hand_cases() -> None:
    p = GopherQualityParams(language="en")
    assert gopher_quality(EN + "Another line with other words than the first one has.", p) is None
    assert gopher_quality("The cat sat.", p) == "gopher_short_doc"  # 3 words < 50
    long_words = " ".join(["extraordinarilylongword"] * 60) + " the and"
    assert gopher_quality(long_words, p) == "gopher_above_avg_word_length"
    hashes = " ".join(["#tag word the and of"] * 20)  # 20 '#' / 120 tokens > 0.1
    assert gopher_quality(hashes, p) == "gopher_too_many_hashes"
    no_stop = " ".join(["river mountain village teacher"] * 20)
    assert gopher_quality(no_stop, p) == "gopher_few_stop_words"


def test_gopher_repetition_hand_cases() -> None:
    p = GopherRepetitionParams(language="en")
    assert gopher_repetition("same line here\n" * 10, p) == "dup_line_frac"
    assert (
        gopher_repetition(EN + "A second, different line keeps the ratio of repeated lines low.", p)
        is None
    )


def test_c4_removes_lines_and_documents() -> None:
    text = (
        "Menu\n"
        + "This is a full sentence here. " * 5
        + "\nwe use cookies on this site.\nThe code uses {braces} in a sentence."
    )
    reason, _ = c4_rules(text, C4Params(language="en"))
    assert reason == "curly_bracket"
    reason, kept = c4_rules(text.replace("{braces}", "braces"), C4Params(language="en"))
    assert reason is None and "Menu" not in kept and "cookies" not in kept
    assert c4_rules("Lorem ipsum dolor sit amet.", C4Params())[0] == "lorem_ipsum"


def test_fineweb_rules_hand_cases() -> None:
    p = FineWebParams(language="en")
    assert (
        fineweb_rules("\n".join(["Home", "About", "Contact us now."] * 3), p) == "short_line_ratio"
    )
    assert fineweb_rules(EN, p) is None


def test_chinese_aware_variants_keep_clean_chinese() -> None:
    """False-removal rate on the generated clean documents (reported in the docs)."""
    recs = generate(
        CorpusConfig(docs=160, seed=3, low_quality_rate=0.25, exact_dup_rate=0, near_dup_rate=0)
    )
    rules = {
        "gopher": lambda t, lang: gopher_quality(t, GopherQualityParams(language=lang)),
        "repetition": lambda t, lang: gopher_repetition(t, GopherRepetitionParams(language=lang)),
        "c4": lambda t, lang: c4_rules(t, C4Params(language=lang))[0],
        "fineweb": lambda t, lang: fineweb_rules(t, FineWebParams(language=lang)),
    }
    clean = {
        lang: [r["text"] for r in recs if r["gt_kind"] == "original" and r["lang"] == lang]
        for lang in ("en", "zh")
    }
    for lang, texts in clean.items():
        for name, rule in rules.items():
            removed = sum(rule(t, "auto") is not None for t in texts)
            assert removed == 0, (lang, name, removed / len(texts))
    # The English rules applied to Chinese text reject almost everything (why variants exist).
    assert (
        sum(gopher_quality(t, GopherQualityParams(language="en")) is not None for t in clean["zh"])
        / len(clean["zh"])
        > 0.9
    )
    assert (
        sum(c4_rules(t, C4Params(language="en"))[0] is not None for t in clean["zh"])
        / len(clean["zh"])
        > 0.9
    )
    # And every injected low-quality document is caught by at least one rule set.
    low = [r for r in recs if r["gt_kind"] == "low_quality"]
    caught = sum(any(rule(r["text"], "auto") for rule in rules.values()) for r in low)
    assert caught == len(low)
