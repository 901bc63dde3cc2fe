"""Multiple choice through the model's chat template (issue 19 item 2).

Reference: the scored context is compared with transformers' own
`tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)` on
hand-written messages, and each choice's loglikelihood with one computed directly with
transformers and torch (log-softmax of the model's logits over the choice's tokens, the
context and continuation split as lm-eval's `_encode_pair` does, with no target delimiter
after the assistant prefix, as lm-eval does under `--apply_chat_template`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pingce.core.spec import Suite, SuiteSpec, TaskSpec
from pingce.llm.tasks.base import RunSettings
from pingce.llm.tasks.multiple_choice import MultipleChoiceTask

FP = {"backend": "hf", "model": "demo", "digest": "abc"}
# A template of our own (not the demo model's), so the test sees it was used.
TEMPLATE = (
    "{% for m in messages %}### {{ m['role'] | upper }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}### ASSISTANT:{% endif %}"
)
ROWS = [
    {"id": "q1", "question": "Which is a colour?", "choices": ["blue", "seven"], "answer": 0},
    {"id": "q2", "question": "Which is a number?", "choices": ["red", "three"], "answer": "B"},
]
DEV = [{"id": "d1", "question": "Which is an animal?", "choices": ["cat", "car"], "answer": 0}]


def _task(base: Path, **fields: Any) -> MultipleChoiceTask:
    for name, rows in (("mc.jsonl", ROWS), ("dev.jsonl", DEV)):
        (base / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    task = {
        "id": "t",
        "type": "multiple_choice",
        "dataset": {"path": "mc.jsonl", "fewshot_path": "dev.jsonl"},
        "prompt": "Q: {{ question }}",
        **fields,
    }
    spec = SuiteSpec.model_validate({"standard": "llm", "name": "t", "tasks": [task]})
    suite = Suite(spec=spec, source=str(base / "s.yaml"), base_dir=base, sha256="0")
    return MultipleChoiceTask(TaskSpec.model_validate(task), suite)


@pytest.fixture(scope="module")
def chat_lm(tiny_model_dir: Path) -> Any:
    pytest.importorskip("torch")
    from pingce.backends.hf import HFCausalLM

    lm = HFCausalLM(str(tiny_model_dir), device="cpu", dtype="float32", batch_size=4, threads=2)
    lm.tokenizer.chat_template = TEMPLATE  # this instance only
    return lm


def _reference_logprob(model: Any, tok: Any, context: str, choice: str) -> float:
    import torch

    whole = tok.encode(context + choice)
    ctx = tok.encode(context)
    assert whole[: len(ctx)] == ctx  # the split is at a token boundary here
    with torch.no_grad():
        logits = model(torch.tensor([whole])).logits[0].float()
    logp = torch.log_softmax(logits, dim=-1)
    return float(sum(logp[i - 1, whole[i]] for i in range(len(ctx), len(whole))))


def test_mc_scores_choices_after_the_chat_templates_assistant_prefix(
    tmp_path: Path, chat_lm: Any, tiny_model_dir: Path
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    task = _task(
        tmp_path, chat_template=True, system_prompt="Pick one.", num_fewshot=1, description="MC. "
    )
    units = task.units(RunSettings(), FP)
    outs = task.process(chat_lm, units)
    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    tok.chat_template = TEMPLATE
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), torch_dtype="float32")
    for row, out in zip(ROWS, outs, strict=True):
        messages = [
            {"role": "system", "content": "Pick one."},
            {"role": "user", "content": "MC. Q: Which is an animal?"},
            {"role": "assistant", "content": "cat"},
            {"role": "user", "content": f"MC. Q: {row['question']}"},
        ]
        expected = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        assert expected.endswith("### ASSISTANT:")
        assert out.data["prompt"] == expected
        refs = [_reference_logprob(model, tok, expected, c) for c in row["choices"]]
        assert out.data["loglikelihoods"] == pytest.approx(refs, abs=1e-4)
        gold = 0 if row["id"] == "q1" else 1
        assert out.scores["acc"] == float(refs.index(max(refs)) == gold)


def test_mc_chat_template_off_keeps_the_plain_context(tmp_path: Path, chat_lm: Any) -> None:
    task = _task(tmp_path, num_fewshot=1)
    (unit, _) = task.units(RunSettings(), FP)
    assert unit.payload["context"] == "Q: Which is an animal? cat\n\nQ: Which is a colour?"
    assert unit.payload["continuations"] == [" blue", " seven"]
    assert "messages" not in unit.payload
