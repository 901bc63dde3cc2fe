"""The three large-model task types on hand-made datasets and the real demo model.

References: multiple-choice accuracies are recomputed by hand from the returned
loglikelihoods with lm-evaluation-harness's definitions (`acc`: argmax of the
loglikelihoods; `acc_norm`: argmax of loglikelihood / len(choice) in characters; the bytes
variant divides by len(choice.encode("utf-8"))). Few-shot contexts follow lm-eval's
`fewshot_context` (description + shots joined by the few-shot delimiter + delimiter +
prompt). Perplexity statistics follow lm-eval's `weighted_perplexity` (exp(-Σll / Σn)) and
`bits_per_byte` (-Σll / Σbytes / ln 2).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from pingce.core.errors import DataError, SpecError
from pingce.core.spec import Suite, SuiteSpec, TaskSpec
from pingce.llm import text_metrics
from pingce.llm.metrics import (
    bits_per_byte,
    byte_perplexity,
    get_metric,
    token_perplexity,
    word_perplexity,
)
from pingce.llm.prompts import select_fewshot
from pingce.llm.tasks.base import RunSettings
from pingce.llm.tasks.generative import GenerativeTask
from pingce.llm.tasks.multiple_choice import MultipleChoiceTask
from pingce.llm.tasks.perplexity import PerplexityTask

THREADS = 2  # torch threads for the demo model
FP = {"backend": "hf", "model": "demo", "digest": "abc"}


@pytest.fixture(scope="module")
def lm(tiny_model_dir: Path) -> Any:
    pytest.importorskip("torch")
    from pingce.backends.hf import HFCausalLM

    return HFCausalLM(
        str(tiny_model_dir), device="cpu", dtype="float32", batch_size=8, threads=THREADS
    )


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def make_task(cls: type, base_dir: Path, **fields: Any) -> Any:
    task = {"id": "t", "type": cls.type_name, **fields}
    spec = SuiteSpec.model_validate({"standard": "llm", "name": "test", "tasks": [task]})
    suite = Suite(spec=spec, source=str(base_dir / "suite.yaml"), base_dir=base_dir, sha256="0")
    return cls(TaskSpec.model_validate(task), suite)


def argmax(values: list[float]) -> int:
    """First index of the maximum (numpy.argmax's tie-break, as lm-eval uses)."""
    return values.index(max(values))


# ---- multiple choice ----------------------------------------------------------------------
PLANETS = ["Venus", "Mars", "Jupiter"]
MC_ROWS = [
    {
        "id": "q1",
        "question": "Which planet is known as the Red Planet?",
        "choices": PLANETS,
        "answer": 1,
    },
    {"id": "q2", "question": "Which planet is red?", "choices": PLANETS, "answer": "1"},
    {"id": "q3", "question": "Name the red planet.", "choices": PLANETS, "answer": "B"},
    {"id": "q4", "question": "红色的行星是哪一颗？", "choices": PLANETS, "answer": "Mars"},
    {
        # Very different lengths: acc and acc_norm pick different choices.
        "id": "q5",
        "question": "Which planet is known as the Red Planet?",
        "choices": [
            "A",
            "the fourth planet from the sun, which looks red because of iron oxide dust",
        ],
        "answer": 1,
    },
    {
        # 3-byte characters: per-character and per-byte normalisation disagree.
        "id": "q6",
        "question": "Which planet is known as the Red Planet?",
        "choices": ["北京市", "Beijing"],
        "answer": 0,
    },
]


@pytest.fixture
def mc_task(tmp_path: Path) -> MultipleChoiceTask:
    write_jsonl(tmp_path / "mc.jsonl", MC_ROWS)
    return make_task(
        MultipleChoiceTask,
        tmp_path,
        dataset={"path": "mc.jsonl"},
        prompt="Question: {{ question }}\nAnswer:",
        metrics=["acc", "acc_norm", "acc_norm_bytes"],
    )


def test_mc_units_are_deterministic_and_keyed(mc_task: MultipleChoiceTask, tmp_path: Path) -> None:
    units = mc_task.units(RunSettings(), FP)
    again = mc_task.units(RunSettings(), FP)
    keys = [u.key for u in units]
    assert keys == [u.key for u in again]
    assert len(set(keys)) == len(MC_ROWS)
    assert [u.sample_id for u in units] == [r["id"] for r in MC_ROWS]
    assert [u.position for u in units] == list(range(len(MC_ROWS)))
    other_model = mc_task.units(RunSettings(), {**FP, "digest": "def"})
    assert not set(keys) & {u.key for u in other_model}
    reworded = make_task(
        MultipleChoiceTask,
        tmp_path,
        dataset={"path": "mc.jsonl"},
        prompt="Q: {{ question }}\nA:",
        metrics=["acc", "acc_norm", "acc_norm_bytes"],
    )
    assert not set(keys) & {u.key for u in reworded.units(RunSettings(), FP)}
    limited = mc_task.units(RunSettings(limit=2), FP)
    assert [u.key for u in limited] == keys[:2]


def test_mc_gold_as_index_digit_letter_and_text(mc_task: MultipleChoiceTask) -> None:
    units = mc_task.units(RunSettings(), FP)
    assert [u.payload["gold"] for u in units[:4]] == [1, 1, 1, 1]
    first = units[0].payload
    assert first["context"] == "Question: Which planet is known as the Red Planet?\nAnswer:"
    assert first["continuations"] == [" Venus", " Mars", " Jupiter"]
    assert first["choices"] == PLANETS


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (3, "gold index 3 is out of range for 3 choices"),
        ("7", "gold index 7 is out of range"),
        ("Z", "gold index 25 is out of range"),
        ("-1", "gold index -1 is out of range"),
        ("Pluto", "neither an index, a letter nor a choice"),
        (True, "is not an index"),
    ],
)
def test_mc_bad_gold_is_a_data_error_naming_the_row(
    tmp_path: Path, answer: Any, message: str
) -> None:
    rows = [
        {"id": "ok", "question": "q", "choices": PLANETS, "answer": 0},
        {"id": "bad7", "question": "q", "choices": PLANETS, "answer": answer},
    ]
    write_jsonl(tmp_path / "bad.jsonl", rows)
    task = make_task(
        MultipleChoiceTask, tmp_path, dataset={"path": "bad.jsonl"}, prompt="{{ question }}"
    )
    with pytest.raises(DataError) as info:
        task.units(RunSettings(), FP)
    assert "bad.jsonl: row 2 (id bad7)" in info.value.message
    assert message in info.value.message


