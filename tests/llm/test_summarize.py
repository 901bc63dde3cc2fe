"""LLMStandard.summarize on hand-built records: every number is recomputed here by hand.

References: means and their standard error (sample std, ddof=1, over sqrt(n)); corpus BLEU
from `text_metrics.bleu_from_stats` (sacrebleu's definition, tested in test_text_metrics);
lm-eval's weighted perplexity exp(-Σll/Σn) and bits per byte -Σll/Σbytes/ln 2; the roll-up
described in `pingce.llm.taxonomy` (weighted means, perplexity left out).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from pingce.llm import text_metrics
from pingce.llm.standard import EFFICIENCY_INDICATORS, LLMStandard

SUITE = {
    "tasks": [
        {
            "id": "mc-a",
            "type": "multiple_choice",
            "dimension": "knowledge",
            "weight": 2.0,
            "metrics": ["acc", "acc_norm"],
            "title": "Knowledge A",
        },
        {
            "id": "mc-b",
            "type": "multiple_choice",
            "dimension": "knowledge",
            "metrics": ["acc_norm", "acc"],  # weight defaults to 1; primary is acc_norm
        },
        {
            "id": "gen",
            "type": "generative",
            "dimension": "language_generation",
            "weight": 1.5,
            "metrics": ["rouge_l", "bleu4"],
            "primary_metric": "bleu4",
            "language": "en",
        },
        {
            "id": "ppl",
            "type": "perplexity",
            "dimension": "language_modeling",
            "metrics": ["bits_per_byte", "token_perplexity"],
        },
        {"id": "never-ran", "type": "multiple_choice", "dimension": "reasoning"},
    ]
}

GEN_PAIRS = [
    ("the cat sat on the mat today", ["the cat sat on the mat"]),
    ("a quick brown fox jumps over the dog", ["the quick brown fox jumps over the lazy dog"]),
    ("hello there my good friend", ["hello there my friend", "hi friend"]),
]
PPL_ITEMS = [[-10.0, 5, 2, 20], [-9.0, 3, 2, 12]]


def record(
    task: str, position: int, scores: dict[str, Any], usage: dict[str, Any]
) -> dict[str, Any]:
    return {
        "task": task,
        "sample_id": f"{task}-{position}",
        "position": position,
        "scores": scores,
        "data": {"prompt": f"p{position}", "output": "o", "reference": "r", "usage": usage},
    }


def build_records() -> list[dict[str, Any]]:
    recs = []
    for i, (acc, norm) in enumerate([(1, 1), (0, 1), (1, 0), (1, 1)]):
        usage = {"tokens_in": 30 + i, "tokens_out": 0, "requests": 3, "seconds": 0.1}
        recs.append(record("mc-a", i, {"acc": float(acc), "acc_norm": float(norm)}, usage))
    for i, (acc, norm) in enumerate([(0, 0), (0, 1)]):
        usage = {"tokens_in": 20, "tokens_out": 0, "requests": 4, "seconds": 0.2}
        recs.append(record("mc-b", i, {"acc": float(acc), "acc_norm": float(norm)}, usage))
    for i, (hyp, refs) in enumerate(GEN_PAIRS):
        scores = {
            "rouge_l": text_metrics.rouge_l(hyp, refs, "en"),
            "bleu4": text_metrics.bleu_stats(hyp, refs, "en"),
        }
        usage = {"tokens_in": 12, "tokens_out": 7, "requests": 1, "seconds": 0.3}
        recs.append(record("gen", i, scores, usage))
    for i, item in enumerate(PPL_ITEMS):
        scores = {"bits_per_byte": item, "token_perplexity": item}
        usage = {"tokens_in": item[1], "tokens_out": 0, "requests": 1, "seconds": 0.05}
        recs.append(record("ppl", i, scores, usage))
    recs.append(record("not-in-suite", 0, {"acc": 1.0}, {"tokens_in": 1, "seconds": 0.0}))
    return list(reversed(recs))  # order must not matter


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    return LLMStandard().summarize(SUITE, {"options": {"seed": 7}}, build_records())


def indicator(summary: dict[str, Any], ind_id: str, scope: str) -> dict[str, Any]:
    (row,) = [r for r in summary["indicators"] if r["id"] == ind_id and r["scope"] == scope]
    return row


def test_task_metric_values(summary: dict[str, Any]) -> None:
    tasks = {t["id"]: t for t in summary["tasks"]}
    assert list(tasks) == ["mc-a", "mc-b", "gen", "ppl"]  # suite order; no records, no row
    a = tasks["mc-a"]
    assert a["title"] == "Knowledge A"
    assert a["n_samples"] == 4
    assert a["primary_metric"] == "acc"
    assert a["metrics"]["acc"]["value"] == pytest.approx(0.75)
    # sample std (ddof=1) of [1, 0, 1, 1] is 0.5; over sqrt(4)
    assert a["metrics"]["acc"]["stderr"] == pytest.approx(0.25)
    assert a["metrics"]["acc_norm"]["value"] == pytest.approx(0.75)
    b = tasks["mc-b"]
    assert b["primary_metric"] == "acc_norm"
    assert b["metrics"]["acc_norm"]["value"] == pytest.approx(0.5)
    assert b["metrics"]["acc"]["value"] == 0.0
    gen = tasks["gen"]
    assert gen["primary_metric"] == "bleu4"
    bleu = text_metrics.corpus_bleu([h for h, _ in GEN_PAIRS], [r for _, r in GEN_PAIRS], "en")
    assert 0 < bleu < 100
    assert gen["metrics"]["bleu4"]["value"] == pytest.approx(bleu)
    assert gen["metrics"]["bleu4"]["scale"] == 100.0
    rouge = [text_metrics.rouge_l(h, r, "en") for h, r in GEN_PAIRS]
    assert gen["metrics"]["rouge_l"]["value"] == pytest.approx(sum(rouge) / 3)
    ppl = tasks["ppl"]
    assert ppl["metrics"]["token_perplexity"]["value"] == pytest.approx(math.exp(19 / 8))
    assert ppl["metrics"]["bits_per_byte"]["value"] == pytest.approx(19 / 32 / math.log(2))
    assert ppl["metrics"]["bits_per_byte"]["direction"] == "lower"
    assert ppl["metrics"]["bits_per_byte"]["unit"] == "bit/B"
    for t in summary["tasks"]:
        assert "scaled" not in t and "weight" not in t


def test_confidence_intervals_contain_the_value(summary: dict[str, Any]) -> None:
    for task in summary["tasks"]:
        for name, row in task["metrics"].items():
            assert row["n"] == task["n_samples"]
            assert row["ci_low"] is not None and row["ci_high"] is not None, (task["id"], name)
            assert row["ci_low"] <= row["value"] <= row["ci_high"], (task["id"], name)
            ind = indicator(summary, name, task["id"])
            assert ind["value"] == row["value"]
            assert (ind["ci_low"], ind["ci_high"]) == (row["ci_low"], row["ci_high"])
    # A two-item corpus statistic: every resample is one of three values.
    ppl = next(t for t in summary["tasks"] if t["id"] == "ppl")
    row = ppl["metrics"]["token_perplexity"]
    assert math.exp(2.0) - 1e-9 <= row["ci_low"] <= row["ci_high"] <= math.exp(3.0) + 1e-9


def test_dimension_rollup_and_overall(summary: dict[str, Any]) -> None:
    dims = {d["id"]: d for d in summary["dimensions"]}
    assert set(dims) == {"knowledge", "language_generation", "language_modeling"}
    knowledge = (2.0 * 0.75 + 1.0 * 0.5) / 3.0
    bleu = text_metrics.corpus_bleu([h for h, _ in GEN_PAIRS], [r for _, r in GEN_PAIRS], "en")
    generation = bleu / 100.0
    assert dims["knowledge"]["score"] == pytest.approx(knowledge)
    assert dims["knowledge"]["weight"] == pytest.approx(3.0)
    assert dims["knowledge"]["tasks"] == ["mc-a", "mc-b"]
    assert dims["knowledge"]["name_zh"] == "知识运用"
    assert dims["language_generation"]["score"] == pytest.approx(generation)
    assert dims["language_generation"]["weight"] == pytest.approx(1.5)
    # Perplexity has no fixed scale: shown, not rolled up.
    assert dims["language_modeling"]["score"] is None
    assert dims["language_modeling"]["weight"] == 0
    overall = (3.0 * knowledge + 1.5 * generation) / 4.5
    assert summary["overall"]["score"] == pytest.approx(overall)
    assert "Weighted mean" in summary["overall"]["method"]
    assert indicator(summary, "overall_score", "run")["value"] == pytest.approx(overall)
    assert indicator(summary, "overall_score", "run")["n"] == 4 + 2 + 3 + 2
    dim_ind = indicator(summary, "dimension_score.knowledge", "knowledge")
    assert dim_ind["value"] == pytest.approx(knowledge)
    assert dim_ind["name_zh"] == "知识运用得分"
    assert (
        indicator(summary, "dimension_score.language_modeling", "language_modeling")["value"]
        is None
    )
    assert summary["notes"] == ["Not rolled up into dimension scores (no fixed scale): ppl."]


def test_efficiency_indicators(summary: dict[str, Any]) -> None:
    recs = build_records()
    tokens_in = (30 + 31 + 32 + 33) + 2 * 20 + 3 * 12 + (5 + 3) + 1
    tokens_out = 3 * 7
    seconds = 4 * 0.1 + 2 * 0.2 + 3 * 0.3 + 2 * 0.05
    requests = 4 * 3 + 2 * 4 + 3 * 1 + 2 * 1
    eff = summary["extra"]["efficiency"]
    assert eff["tokens_in"] == tokens_in
    assert eff["tokens_out"] == tokens_out
    assert eff["requests"] == requests
    assert eff["model_seconds"] == pytest.approx(seconds)
    assert eff["latency_per_sample_ms"] == pytest.approx(1000 * seconds / len(recs))
    assert eff["tokens_per_second"] == pytest.approx((tokens_in + tokens_out) / seconds)
    for ind in EFFICIENCY_INDICATORS:
        row = indicator(summary, ind.id, "run")
        assert row["value"] == pytest.approx(eff[ind.id])
        assert row["n"] == len(recs)
    assert indicator(summary, "latency_per_sample_ms", "run")["direction"] == "lower"


def test_samples_are_ordered_and_carry_numeric_scores(summary: dict[str, Any]) -> None:
    samples = summary["samples"]
    assert [s["sample_id"] for s in samples if s["task"] == "mc-a"] == [
        f"mc-a-{i}" for i in range(4)
    ]
    gen = [s for s in samples if s["task"] == "gen"]
    assert all(set(s["scores"]) == {"rouge_l"} for s in gen)  # BLEU statistics are lists
    assert gen[0]["data"]["usage"]["tokens_out"] == 7
    assert "prompt" not in gen[0]["data"]


def test_no_scored_tasks_gives_no_overall() -> None:
    suite = {"tasks": [{"id": "ppl", "type": "perplexity", "metrics": ["bits_per_byte"]}]}
    recs = [record("ppl", 0, {"bits_per_byte": [-8.0, 4, 2, 10]}, {"seconds": 0.0})]
    out = LLMStandard().summarize(suite, {}, recs)
    assert out["overall"]["score"] is None
    assert out["tasks"][0]["metrics"]["bits_per_byte"]["value"] == pytest.approx(0.8 / math.log(2))
    # One item: the CI collapses onto the value, no stderr.
    row = out["tasks"][0]["metrics"]["bits_per_byte"]
    assert row["ci_low"] == row["ci_high"] == row["value"]
    assert row["stderr"] is None
    assert out["extra"]["efficiency"]["tokens_per_second"] == 0.0


def test_report_says_which_samples_it_kept() -> None:
    """A 400-item task used to show "200 / 200"-style counts with no word that 300 were cut."""
    from pingce.llm.standard import SAMPLES_PER_TASK_IN_REPORT

    suite = {"tasks": [SUITE["tasks"][0], SUITE["tasks"][1]]}
    recs = [
        record("mc-a", i, {"acc": float(i % 2), "acc_norm": 1.0}, {"tokens_in": 1})
        for i in reversed(range(400))
    ]
    recs += [record("mc-b", i, {"acc": 1.0, "acc_norm": 1.0}, {"tokens_in": 1}) for i in range(3)]
    out = LLMStandard().summarize(suite, {"options": {"seed": 7}}, recs)
    kept = out["extra"]["samples_kept"]
    assert kept == {
        "mc-a": {"kept": SAMPLES_PER_TASK_IN_REPORT, "total": 400},
        "mc-b": {"kept": 3, "total": 3},
    }
    shown = [s["sample_id"] for s in out["samples"] if s["task"] == "mc-a"]
    assert shown == [f"mc-a-{i}" for i in range(SAMPLES_PER_TASK_IN_REPORT)]  # first by position
    (note,) = [n for n in out["notes"] if "sample table keeps" in n]
    assert "mc-a 100 of 400" in note and "mc-b" not in note and "--records" in note
    # the score still uses all 400
    assert {t["id"]: t for t in out["tasks"]}["mc-a"]["n_samples"] == 400
