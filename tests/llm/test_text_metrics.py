"""Text metrics against independent references: sacrebleu for BLEU, rouge-score for ROUGE-L,
and hand-computed values."""

from __future__ import annotations

import math

import pytest

from pingce.llm.text_metrics import (
    bleu_from_stats,
    bleu_stats,
    bleu_tokenize,
    corpus_bleu,
    detect_language,
    exact_match,
    is_cjk,
    normalize_answer,
    normalized_match,
    rouge_l,
    token_f1,
    token_prf,
    tokenize,
)

sacrebleu = pytest.importorskip("sacrebleu")
rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")

# --------------------------------------------------------------------------------------------
# language, normalisation, tokenisation


@pytest.mark.parametrize(
    ("ch", "expected"),
    [("中", True), ("國", True), ("の", True), ("ア", True), ("𠀀", True), ("a", False),
     ("1", False), ("，", False), ("。", False), ("한", False), ("", False), ("中文", False)],
)  # fmt: skip
def test_is_cjk(ch: str, expected: bool) -> None:
    assert is_cjk(ch) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The capital of France is Paris.", "en"),
        ("法国的首都是巴黎。", "zh"),
        ("答案是 B", "zh"),
        ("GPU 显存 is large", "en"),  # 2 CJK of 13 non-space characters
        ("使用 GPU", "zh"),  # 2 of 5
        ("abc中", "en"),  # 1 of 4 = 25%
        ("", "en"),
        ("   ", "en"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_detect_language_threshold_is_inclusive() -> None:
    assert detect_language("abcdefg中文中") == "zh"  # 3 of 10 = 30%
    assert detect_language("abcdefgh中文中") == "en"  # 3 of 11


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The  Cat, sat!", "cat sat"),
        ("  An apple a day ", "apple day"),
        ("Theory of the mind", "theory of mind"),
        ("Don't panic.", "dont panic"),
        ("ＡＢＣ１２３", "abc123"),  # full-width -> half-width
        ("北京。", "北京"),
        ("“北京”，中国！", "北京中国"),
        ("《红楼梦》的作者", "红楼梦的作者"),
        ("中国 the 北京", "中国 the 北京"),  # no article removal for Chinese
        ("", ""),
    ],
)
def test_normalize_answer(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


def test_normalize_answer_forced_language() -> None:
    assert normalize_answer("中国 the 北京", language="en") == "中国 北京"
    assert normalize_answer("The cat", language="zh") == "the cat"


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("The cat sat on the mat.", "auto", ["cat", "sat", "on", "mat"]),
        ("我爱北京天安门", "auto", ["我", "爱", "北", "京", "天", "安", "门"]),
        ("使用GPU训练，共3.5小时。", "auto",
         ["使", "用", "gpu", "训", "练", "共", "3", "5", "小", "时"]),
        ("ＧＰＵ２０２４年", "zh", ["gpu2024", "年"]),
        ("Hello, World", "zh", ["hello", "world"]),
        ("我爱 北京", "en", ["我爱", "北京"]),
        ("", "auto", []),
    ],
)  # fmt: skip
def test_tokenize(text: str, language: str, expected: list[str]) -> None:
    assert tokenize(text, language) == expected


def test_bad_language_is_rejected() -> None:
    with pytest.raises(ValueError, match="language"):
        tokenize("x", "fr")


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("The cat, it's fine.", "en", ["The", "cat", ",", "it", "'", "s", "fine", "."]),
        ("我爱北京。Hello!", "zh", ["我", "爱", "北", "京", "。", "Hello", "!"]),
        ("GPU显存80GB", "zh", ["GPU", "显", "存", "80GB"]),
        ("我爱北京", "en", ["我爱北京"]),
        ("  ", "auto", []),
    ],
)
def test_bleu_tokenize(text: str, language: str, expected: list[str]) -> None:
    assert bleu_tokenize(text, language) == expected


# --------------------------------------------------------------------------------------------
# exact / normalised match, token F1


def test_exact_match() -> None:
    assert exact_match(" Paris\n", ["London", "Paris"]) == 1.0
    assert exact_match("paris", ["Paris"]) == 0.0
    assert exact_match("Paris", []) == 0.0
    assert exact_match("Paris", "Paris") == 1.0  # a bare string is one reference
    assert exact_match("北京", ["北京 "]) == 1.0