def test_mc_missing_or_empty_choices_are_data_errors(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.jsonl", [{"id": "x", "question": "q", "answer": 0}])
    task = make_task(
        MultipleChoiceTask, tmp_path, dataset={"path": "a.jsonl"}, prompt="{{ question }}"
    )
    with pytest.raises(DataError, match=r"row 1 \(id x\): missing field 'choices'"):
        task.units(RunSettings(), FP)
    write_jsonl(tmp_path / "b.jsonl", [{"id": "y", "question": "q", "choices": [], "answer": 0}])
    task = make_task(
        MultipleChoiceTask, tmp_path, dataset={"path": "b.jsonl"}, prompt="{{ question }}"
    )
    with pytest.raises(DataError, match="non-empty list"):
        task.units(RunSettings(), FP)


def test_mc_choice_templates(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "t.jsonl",
        [
            {
                "id": "1",
                "sentence": "The sky is",
                "option1": "blue",
                "option2": "green",
                "label": "2",
            }
        ],
    )
    task = make_task(
        MultipleChoiceTask,
        tmp_path,
        dataset={"path": "t.jsonl"},
        prompt="{{ sentence }}",
        choices=["{{ option1 }}", "{{ option2 }}"],
        target="{{ label | int - 1 }}",
    )
    (unit,) = task.units(RunSettings(), FP)
    assert unit.payload["choices"] == ["blue", "green"]
    assert unit.payload["gold"] == 1


def test_mc_scores_match_hand_computation(mc_task: MultipleChoiceTask, lm: Any) -> None:
    units = mc_task.units(RunSettings(), FP)
    outcomes = mc_task.process(lm, units)
    assert len(outcomes) == len(units)
    for unit, out in zip(units, outcomes, strict=True):
        p = unit.payload
        lls = out.data["loglikelihoods"]
        # The loglikelihoods are the model's own, request by request.
        alone = lm.loglikelihood([(p["context"], c) for c in p["continuations"]])
        assert lls == pytest.approx([r.logprob for r in alone], abs=1e-4)
        chars = [ll / len(c) for ll, c in zip(lls, p["choices"], strict=True)]
        nbytes = [ll / len(c.encode("utf-8")) for ll, c in zip(lls, p["choices"], strict=True)]
        gold = p["gold"]
        assert out.scores == {
            "acc": float(argmax(lls) == gold),
            "acc_norm": float(argmax(chars) == gold),
            "acc_norm_bytes": float(argmax(nbytes) == gold),
        }
        assert out.data["gold"] == gold
        assert out.data["output"] == p["choices"][argmax(lls)]
        assert out.data["reference"] == p["choices"][gold]
        usage = out.data["usage"]
        assert usage["requests"] == len(p["choices"])
        assert usage["tokens_in"] == sum(r.n_context_tokens + r.n_tokens for r in alone)
        assert usage["tokens_out"] == 0
    # q5: the short choice has the higher total, the long one the higher per-character score.
    q5 = outcomes[4]
    lls = q5.data["loglikelihoods"]
    assert lls[0] > lls[1]
    assert lls[1] / len(MC_ROWS[4]["choices"][1]) > lls[0] / 1
    assert (q5.scores["acc"], q5.scores["acc_norm"]) == (0.0, 1.0)
    # q6: per character the 3-character Chinese choice loses, per byte (9 bytes) it wins.
    q6 = outcomes[5]
    lls = q6.data["loglikelihoods"]
    assert lls[0] / 3 < lls[1] / 7 and lls[0] / 9 > lls[1] / 7
    assert (q6.scores["acc_norm"], q6.scores["acc_norm_bytes"]) == (0.0, 1.0)


def test_mc_fewshot_context_like_lm_eval(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "mc.jsonl", MC_ROWS[:4])
    dev = [
        {
            "id": f"d{i}",
            "question": f"Dev question {i}?",
            "choices": ["x", "y", "z"],
            "answer": i % 3,
        }
        for i in range(5)
    ]
    write_jsonl(tmp_path / "dev.jsonl", dev)
    task = make_task(
        MultipleChoiceTask,
        tmp_path,
        dataset={"path": "mc.jsonl", "fewshot_path": "dev.jsonl"},
        prompt="Q: {{ question }}\nA:",
        description="The following are questions about astronomy.\n\n",
        num_fewshot=2,
        fewshot_delimiter="\n\n",
        target_delimiter=" ",
    )
    units = task.units(RunSettings(seed=7), FP)
    for unit, row in zip(units, MC_ROWS[:4], strict=True):
        shots = select_fewshot(dev, 2, 7, row["id"])
        a, b = shots
        expected = (
            "The following are questions about astronomy.\n\n"
            f"Q: {a['question']}\nA: {a['choices'][a['answer']]}"
            "\n\n"
            f"Q: {b['question']}\nA: {b['choices'][b['answer']]}"
            "\n\n"
            f"Q: {row['question']}\nA:"
        )
        assert unit.payload["context"] == expected
    # The run-wide num_fewshot override wins, and changes the keys.
    zero = task.units(RunSettings(seed=7, num_fewshot=0), FP)
    assert zero[0].payload["context"] == (
        "The following are questions about astronomy.\n\nQ: Which planet is known as the Red Planet?\nA:"
    )
    assert zero[0].key != units[0].key


@pytest.mark.parametrize("with_ids", [True, False])
def test_fewshot_from_the_eval_split_excludes_the_sample(tmp_path: Path, with_ids: bool) -> None:
    rows = [
        {"id": f"s{i}", "question": f"Question number {i}?", "choices": ["a", "b"], "answer": 0}
        for i in range(4)
    ]
    if not with_ids:  # sample ids are then positions; the row must still never be its own shot
        rows = [{k: v for k, v in r.items() if k != "id"} for r in rows]
    write_jsonl(tmp_path / "mc.jsonl", rows)
    task = make_task(
        MultipleChoiceTask,
        tmp_path,
        dataset={"path": "mc.jsonl"},
        prompt="{{ question }}",
        num_fewshot=3,
    )
    units = task.units(RunSettings(), FP)
    assert [u.sample_id for u in units] == ([r["id"] for r in rows] if with_ids else list("0123"))
    for unit, row in zip(units, rows, strict=True):
        context = unit.payload["context"]
        assert context.endswith(row["question"])
        assert context.count(row["question"]) == 1  # never its own example
        assert all(r["question"] in context for r in rows)


def test_limit_does_not_change_fewshot_from_the_eval_split(tmp_path: Path) -> None:
    """--limit N evaluates the first N samples exactly as the full run does (same shots, same
    keys), and a limit smaller than the shot count still finds enough examples."""
    rows = [
        {"id": f"s{i}", "question": f"Question number {i}?", "choices": ["a", "b"], "answer": 0}
        for i in range(8)
    ]
    write_jsonl(tmp_path / "mc.jsonl", rows)
    task = make_task(
        MultipleChoiceTask,
        tmp_path,
        dataset={"path": "mc.jsonl"},
        prompt="{{ question }}",
        num_fewshot=3,
    )
    full = task.units(RunSettings(), FP)
    for limit in (1, 2, 5):
        limited = task.units(RunSettings(limit=limit), FP)
        assert [u.key for u in limited] == [u.key for u in full[:limit]]
        assert [u.payload for u in limited] == [u.payload for u in full[:limit]]


# ---- generative ---------------------------------------------------------------------------
GEN_PROMPTS = [
    "小明有3个苹果",
    "Water moves around our planet",
    "小明有3个苹果",
    "天空是什么颜色？",
]


def _gen_task(base: Path, rows: list[dict[str, Any]], **fields: Any) -> GenerativeTask:
    write_jsonl(base / "gen.jsonl", rows)
    return make_task(
        GenerativeTask,
        base,
        dataset={"path": "gen.jsonl"},
        prompt="{{ question }}",
        generation={"max_new_tokens": 10, "until": ["\n\n"]},
        **fields,
    )


def test_generative_filters_and_metrics(tmp_path: Path, lm: Any) -> None:
    """Reference: the filter pipeline redone by hand; scores recomputed with
    `pingce.llm.text_metrics` (itself checked against sacrebleu/rouge-score/SQuAD in
    test_text_metrics) on the produced outputs."""
    metrics = ["exact_match", "normalized_match", "precision", "recall", "f1", "bleu4", "rouge_l"]
    filters = [{"name": "take_until", "stops": ["."]}, "strip"]
    rows = [
        {"id": f"g{i}", "question": q, "answer": "placeholder"} for i, q in enumerate(GEN_PROMPTS)
    ]
    first = _gen_task(tmp_path, rows, filters=filters, metrics=metrics)
    outs = first.process(lm, first.units(RunSettings(), FP))
    extracted = [o.data["extracted"] for o in outs]
    for out in outs:
        # The filter pipeline by hand: text before the first ".", then stripped.
        assert out.data["extracted"] == out.data["output"].split(".")[0].strip()
    # Second pass: references built from what the model said, so the scores are not all zero.
    assert text_metrics.tokenize(extracted[2], "zh"), extracted
    refs = [
        [extracted[0]],  # exact
        [extracted[1].upper() + "!", "unrelated"],  # normalized match only
        [extracted[2] + "只猫"],  # partial overlap (precision 1, recall below 1)
        ["完全不同的答案"],
    ]
    rows2 = [
        {"id": f"g{i}", "question": q, "answer": r, "language": "en" if i == 1 else "zh"}
        for i, (q, r) in enumerate(zip(GEN_PROMPTS, refs, strict=True))
    ]
    second = _gen_task(tmp_path, rows2, filters=filters, metrics=metrics)
    outs2 = second.process(lm, second.units(RunSettings(), FP))
    for out, ref, row in zip(outs2, refs, rows2, strict=True):
        ans = out.data["extracted"]
        lang = row["language"]
        prf = max((text_metrics.token_prf(ans, r, lang) for r in ref), key=lambda t: t[2])
        assert out.scores == {
            "exact_match": text_metrics.exact_match(ans, ref),
            "normalized_match": text_metrics.normalized_match(ans, ref),
            "precision": prf[0],
            "recall": prf[1],
            "f1": prf[2],
            "bleu4": text_metrics.bleu_stats(ans, ref, lang),
            "rouge_l": text_metrics.rouge_l(ans, ref, lang),
        }
        assert out.data["reference"] == " | ".join(ref)
    assert [o.data["output"] for o in outs2] == [o.data["output"] for o in outs]
    assert outs2[0].scores["exact_match"] == 1.0
    assert outs2[1].scores["exact_match"] == 0.0
    assert outs2[1].scores["normalized_match"] == 1.0
    assert outs2[2].scores["precision"] == 1.0
    assert 0.0 < outs2[2].scores["recall"] < 1.0
    assert 0.0 < outs2[2].scores["rouge_l"] < 1.0
    assert outs2[3].scores["exact_match"] == 0.0
    for out in outs2:
        usage = out.data["usage"]
        assert usage["requests"] == 1
        assert usage["tokens_out"] <= 10
        assert out.data["finish_reason"] in {"stop", "length"}


def test_generative_fewshot_with_fewshot_target(tmp_path: Path) -> None:
    dev = [
        {
            "id": f"d{i}",
            "question": f"What is {i} + {i}?",
            "solution": f"{i} + {i} = {2 * i}. The answer is {2 * i}.",
            "answer": str(2 * i),
        }
        for i in range(1, 6)
    ]
    write_jsonl(tmp_path / "dev.jsonl", dev)
    rows = [{"id": "t1", "question": "What is 7 + 8?", "answer": "15"}]
    write_jsonl(tmp_path / "gen.jsonl", rows)
    task = make_task(
        GenerativeTask,
        tmp_path,
        dataset={"path": "gen.jsonl", "fewshot_path": "dev.jsonl"},
        prompt="Question: {{ question }}\nAnswer:",
        description="Solve the arithmetic.\n\n",
        num_fewshot=2,
        fewshot_delimiter="\n###\n",
        target_delimiter=" ",
        fewshot_target="{{ solution }}",
    )
    (unit,) = task.units(RunSettings(seed=3), FP)
    a, b = select_fewshot(dev, 2, 3, "t1")
    assert unit.payload["context"] == (
        "Solve the arithmetic.\n\n"
        f"Question: {a['question']}\nAnswer: {a['solution']}\n###\n"
        f"Question: {b['question']}\nAnswer: {b['solution']}\n###\n"
        "Question: What is 7 + 8?\nAnswer:"
    )
    assert unit.payload["references"] == ["15"]
    assert unit.payload["params"] == {
        "max_new_tokens": 64,
        "until": ["\n\n"],
        "temperature": 0.0,
        "top_p": 1.0,
        "seed": 3,
    }
    # Without fewshot_target the shot's answer is its first reference.
    plain = make_task(
        GenerativeTask,
        tmp_path,
        dataset={"path": "gen.jsonl", "fewshot_path": "dev.jsonl"},
        prompt="Question: {{ question }}\nAnswer:",
        num_fewshot=1,
    )
    (unit,) = plain.units(RunSettings(seed=3), FP)
    (shot,) = select_fewshot(dev, 1, 3, "t1")
    assert unit.payload["context"] == (
        f"Question: {shot['question']}\nAnswer: {shot['answer']}\n\nQuestion: What is 7 + 8?\nAnswer:"
    )


def test_generative_missing_reference_is_a_data_error(tmp_path: Path) -> None:
    task = _gen_task(tmp_path, [{"id": "x", "question": "q"}])
    with pytest.raises(DataError, match=r"row 1 \(id x\): missing field 'answer'"):
        task.units(RunSettings(), FP)
    task = _gen_task(tmp_path, [{"id": "y", "question": "q", "answer": []}])
    with pytest.raises(DataError, match="no reference answers"):
        task.units(RunSettings(), FP)


def test_generative_chat_template(tmp_path: Path, lm: Any) -> None:
    write_jsonl(tmp_path / "dev.jsonl", [{"id": "d1", "question": "1+1?", "answer": "2"}])
    write_jsonl(
        tmp_path / "gen.jsonl", [{"id": "c1", "question": "天空是什么颜色？", "answer": "蓝色"}]
    )
    task = make_task(
        GenerativeTask,
        tmp_path,
        dataset={"path": "gen.jsonl", "fewshot_path": "dev.jsonl"},
        prompt="{{ question }}",
        description="Answer briefly. ",
        num_fewshot=1,
        chat_template=True,
        system_prompt="You are terse.",
        generation={"max_new_tokens": 4},
    )
    (unit,) = task.units(RunSettings(), FP)
    assert "context" not in unit.payload
    assert unit.payload["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Answer briefly. 1+1?"},
        {"role": "assistant", "content": "2"},
        {"role": "user", "content": "Answer briefly. 天空是什么颜色？"},
    ]
    (out,) = task.process(lm, [unit])
    assert out.data["prompt"] == (
        "<|im_start|>system\nYou are terse.<|im_end|>\n"
        "<|im_start|>user\nAnswer briefly. 1+1?<|im_end|>\n"
        "<|im_start|>assistant\n2<|im_end|>\n"
        "<|im_start|>user\nAnswer briefly. 天空是什么颜色？<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_metric_not_allowed_for_the_task_type(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "gen.jsonl", [{"id": "x", "question": "q", "answer": "a"}])
    with pytest.raises(SpecError, match="'acc' is not a metric of a generative task"):
        _gen_task(tmp_path, [{"id": "x", "question": "q", "answer": "a"}], metrics=["acc"])
    with pytest.raises(SpecError, match="primary_metric"):
        _gen_task(
            tmp_path,
            [{"id": "x", "question": "q", "answer": "a"}],
            metrics=["f1"],
            primary_metric="rouge_l",
        )


# ---- perplexity ---------------------------------------------------------------------------
PPL_TEXTS = [
    "Water moves around our planet in a never-ending cycle.",
    "天空是蓝色的。  The  sky\tis blue.\n",
    "Numbers: 12345 and 678.",
]
# Hand counts: lm-eval's words are the pieces of re.split(r"\s+", text) (a trailing newline
# gives an empty last piece); bytes are UTF-8 bytes (a CJK character is 3 bytes).
PPL_WORDS = [9, 6, 4]
PPL_BYTES = [54, 7 * 3 + 20, 23]


def test_perplexity_items_and_statistics(tmp_path: Path, lm: Any) -> None:
    write_jsonl(
        tmp_path / "ppl.jsonl", [{"id": str(i), "text": t} for i, t in enumerate(PPL_TEXTS)]
    )
    task = make_task(PerplexityTask, tmp_path, dataset={"path": "ppl.jsonl"})
    assert task.metric_names == [
        "word_perplexity",
        "byte_perplexity",
        "bits_per_byte",
        "token_perplexity",
    ]
    outs = task.process(lm, task.units(RunSettings(), FP))
    items = []
    for text, words, nbytes, out in zip(PPL_TEXTS, PPL_WORDS, PPL_BYTES, outs, strict=True):
        (rolling,) = lm.loglikelihood_rolling([text])
        item = out.scores["bits_per_byte"]
        assert all(out.scores[m] == item for m in task.metric_names)
        assert item[0] == pytest.approx(rolling.logprob, abs=1e-4)
        assert item[1:] == [len(lm.tok_encode(text)), words, nbytes]
        assert out.data["logprob"] == item[0]
        assert out.data["usage"]["tokens_in"] == item[1]
        items.append(item)
    lp = sum(i[0] for i in items)
    toks, words, nbytes = sum(i[1] for i in items), sum(PPL_WORDS), sum(PPL_BYTES)
    assert token_perplexity(items) == pytest.approx(math.exp(-lp / toks), rel=1e-12)
    assert word_perplexity(items) == pytest.approx(math.exp(-lp / words), rel=1e-12)
    assert byte_perplexity(items) == pytest.approx(math.exp(-lp / nbytes), rel=1e-12)
    assert bits_per_byte(items) == pytest.approx(-lp / nbytes / math.log(2), rel=1e-12)
    assert bits_per_byte(items) == pytest.approx(math.log2(byte_perplexity(items)), rel=1e-12)
    for name in task.metric_names:
        assert get_metric(name).direction == "lower"
        assert get_metric(name).statistic is not None


def test_perplexity_statistics_by_hand() -> None:
    items = [[-10.0, 5, 2, 20], [-6.0, 3, 2, 12]]
    assert token_perplexity(items) == pytest.approx(math.exp(16 / 8))
    assert word_perplexity(items) == pytest.approx(math.exp(16 / 4))
    assert byte_perplexity(items) == pytest.approx(math.exp(16 / 32))
    assert bits_per_byte(items) == pytest.approx(0.5 / math.log(2))
    # An untrained model's huge loss saturates to inf instead of raising OverflowError.
    assert token_perplexity([[-1e6, 1, 1, 1]]) == math.inf


def test_perplexity_refuses_fewshot(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "ppl.jsonl", [{"id": "0", "text": "x"}])
    with pytest.raises(SpecError, match="num_fewshot"):
        make_task(PerplexityTask, tmp_path, dataset={"path": "ppl.jsonl"}, num_fewshot=1)
