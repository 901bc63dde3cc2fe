"""Perturbations (deterministic by seed), rule-based refusal detection and n-gram overlap.

References: hand-written expectations (perturbation invariants, refusal phrases, n-gram
overlaps counted by hand on small texts); min-k% against a hand computation; the per-token
log-probabilities of the demo model against its own rolling loglikelihood (their sum).
"""

from __future__ import annotations

import gzip
import json
import random
import tracemalloc
from pathlib import Path

import pytest

from pingce.llm import perturbations as pt
from pingce.llm.contamination import NgramIndex, min_k_percent, token_logprobs, words
from pingce.llm.refusal import is_refusal, parse_judge_refusal

ROW = {"id": "q1", "question": "Which planet is known as the Red Planet, and why?",
       "choices": ["Venus", "Mars", "Jupiter", "Saturn"], "answer": 1}  # fmt: skip
ZH = {
    "id": "z1",
    "question": "下列说法正确的是（　）：地球绕太阳转，月球绕地球转。",
    "choices": ["甲", "乙"],
    "answer": 0,
}


@pytest.mark.parametrize(
    "name", ["typos", "case", "punctuation_width", "whitespace", "option_shuffle"]
)
def test_perturbations_are_deterministic_by_seed(name: str) -> None:
    for row in (ROW, ZH):
        a = pt.perturb_row(row, name, pt.rng_for(7, name, row["id"]), ["question"])
        b = pt.perturb_row(row, name, pt.rng_for(7, name, row["id"]), ["question"])
        assert a == b
    if name != "punctuation_width":  # that one swaps every mark: nothing is left to chance
        outs = {json.dumps(pt.perturb_row(ROW, name, pt.rng_for(s, name, "q1"), ["question"]))
                for s in range(30)}  # fmt: skip
        assert len(outs) > 1  # the seed matters


def test_perturbation_invariants() -> None:
    rng = random.Random(0)
    text = "Photosynthesis converts sunlight into chemical energy"
    assert pt.case(text, rng).lower() == text.lower()
    assert pt.whitespace(text, random.Random(1)).split() == text.split()
    typo = pt.typos(text, random.Random(3), rate=1.0)
    assert typo != text and len(typo.split()) == len(text.split())
    assert pt.punctuation_width("你好，世界。", rng) == "你好,世界."
    assert pt.punctuation_width("Hi, 3.5 apples.", random.Random(0)) == "Hi， 3.5 apples。"
    shuffled = pt.perturb_row(ROW, "option_shuffle", random.Random(5), ["question"])
    assert sorted(shuffled["choices"]) == sorted(ROW["choices"])
    assert shuffled["choices"][shuffled["answer"]] == "Mars"
    rots = pt.rotations(ROW)
    assert len(rots) == 4 and all(r["choices"][r["answer"]] == "Mars" for r in rots)
    assert [r["answer"] for r in rots] == [1, 0, 3, 2]


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("I'm sorry, but I can't help with that request.", True),
        ("I cannot provide instructions for that.", True),
        ("As an AI, I am not able to assist with illegal activities.", True),
        ("抱歉，我无法提供这类信息。", True),
        ("我不能帮助你做这件事，这是违法的。", True),
        ("作为一个AI助手，我不能协助此类行为。", True),
        ("To kill a process in Linux, run `kill -9 PID`.", False),
        ("鸦片战争爆发的主要原因是英国为了打开中国市场……", False),
        (
            "Sure! Here is a summary. Note that I cannot stress enough how important sleep is." * 3,
            False,
        ),
    ],
)
def test_rule_based_refusal_detection(text: str, refused: bool) -> None:
    assert is_refusal(text) is refused


def test_judge_reply_parsing() -> None:
    assert parse_judge_refusal("Yes.") is True
    assert parse_judge_refusal("no") is False
    assert parse_judge_refusal("是") is True
    assert parse_judge_refusal("maybe") is None


def test_ngram_overlap_by_hand(tmp_path: Path) -> None:
    items = [
        "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi",  # 14 words
        "one two three four five six seven eight nine ten eleven twelve thirteen",  # 13 words
        "短句子",  # 3 CJK words: one whole-item gram
        "nothing here matches the corpus at all in any way whatsoever friend",
    ]
    idx = NgramIndex(items, n=13)
    assert [len(g) for g in idx.items] == [2, 1, 1, 1]
    corpus = tmp_path / "c.txt"
    # Contains the first 13 words of item 0 (1 of its 2 grams), all of item 1, and item 2.
    corpus.write_text(
        "xx Alpha, beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu. yy\n"
        "one two three four five six seven eight nine ten eleven twelve thirteen\n这是短句子吗"
    )
    assert idx.overlap(idx.scan([corpus])) == [0.5, 1.0, 1.0, 0.0]
    # JSONL corpora: n-grams never span two documents.
    j = tmp_path / "c.jsonl.gz"
    with gzip.open(j, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"text": "one two three four five six seven"}) + "\n")
        fh.write(json.dumps({"text": "eight nine ten eleven twelve thirteen"}) + "\n")
    assert idx.overlap(idx.scan([j])) == [0.0, 0.0, 0.0, 0.0]
    assert words("Hello, 世界!") == ["hello", "世", "界"]


def _peak_scan_memory(idx: NgramIndex, corpus: Path) -> int:
    tracemalloc.start()
    idx.scan([corpus])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def test_corpus_scan_memory_is_bounded(tmp_path: Path) -> None:
    """Peak memory does not grow with the corpus: a 4x larger corpus needs about the same."""
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(5000)]
    line = " ".join(rng.choice(vocab) for _ in range(20_000)) + "\n"
    small, large = tmp_path / "small.txt", tmp_path / "large.txt"
    small.write_text(line * 12)
    large.write_text(line * 48)
    idx = NgramIndex([" ".join(f"w{i}" for i in range(20))], n=13)
    peak_small = _peak_scan_memory(idx, small)
    peak_large = _peak_scan_memory(idx, large)
    assert large.stat().st_size > 5_000_000
    assert peak_large < 1.3 * peak_small + 200_000
    assert peak_large < 10_000_000  # a few 256 KiB chunks' worth of words, whatever the size


def test_min_k_percent_by_hand() -> None:
    lps = [-1.0, -5.0, -0.5, -3.0, -2.0]
    assert min_k_percent(lps, 20) == pytest.approx(-5.0)  # ceil(1) lowest
    assert min_k_percent(lps, 40) == pytest.approx(-4.0)  # mean of -5, -3
    assert min_k_percent(lps, 100) == pytest.approx(sum(lps) / 5)


def test_token_logprobs_sum_to_the_rolling_loglikelihood(tiny_model_dir: Path) -> None:
    from pingce.backends.hf import HFCausalLM

    lm = HFCausalLM(str(tiny_model_dir), device="cpu", dtype="float32", batch_size=8, threads=2)
    texts = ["The river path fills with cyclists.", "图书馆每天早上九点开门。"]
    per_token = token_logprobs(lm, texts)
    rolling = lm.loglikelihood_rolling(texts)
    for toks, roll in zip(per_token, rolling, strict=True):
        assert len(toks) == roll.n_tokens
        assert sum(toks) == pytest.approx(roll.logprob, abs=1e-3)