def test_normalized_match() -> None:
    assert normalized_match("The Paris.", ["paris"]) == 1.0
    assert normalized_match("北京。", ["北京"]) == 1.0
    assert normalized_match("１２３", ["123"]) == 1.0
    assert normalized_match("Paris, France", ["Paris"]) == 0.0
    assert normalized_match("x", []) == 0.0


def test_token_prf_hand_computed() -> None:
    # tokens [cat, sat] vs [cat, sat, down]
    assert token_prf("the cat sat", "a cat sat down") == pytest.approx((1.0, 2 / 3, 0.8))
    # bag of tokens: "the" removed; [cat, cat] vs [cat]: common 1 -> P=1/2, R=1
    assert token_prf("cat cat", "cat") == pytest.approx((0.5, 1.0, 2 / 3))
    # Chinese: 我 爱 北 京 vs 我 爱 上 海: common 2 -> P=R=F=1/2
    assert token_prf("我爱北京", "我爱上海") == pytest.approx((0.5, 0.5, 0.5))
    # mixed: the Chinese side makes the pair Chinese: [答, 案, 是, 42] vs [42]
    p, r, f = token_prf("答案是42", "42")
    assert (p, r, f) == pytest.approx((0.25, 1.0, 0.4))


def test_token_prf_empty_cases() -> None:
    assert token_prf("", "") == (1.0, 1.0, 1.0)
    assert token_prf("the", "a") == (1.0, 1.0, 1.0)  # both empty after normalisation
    assert token_prf("", "cat") == (0.0, 0.0, 0.0)
    assert token_prf("cat", "") == (0.0, 0.0, 0.0)
    assert token_prf("dog", "cat") == (0.0, 0.0, 0.0)


def test_token_f1_takes_the_best_reference() -> None:
    assert token_f1("the cat sat", ["dog", "a cat sat down", "cat"]) == pytest.approx(0.8)
    assert token_f1("cat", []) == 0.0


# --------------------------------------------------------------------------------------------
# BLEU against sacrebleu


def _sacrebleu_on_our_tokens(hyps: list[str], refs_list: list[list[str]], language: str) -> float:
    """sacrebleu on our pre-tokenised text: tokenize="none" splits on the spaces we insert."""
    n_refs = len(refs_list[0])
    assert all(len(r) == n_refs for r in refs_list)
    tok_hyps = [" ".join(bleu_tokenize(h, language)) for h in hyps]
    streams = [[" ".join(bleu_tokenize(r[k], language)) for r in refs_list] for k in range(n_refs)]
    bleu = sacrebleu.metrics.BLEU(tokenize="none", smooth_method="none", force=True)
    return bleu.corpus_score(tok_hyps, streams).score


CORPORA = {
    "english": (
        [
            "The cat sat on the mat, and then it slept.",
            "A quick brown fox jumps over the lazy dog.",
            "It is a guide to action that ensures the military always obeys the commands.",
        ],
        [
            ["The cat sat on the mat and then slept."],
            ["The quick brown fox jumped over the lazy dog."],
            ["It is a guide to action which ensures that the military always obeys the commands."],
        ],
        "en",
    ),
    "chinese": (
        [
            "今天天气很好，我们去公园散步吧。",
            "人工智能正在改变世界的每一个角落。",
            "他昨天去了北京。",
        ],
        [
            ["今天天气不错，我们去公园散步。"],
            ["人工智能改变了世界的每个角落。"],
            ["他昨天到了北京。"],
        ],
        "zh",
    ),
    "multi_reference": (
        [
            "It is a guide to action which ensures that the military always obeys the commands.",
            "The party commands the army forever.",
        ],
        [
            [
                "It is a guide to action that ensures that the military will forever heed "
                "Party commands.",
                "It is the guiding principle which guarantees the military forces always "
                "being under the command of the Party.",
                "It is the practical guide for the army always to heed the directions of the "
                "party.",
            ],
            [
                "The party will always command the army.",
                "The army obeys the commands of the party forever.",
                "Forever the party commands the army.",
            ],
        ],
        "en",
    ),
    "short_hypotheses": (  # hypotheses shorter than the references: BP < 1
        ["the cat sat on the mat", "我们去公园散步"],
        [
            ["the cat sat on the mat by the door all day long"],
            ["今天天气不错，我们去公园散步吧"],
        ],
        "auto",
    ),
    "zero_4gram_precision": (
        ["the cat sat on the mat", "a dog barked"],
        [["the cat is on the mat"], ["a dog barks loudly"]],
        "en",
    ),
    "mixed_language": (
        ["我们用GPU训练了3.5小时。", "Model ABC-7B scores 85.2% on MMLU."],
        [["我们用 GPU 训练了 3.5 个小时。"], ["Model ABC-7B scored 85.2% on the MMLU test."]],
        "auto",
    ),
}


