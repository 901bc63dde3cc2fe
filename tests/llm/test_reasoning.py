"""Reasoning blocks removed before answer filters, on hand-made outputs and the demo model.

References: the expected splits are written by hand from the documented rule (every
`open…close` block is cut out, an output that starts inside a block ends it at the first
closing tag, an unterminated block empties the answer); token counts are checked against the
model's own tokenizer loaded with transformers' `AutoTokenizer`, independently of pingce.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pingce.core.errors import SpecError
from pingce.core.spec import Suite, SuiteSpec, TaskSpec
from pingce.llm.reasoning import cut_at_stops, split_reasoning
from pingce.llm.tasks.base import RunSettings
from pingce.llm.tasks.generative import GenerativeTask

THINK = [("<think>", "</think>")]
FP = {"backend": "hf", "model": "demo", "digest": "abc"}


def test_split_closed_blocks_by_hand() -> None:
    s = split_reasoning("<think>a\n\nb</think> 42", THINK)
    assert (s.answer, s.reasoning, s.truncated) == (" 42", "<think>a\n\nb</think>", False)
    s = split_reasoning("x<think>1</think>y<think>2</think>z", THINK)
    assert (s.answer, s.reasoning, s.truncated) == (
        "xyz",
        "<think>1</think><think>2</think>",
        False,
    )
    s = split_reasoning("no thinking here", THINK)
    assert (s.answer, s.reasoning, s.truncated) == ("no thinking here", "", False)
    # Several tag pairs: the leftmost opening tag decides which closing tag ends the block.
    tags = [("<think>", "</think>"), ("<reasoning>", "</reasoning>")]
    s = split_reasoning("<reasoning>r</think>r</reasoning>A<think>t</think>B", tags)
    assert (s.answer, s.reasoning) == ("AB", "<reasoning>r</think>r</reasoning><think>t</think>")


def test_split_unterminated_and_started_inside_by_hand() -> None:
    # The budget ran out while thinking: the answer is empty, never the reasoning text.
    s = split_reasoning("Sure.<think>the answer is 42 because", THINK)
    assert (s.answer, s.reasoning, s.truncated) == ("", "<think>the answer is 42 because", True)
    # A template that opened the block in the prompt: the output starts inside it.
    s = split_reasoning("thinking...</think>The answer: 7", THINK)
    assert (s.answer, s.reasoning, s.truncated) == ("The answer: 7", "thinking...</think>", False)
    assert cut_at_stops("42\n\nQuestion: next", ["\n\n", "Question:"]) == "42"
    assert cut_at_stops("42", []) == "42"


def _suite(base: Path, task: dict[str, Any], defaults: dict[str, Any] | None = None) -> Suite:
    spec = SuiteSpec.model_validate(
        {"standard": "llm", "name": "t", "defaults": defaults or {}, "tasks": [task]}
    )
    return Suite(spec=spec, source=str(base / "suite.yaml"), base_dir=base, sha256="0")


def _task(base: Path, defaults: dict[str, Any] | None = None, **fields: Any) -> GenerativeTask:
    (base / "gen.jsonl").write_text(
        '{"id": "a", "question": "2+2?", "answer": "4"}\n', encoding="utf-8"
    )
    task = {
        "id": "t",
        "type": "generative",
        "dataset": {"path": "gen.jsonl"},
        "prompt": "Question: {{ question }}\nAnswer:",
        **fields,
    }
    return GenerativeTask(TaskSpec.model_validate(task), _suite(base, task, defaults))


def test_reasoning_field_validation_and_suite_default(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="reasoning"):
        _task(tmp_path, reasoning={"strip": True, "budget": 10})
    with pytest.raises(SpecError, match="reasoning"):
        _task(tmp_path, reasoning={"tags": []})
    # The suite's defaults set it for every generative task; a task's own value wins.
    task = _task(tmp_path, defaults={"reasoning": {"budget_tokens": 100}})
    assert task.params.reasoning is not None and task.params.reasoning.budget_tokens == 100
    own = _task(
        tmp_path, defaults={"reasoning": {"budget_tokens": 100}}, reasoning={"strip": False}
    )
    assert own.params.reasoning is not None and own.params.reasoning.budget_tokens is None
    (unit,) = task.units(RunSettings(), FP)
    # The budget comes on top of the answer's 64 tokens; stop strings move to the answer.
    assert unit.payload["params"]["max_new_tokens"] == 164
    assert unit.payload["params"]["until"] == []
    assert unit.payload["reasoning"] == {"tags": [["<think>", "</think>"]], "until": ["\n\n"]}


@pytest.fixture(scope="module")
def lm(tiny_model_dir: Path) -> Any:
    pytest.importorskip("torch")
    from pingce.backends.hf import HFCausalLM

    return HFCausalLM(str(tiny_model_dir), device="cpu", dtype="float32", batch_size=8, threads=2)


def test_budget_and_max_new_tokens_apply_on_the_demo_model(
    tmp_path: Path, lm: Any, tiny_model_dir: Path
) -> None:
    """The demo model never stops on its own (it writes spaces), so every generation runs to
    its token limit: max_new_tokens alone, then max_new_tokens + budget_tokens."""
    from transformers import AutoTokenizer

    plain = _task(tmp_path, generation={"max_new_tokens": 4, "until": []})
    (out,) = plain.process(lm, plain.units(RunSettings(), FP))
    assert out.data["usage"]["tokens_out"] == 4
    assert "reasoning_tokens" not in out.data["usage"]
    # A block opened by a space that never closes: the budget ran out while "thinking".
    think = _task(
        tmp_path,
        generation={"max_new_tokens": 4, "until": []},
        reasoning={"tags": [[" ", "</think>"]], "budget_tokens": 6},
    )
    (out,) = think.process(lm, think.units(RunSettings(), FP))
    usage = out.data["usage"]
    assert usage["tokens_out"] == 10
    assert out.data["reasoning_truncated"] is True
    assert out.data["extracted"] == "" and out.scores["exact_match"] == 0.0
    assert out.data["reasoning"].startswith(" ")
    assert out.data["output"].endswith(out.data["reasoning"])
    n_reasoning = len(
        AutoTokenizer.from_pretrained(str(tiny_model_dir)).encode(out.data["reasoning"])
    )
    assert usage["reasoning_tokens"] == min(10, n_reasoning)
    assert usage["answer_tokens"] == 10 - usage["reasoning_tokens"]
