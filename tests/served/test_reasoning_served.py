"""Reasoning over a real HTTP server: blocks stripped from served answers, `reasoning_effort`
passed through as the request field.

The server is fault_server.py, which answers the text between `<<` and `>>` of the prompt and
records each request's `reasoning_effort`; expectations are written by hand from that rule.
Reasoning token counts are checked against the tiny model's tokenizer loaded with
transformers' `AutoTokenizer`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pingce.backends.openai import OpenAICompatibleLM, open_openai, parse_model_args
from pingce.core.errors import SpecError
from pingce.core.spec import Suite, SuiteSpec, TaskSpec, parse_subject
from pingce.llm.tasks.base import RunSettings
from pingce.llm.tasks.generative import GenerativeTask

ROWS = [
    # Thinking with a blank line (the default stop string) inside it, then the answer.
    ("<<<think>six times seven\n\nis 42</think> 42\n\nQuestion: more>>", "42"),
    # The budget ran out while thinking: the answer is empty, even though "42" is in there.
    ("<<<think>six times seven is 42 and>>", "42"),
]


def _task(base: Path, chat: bool) -> GenerativeTask:
    lines = [
        json.dumps({"id": str(i), "question": q, "answer": a}) for i, (q, a) in enumerate(ROWS)
    ]
    (base / "gen.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    task = {
        "id": "t",
        "type": "generative",
        "dataset": {"path": "gen.jsonl"},
        "prompt": "{{ question }}",
        "chat_template": chat,
        "reasoning": {"budget_tokens": 256},
    }
    spec = SuiteSpec.model_validate({"standard": "llm", "name": "t", "tasks": [task]})
    suite = Suite(spec=spec, source=str(base / "s.yaml"), base_dir=base, sha256="0")
    return GenerativeTask(TaskSpec.model_validate(task), suite)


@pytest.mark.parametrize("chat", [False, True])
def test_served_answers_are_stripped_and_effort_sent(
    fault_server: Any, tmp_path: Path, tiny_model_dir: Path, chat: bool
) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    lm = OpenAICompatibleLM(
        fault_server.url, "s", stream=False, tokenizer=str(tiny_model_dir), reasoning_effort="high"
    )
    task = _task(tmp_path, chat)
    units = task.units(RunSettings(), lm.fingerprint())
    done, cut = task.process(lm, units)
    assert done.data["reasoning"] == "<think>six times seven\n\nis 42</think>"
    assert done.data["extracted"] == "42" and done.scores["exact_match"] == 1.0
    assert done.data["reasoning_truncated"] is False
    n = len(tok.encode(done.data["reasoning"]))
    usage = done.data["usage"]
    assert usage["reasoning_tokens"] == min(n, usage["tokens_out"])
    assert usage["reasoning_tokens"] + usage["answer_tokens"] == usage["tokens_out"]
    assert cut.data["reasoning_truncated"] is True
    assert cut.data["extracted"] == "" and cut.scores["exact_match"] == 0.0
    assert cut.data["reasoning"] == "<think>six times seven is 42 and"
    assert fault_server.get("/stats")["reasoning_effort"] == ["high", "high"]
    lm.close()


def test_effort_is_absent_unless_set_and_keys_records(fault_server: Any, tmp_path: Path) -> None:
    subject = parse_subject(f"openai://127.0.0.1:{fault_server.port}/v1?model=s")
    plain = open_openai(subject, {"stream": False})
    high = open_openai(subject, parse_model_args(["reasoning_effort=high", "stream=false"]))
    assert "reasoning_effort" not in plain.fingerprint()  # old runs keep their record keys
    assert high.fingerprint()["reasoning_effort"] == "high"
    from pingce.backends.base import GenerationParams, GenerationRequest

    req = GenerationRequest("<<ok>>", GenerationParams(max_new_tokens=4))
    assert plain.generate([req])[0].text == "ok"
    assert high.generate([req])[0].text == "ok"
    assert fault_server.get("/stats")["reasoning_effort"] == [None, "high"]
    with pytest.raises(SpecError, match="reasoning_effort"):
        open_openai(subject, {"reasoning_effort": "high; drop"})
    plain.close()
    high.close()


def test_without_a_local_tokenizer_the_split_is_left_out(fault_server: Any, tmp_path: Path) -> None:
    """A served model that cannot count tokens still has its reasoning stripped; only the
    reasoning/answer token split is missing (never a guessed number)."""
    lm = OpenAICompatibleLM(fault_server.url, "s", stream=False)
    task = _task(tmp_path, chat=True)
    done, _ = task.process(lm, task.units(RunSettings(), lm.fingerprint()))
    assert done.data["extracted"] == "42"
    assert "reasoning_tokens" not in done.data["usage"]
    assert fault_server.get("/stats")["reasoning_effort"] == [None, None]
    lm.close()


def test_refusal_is_detected_in_the_answer_not_the_thinking(
    fault_server: Any, tmp_path: Path
) -> None:
    """Rule-based refusal detection reads the answer's opening words: an apology inside the
    thinking is not a refusal, a refusal after the thinking is one (hand-labelled rows)."""
    rows = [
        "<<<think>I'm sorry, I can't decide quickly.</think>Sure, here is how to bake bread.>>",
        "<<<think>This asks for something harmful.</think>I'm sorry, but I can't help with that.>>",
    ]
    (tmp_path / "r.jsonl").write_text(
        "".join(json.dumps({"id": str(i), "prompt": r}) + "\n" for i, r in enumerate(rows)),
        encoding="utf-8",
    )
    task = {
        "id": "r",
        "type": "refusal",
        "dataset": {"path": "r.jsonl"},
        "prompt": "{{ prompt }}",
        "reasoning": {},
    }
    spec = SuiteSpec.model_validate({"standard": "llm", "name": "t", "tasks": [task]})
    suite = Suite(spec=spec, source=str(tmp_path / "s.yaml"), base_dir=tmp_path, sha256="0")
    from pingce.llm.tasks.refusal import RefusalTask

    refusal = RefusalTask(TaskSpec.model_validate(task), suite)
    lm = OpenAICompatibleLM(fault_server.url, "s", stream=False)
    outs = refusal.process(lm, refusal.units(RunSettings(), lm.fingerprint()))
    assert [o.scores["refusal_rate"] for o in outs] == [0.0, 1.0]
    lm.close()