@pytest.mark.parametrize("name", sorted(CORPORA))
def test_corpus_bleu_matches_sacrebleu(name: str) -> None:
    hyps, refs_list, language = CORPORA[name]
    ours = corpus_bleu(hyps, refs_list, language)
    # With "auto" each sample picks its own language; feed sacrebleu the same tokens.
    langs = [
        language if language != "auto" else _pair_language(h, r)
        for h, r in zip(hyps, refs_list, strict=True)
    ]
    if len(set(langs)) == 1:
        expected = _sacrebleu_on_our_tokens(hyps, refs_list, langs[0])
    else:
        expected = _sacrebleu_mixed(hyps, refs_list, langs)
    assert ours == pytest.approx(expected, abs=1e-9)
    if name == "zero_4gram_precision":
        assert ours == 0.0
    else:
        assert 0.0 < ours < 100.0


def _pair_language(hyp: str, refs: list[str]) -> str:
    return "zh" if any(detect_language(t) == "zh" for t in [hyp, *refs]) else "en"


def _sacrebleu_mixed(hyps: list[str], refs_list: list[list[str]], langs: list[str]) -> float:
    tok_hyps = [" ".join(bleu_tokenize(h, lg)) for h, lg in zip(hyps, langs, strict=True)]
    streams = [
        [" ".join(bleu_tokenize(r[k], lg)) for r, lg in zip(refs_list, langs, strict=True)]
        for k in range(len(refs_list[0]))
    ]
    bleu = sacrebleu.metrics.BLEU(tokenize="none", smooth_method="none", force=True)
    return bleu.corpus_score(tok_hyps, streams).score


def test_brevity_penalty_is_applied() -> None:
    hyps, refs_list, _ = CORPORA["short_hypotheses"]
    stats = [bleu_stats(h, r) for h, r in zip(hyps, refs_list, strict=True)]
    c = sum(s[8] for s in stats)
    r = sum(s[9] for s in stats)
    assert c < r
    precisions = [sum(s[n] for s in stats) / sum(s[4 + n] for s in stats) for n in range(4)]
    geo = math.exp(sum(math.log(p) for p in precisions) / 4)
    assert bleu_from_stats(stats) == pytest.approx(100 * geo * math.exp(1 - r / c), abs=1e-9)
    assert bleu_from_stats(stats) < 100 * geo


def test_chinese_matches_sacrebleu_zh_tokenizer_on_plain_chinese() -> None:
    hyps = ["今天天气很好我们去公园散步吧", "人工智能正在改变世界的每一个角落", "他昨天去了北京"]
    refs = [["今天天气不错我们去公园散步"], ["人工智能改变了世界的每个角落"], ["他昨天到了北京"]]
    ours = corpus_bleu(hyps, refs, language="zh")
    bleu = sacrebleu.metrics.BLEU(tokenize="zh", smooth_method="none", force=True)
    expected = bleu.corpus_score(hyps, [[r[0] for r in refs]]).score
    assert ours == pytest.approx(expected, abs=1e-9)
    assert corpus_bleu(hyps, refs) == pytest.approx(expected, abs=1e-9)  # auto -> zh


def test_bleu_stats_hand_computed() -> None:
    # unigrams: the*2 cat on mat match (5 of 6); bigrams: the cat, on the, the mat (3 of 5);
    # trigrams: on the mat (1 of 4); 4-grams: none (0 of 3)
    assert bleu_stats("the cat sat on the mat", ["the cat is on the mat"], "en") == [
        5.0, 3.0, 1.0, 0.0, 6.0, 5.0, 4.0, 3.0, 6.0, 6.0
    ]  # fmt: skip
    # clipping: "the" x7 against a reference with "the" twice (max over references)
    stats = bleu_stats("the the the the the the the", ["the cat", "the the mat"], "en")
    assert stats[0] == 2.0 and stats[4] == 7.0
    # closest reference length, ties to the shorter: hyp 4, refs 3 and 5 -> 3
    assert bleu_stats("a b c d", ["a b c", "a b c d e"], "en")[9] == 3.0
    assert bleu_stats("a b c d", ["a b c d e", "a b"], "en")[9] == 5.0


