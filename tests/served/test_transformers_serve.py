"""The openai backend against a real `transformers serve` of the tiny model (chat and
completions, streamed and not).

Reference: pingce's hf backend running the same model files locally with greedy decoding;
for chat, the hf backend renders the model's own chat template (as the server does) before
generating. `transformers serve` ignores echo/logprobs, so scoring loglikelihoods must stop
with an error naming that limitation.
"""

from __future__ import annotations

import pytest

from pingce.backends.base import GenerationParams, GenerationRequest
from pingce.backends.hf import HFCausalLM
from pingce.backends.openai import open_openai
from pingce.backends.served import ServedGeneration, chat_request
from pingce.core.errors import ModelError
from pingce.core.spec import parse_subject

PROMPTS = ["The cat sat on the", "Question: What is 2 + 3?\nAnswer:", "天气很好，我们"]


@pytest.fixture(scope="module")
def hf(tiny_model_dir) -> HFCausalLM:
    return HFCausalLM(str(tiny_model_dir), device="cpu", dtype="float32", batch_size=1)


def _lm(tserve, tiny_model_dir, **options):
    subject = parse_subject(f"openai://127.0.0.1:{tserve.port}/v1?model={tiny_model_dir}")
    return open_openai(subject, {"concurrency": 2, **options})


@pytest.mark.parametrize("stream", [True, False])
def test_completions_match_local_greedy_generation(tserve, tiny_model_dir, hf, stream) -> None:
    params = GenerationParams(max_new_tokens=8, until=())
    lm = _lm(tserve, tiny_model_dir, stream=stream)
    got = lm.generate([GenerationRequest(p, params) for p in PROMPTS])
    ref = hf.generate([GenerationRequest(p, params) for p in PROMPTS])
    assert [g.text for g in got] == [r.text for r in ref]
    for g, r in zip(got, ref, strict=True):
        assert isinstance(g, ServedGeneration) and g.usage_source == "server"
        assert g.tokens_in == r.tokens_in and g.finish_reason == r.finish_reason
        # One definition of tokens_out for both (issue 16): the EOS token stopped on counts.
        assert g.tokens_out == r.tokens_out
        if stream:
            assert g.ttft_s is not None and 0 < g.ttft_s <= g.seconds
            assert list(g.token_times_s) == sorted(g.token_times_s)
    lm.close()


def test_chat_matches_local_chat_template_generation(tserve, tiny_model_dir, hf) -> None:
    params = GenerationParams(max_new_tokens=6, until=())
    chats = [[{"role": "user", "content": p}] for p in PROMPTS[:2]]
    lm = _lm(tserve, tiny_model_dir)
    got = lm.generate([chat_request(c, params) for c in chats])
    ref = hf.generate([GenerationRequest(hf.chat_prompt(c), params) for c in chats])
    # The server decodes without special tokens and strips nothing else: compare as text.
    assert [g.text.strip() for g in got] == [r.text.strip() for r in ref]
    for g, r in zip(got, ref, strict=True):
        assert g.tokens_out == r.tokens_out  # one definition for both backends (issue 16)
    lm.close()


def test_loglikelihood_names_the_servers_limitation(tserve, tiny_model_dir) -> None:
    lm = _lm(tserve, tiny_model_dir)
    with pytest.raises(ModelError, match="ignores echo=true/logprobs") as info:
        lm.loglikelihood([("The cat", " sat")])
    assert "option_letter" in (info.value.hint or "")
    lm.close()