def test_bleu_identical_is_100_and_stats_add_up() -> None:
    text = "It is a guide to action that ensures the military always obeys."
    assert corpus_bleu([text], [[text]]) == pytest.approx(100.0)
    hyps, refs_list, language = CORPORA["english"]
    stats = [bleu_stats(h, r, language) for h, r in zip(hyps, refs_list, strict=True)]
    assert bleu_from_stats(stats) == corpus_bleu(hyps, refs_list, language)
    # resampling rows (as a bootstrap does) just re-sums them
    assert bleu_from_stats([stats[0], stats[0]]) == pytest.approx(bleu_from_stats([stats[0]]))


def test_bleu_degenerate_inputs() -> None:
    assert bleu_from_stats([]) == 0.0
    assert corpus_bleu([""], [["the cat"]]) == 0.0
    assert corpus_bleu(["cat"], [["cat"]]) == 0.0  # no 2-grams at all: zero precision
    with pytest.raises(ValueError, match="reference"):
        bleu_stats("x", [])
    with pytest.raises(ValueError, match="2 hypotheses"):
        corpus_bleu(["a", "b"], [["a"]])
    with pytest.raises(ValueError, match="10 numbers"):
        bleu_from_stats([[1.0, 2.0]])


# --------------------------------------------------------------------------------------------
# ROUGE-L against rouge-score


class _OurTokens:
    """A rouge-score tokenizer that yields our tokens."""

    def __init__(self, language: str) -> None:
        self.language = language

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text, self.language)


def _reference_rouge_l(hyp: str, refs: list[str], language: str | None) -> float:
    tokenizer = _OurTokens(language) if language else None
    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=tokenizer)
    return max(scorer.score(r, hyp)["rougeL"].fmeasure for r in refs)


ROUGE_CASES = [
    ("The cat sat on the mat, and then it slept.", ["The cat was on the mat; it slept."], "en"),
    (
        "Police killed the gunman after a long standoff.",
        ["The gunman was shot dead by police.", "Police ended the standoff by killing him."],
        "en",
    ),
    ("今天天气很好，我们去公园散步吧。", ["今天天气不错，我们去公园散步。"], "zh"),
    ("人工智能正在改变世界。", ["人工智能改变了世界的每个角落。", "世界正在变化。"], "zh"),
    ("我们用GPU训练了3.5小时", ["我们用 GPU 训练了 3.5 个小时"], "zh"),
    ("completely unrelated words", ["nothing in common here"], "en"),
]


@pytest.mark.parametrize(("hyp", "refs", "language"), ROUGE_CASES)
def test_rouge_l_matches_rouge_score(hyp: str, refs: list[str], language: str) -> None:
    expected = _reference_rouge_l(hyp, refs, language)
    assert rouge_l(hyp, refs, language) == pytest.approx(expected, abs=1e-9)
    assert rouge_l(hyp, refs) == pytest.approx(expected, abs=1e-9)  # auto picks the same


@pytest.mark.parametrize(
    ("hyp", "ref"),
    [
        ("police killed gunman after long standoff", "gunman was shot dead by police"),
        ("cat sat on mat and then slept", "cat was on mat it slept"),
        ("one two three four five", "five four three two one"),
    ],
)
def test_rouge_l_matches_rouge_score_default_tokenizer(hyp: str, ref: str) -> None:
    # lowercase, punctuation- and article-free English: its default tokenizer agrees with ours
    expected = _reference_rouge_l(hyp, [ref], None)
    assert rouge_l(hyp, [ref]) == pytest.approx(expected, abs=1e-9)


def test_rouge_l_hand_computed() -> None:
    # 我 爱 北 京 vs 我 爱 上 海 和 北 京: LCS 4, P = 1, R = 4/7, F = 8/11
    assert rouge_l("我爱北京", ["我爱上海和北京"]) == pytest.approx(8 / 11)
    # [cat, sat, on, mat] vs [cat, on, mat, today]: LCS 3, P = 3/4, R = 3/4
    assert rouge_l("The cat sat on the mat.", ["A cat on the mat today"]) == pytest.approx(0.75)
    assert rouge_l("abc", ["abc"]) == 1.0
    assert rouge_l("", ["abc"]) == 0.0
    assert rouge_l("abc", []) == 0.0
