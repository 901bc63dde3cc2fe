"""HFCausalLM against naive references computed directly with the transformers model.

Every loglikelihood check compares the backend with `naive_loglikelihood`: one full forward
pass over `context + continuation`, `log_softmax`, `gather` (what lm-evaluation-harness's
`HFLM._loglikelihood_tokens` does for one request without batching). Rolling windows are
checked against a transcription of lm-eval's `get_rolling_token_windows` +
`make_disjoint_window` (lm_eval/utils.py), and generation against `model.generate` called
directly.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from pingce.backends.base import GenerationParams, GenerationRequest  # noqa: E402
from pingce.backends.hf import HFCausalLM, model_files_digest  # noqa: E402
from pingce.core.errors import ModelError  # noqa: E402

TOL = 1e-4
# torch threads for every instance (a 2-core machine; 1 is faster when the cores are busy).
THREADS = 2

LONG_TEXT = (
    "Water moves around our planet in a never-ending cycle. Heat from the sun warms lakes, "
    "rivers and the sea, and some of the water evaporates into the air as invisible vapour. "
    "As the warm, moist air rises it cools, and the vapour condenses into tiny droplets."
)


# ---- fixtures -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def make_lm(tiny_model_dir: Path) -> Callable[..., HFCausalLM]:
    """HFCausalLM instances on the demo model, one per distinct set of options."""
    cache: dict[tuple[Any, ...], HFCausalLM] = {}

    def make(path: Path | None = None, **options: Any) -> HFCausalLM:
        opts = {"device": "cpu", "dtype": "float32", "batch_size": 3, "threads": THREADS, **options}
        key = (str(path or tiny_model_dir), *sorted(opts.items()))
        if key not in cache:
            cache[key] = HFCausalLM(str(path or tiny_model_dir), **opts)
        return cache[key]

    return make


@pytest.fixture(scope="module")
def lm(make_lm: Callable[..., HFCausalLM]) -> HFCausalLM:
    return make_lm()


@pytest.fixture(scope="module")
def model_copy(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable:
    """A fresh copy of the demo model folder (to edit without touching the shared one)."""

    def copy(name: str) -> Path:
        dst = tmp_path_factory.mktemp("models") / name
        shutil.copytree(tiny_model_dir, dst)
        return dst

    return copy


# ---- naive references ---------------------------------------------------------------------
_NAIVE: dict[tuple[str, tuple[int, ...], tuple[int, ...]], tuple[float, bool]] = {}


def naive_loglikelihood(lm: HFCausalLM, ctx: list[int], cont: list[int]) -> tuple[float, bool]:
    """One full forward over ctx + cont; sum of the continuation tokens' log-probabilities.

    Memoised per weights digest (instances with other batch sizes share the weights)."""
    key = (lm.fingerprint()["digest"], tuple(ctx), tuple(cont))
    if key not in _NAIVE:
        _NAIVE[key] = _naive_loglikelihood(lm, ctx, cont)
    return _NAIVE[key]


def _naive_loglikelihood(lm: HFCausalLM, ctx: list[int], cont: list[int]) -> tuple[float, bool]:
    seq = torch.tensor([ctx + cont])
    with torch.inference_mode():
        logits = lm.model(input_ids=seq).logits[0].float()
    logp = torch.log_softmax(logits, dim=-1)[len(ctx) - 1 : len(ctx) + len(cont) - 1]
    target = torch.tensor(cont)
    total = float(logp.gather(1, target[:, None]).sum())
    return total, bool((logp.argmax(dim=-1) == target).all())


def greedy_tokens(lm: HFCausalLM, ctx: list[int], n: int) -> list[int]:
    seq = list(ctx)
    with torch.inference_mode():
        for _ in range(n):
            logits = lm.model(input_ids=torch.tensor([seq])).logits[0, -1]
            seq.append(int(logits.argmax()))
    return seq[len(ctx) :]


def lm_eval_rolling_windows(
    tokens: list[int], prefix: int, max_seq_len: int, context_len: int = 1
) -> list[tuple[list[int], list[int]]]:
    """lm-eval's get_rolling_token_windows followed by make_disjoint_window."""
    windows: list[tuple[list[int], list[int]]] = []
    if not tokens:
        return windows
    pred_len = max_seq_len - context_len + 1
    first = min(max_seq_len, len(tokens))
    windows.append(([prefix] + tokens[: first - 1], tokens[:first]))
    predicted = first
    while predicted < len(tokens):
        window_pred_len = min(len(tokens) - predicted, pred_len)
        window_end = predicted + window_pred_len
        windows.append(
            (
                tokens[window_end - max_seq_len - 1 : window_end - 1],
                tokens[window_end - window_pred_len : window_end],
            )
        )
        predicted += window_pred_len
    return [(a[: len(a) - (len(b) - 1)], b) for a, b in windows]


def direct_generate(
    lm: HFCausalLM, prompt_ids: list[int], max_new_tokens: int
) -> tuple[str, int, bool]:
    """model.generate(do_sample=False) called directly; (text, new tokens before EOS, hit EOS)."""
    ids = torch.tensor([prompt_ids])
    eos = lm.tokenizer.eos_token_id
    with torch.inference_mode():
        out = lm.model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            do_sample=False,
            max_new_tokens=max_new_tokens,
            eos_token_id=eos,
            pad_token_id=eos,
        )
    new = out[0, ids.shape[1] :].tolist()
    hit = eos in new
    if hit:
        new = new[: new.index(eos)]
    return lm.tokenizer.decode(new, skip_special_tokens=True), len(new), hit


# ---- loglikelihood with prefix sharing ----------------------------------------------------
GROUPS: list[tuple[str, list[str]]] = [
    (
        "Question: Which planet is known as the Red Planet?\nAnswer:",
        [" Mars", " Venus is the second planet from the sun", " J"],
    ),
    ("问题：中国的首都是哪座城市？\n答案：", ["北京", "上海是一座很大的城市", "广州"]),
    ("The cat", [" sat", " sat on the mat and purred softly", " sat"]),  # duplicate request
    (LONG_TEXT, [" Then", " Then the droplets fall back to the ground as rain."]),
]


def _interleaved_requests() -> list[tuple[str, str]]:
    """Requests of different groups interleaved, so results must be put back in order."""
    longest = max(len(c) for _, c in GROUPS)
    return [(ctx, conts[i]) for i in range(longest) for ctx, conts in GROUPS if i < len(conts)]


@pytest.mark.parametrize("batch_size", [1, 3])
def test_prefix_sharing_equals_naive_forward(
    make_lm: Callable[..., HFCausalLM], batch_size: int
) -> None:
    model = make_lm(batch_size=batch_size)
    requests = _interleaved_requests()
    results = model.loglikelihood(requests)
    assert len(results) == len(requests)
    lengths = set()
    for (context, continuation), res in zip(requests, results, strict=True):
        ctx, cont = model.encode_pair(context, continuation)
        want, want_greedy = naive_loglikelihood(model, ctx, cont)
        assert res.logprob == pytest.approx(want, abs=TOL), (context[:20], continuation)
        assert res.is_greedy == want_greedy
        assert res.n_tokens == len(cont)
        assert res.n_context_tokens == len(ctx)
        lengths.add(len(cont))
    assert len(lengths) >= 4  # continuations of many different token lengths were exercised
    ctx_lengths = {len(model.encode_pair(c, x)[0]) for c, x in requests}
    assert len(ctx_lengths) == len(GROUPS)  # contexts of different lengths in one batch


def test_prefix_sharing_is_greedy_on_token_level(lm: HFCausalLM) -> None:
    """Greedy continuations (found by argmax of the naive forward) report is_greedy True."""
    ctx = lm.tok_encode("The weather today is")
    other_ctx = lm.tok_encode("问题：一加一等于几？")
    g = greedy_tokens(lm, ctx, 3)
    h = greedy_tokens(lm, other_ctx, 3)
    vocab = lm.model.config.vocab_size
    encoded = [
        (ctx, g),
        (other_ctx, h[:2]),
        (ctx, g[:2] + [(g[2] + 1) % vocab]),
        (ctx, g[:1]),
        (other_ctx, h[:2] + [(h[2] + 1) % vocab]),
        (ctx, []),
    ]
    results = lm.loglikelihood_tokens(encoded)
    assert [r.is_greedy for r in results] == [True, True, False, True, False, True]
    for (c, x), res in zip(encoded[:-1], results[:-1], strict=True):
        assert res.logprob == pytest.approx(naive_loglikelihood(lm, c, x)[0], abs=TOL)
    assert results[-1].logprob == 0.0 and results[-1].n_tokens == 0


def test_empty_context_uses_prefix_token(lm: HFCausalLM) -> None:
    # The demo tokenizer has no BOS, so the prefix token is EOS (as in lm-eval).
    assert lm.tokenizer.bos_token_id is None
    assert lm.prefix_token_id == lm.tokenizer.eos_token_id
    ctx, cont = lm.encode_pair("", "Hello world")
    assert ctx == [lm.prefix_token_id]
    assert cont == lm.tok_encode("Hello world")
    (res,) = lm.loglikelihood([("", "Hello world")])
    assert res.logprob == pytest.approx(naive_loglikelihood(lm, ctx, cont)[0], abs=TOL)


@pytest.mark.parametrize(
    ("context", "continuation"),
    [
        ("Question: 2+2=?\nAnswer: ", "4"),
        ("问题：天空是什么颜色？\n答案：\n\n ", "蓝色"),
        ("The cat\t", "sat"),
    ],
)
def test_encode_pair_moves_trailing_whitespace(
    lm: HFCausalLM, context: str, continuation: str
) -> None:
    """lm-eval's _encode_pair: trailing context whitespace joins the continuation, the pair is
    encoded whole and split at the length of the encoded (stripped) context."""
    stripped = context.rstrip()
    moved = context[len(stripped) :]
    ctx, cont = lm.encode_pair(context, continuation)
    assert ctx == lm.tok_encode(stripped)
    assert cont == lm.tok_encode(context + continuation)[len(ctx) :]
    assert (ctx, cont) == lm.encode_pair(stripped, moved + continuation)
    a, b = lm.loglikelihood([(context, continuation), (stripped, moved + continuation)])
    assert a.logprob == pytest.approx(b.logprob, abs=1e-6)


def test_overflow_left_truncates_like_lm_eval(make_lm: Callable[..., HFCausalLM]) -> None:
    small = make_lm(max_length=32)
    tokens = small.tok_encode(LONG_TEXT)
    assert len(tokens) > 40
    encoded = [
        (tokens[:29], tokens[29:34]),  # 29 + 5 - 1 = 33 > 32: truncated
        (tokens[:28], tokens[28:33]),  # exactly 32 inputs: fits, shared path
        (tokens[:3], tokens[3:5]),
        (tokens[:35], tokens[35:36]),  # single-token continuation, truncated
    ]
    results = small.loglikelihood_tokens(encoded)
    for (ctx, cont), res in zip(encoded, results, strict=True):
        keep = small.max_length + 1 - len(cont)  # lm-eval: (ctx + cont)[-(max_length + 1):]
        want, greedy = naive_loglikelihood(small, ctx[-keep:], cont)
        assert res.logprob == pytest.approx(want, abs=TOL)
        assert res.is_greedy == greedy
    # The truncated pair differs from the full-context score (the truncation is real).
    full = naive_loglikelihood(small, *encoded[0])[0]
    assert abs(results[0].logprob - full) > 1e-3
    # Through the text API as well.
    (res,) = small.loglikelihood([(LONG_TEXT, " Then the droplets fall as rain.")])
    ctx, cont = small.encode_pair(LONG_TEXT, " Then the droplets fall as rain.")
    keep = small.max_length + 1 - len(cont)
    assert res.logprob == pytest.approx(naive_loglikelihood(small, ctx[-keep:], cont)[0], abs=TOL)


# ---- rolling windows and rolling loglikelihood ---------------------------------------------
def test_rolling_windows_hand_checked(make_lm: Callable[..., HFCausalLM]) -> None:
    lm8 = make_lm(max_length=8)
    p = lm8.prefix_token_id
    t = list(range(100, 120))  # 20 tokens
    assert lm8.rolling_windows(t) == [
        ([p], t[0:8]),
        ([t[7]], t[8:16]),
        (t[11:16], t[16:20]),  # the last window keeps the longest context that fits
    ]
    assert lm8.rolling_windows(t[:3]) == [([p], t[:3])]
    assert lm8.rolling_windows(t[:8]) == [([p], t[:8])]
    assert lm8.rolling_windows(t[:9]) == [([p], t[:8]), (t[0:8], [t[8]])]
    assert lm8.rolling_windows([]) == []


@pytest.mark.parametrize("max_length", [1, 2, 3, 8])
def test_rolling_windows_cover_every_token_once(
    make_lm: Callable[..., HFCausalLM], max_length: int
) -> None:
    lm_small = make_lm(max_length=max_length)
    p = lm_small.prefix_token_id
    for n in range(0, 30):
        tokens = list(range(100, 100 + n))
        windows = lm_small.rolling_windows(tokens)
        assert [tok for _, target in windows for tok in target] == tokens
        assert windows == lm_eval_rolling_windows(tokens, p, max_length)
        done = 0
        for ctx, target in windows:
            assert len(ctx) + len(target) - 1 <= max_length
            assert ctx[-1] == ([p] + tokens)[done]  # the token just before the target
            done += len(target)


def test_loglikelihood_rolling_equals_naive_sum(
    lm: HFCausalLM, make_lm: Callable[..., HFCausalLM]
) -> None:
    short = "The sky is blue."
    lm8 = make_lm(max_length=8)
    for model in (lm, lm8):
        p = model.prefix_token_id
        texts = [short, LONG_TEXT, "天空是蓝色的。"]
        results = model.loglikelihood_rolling(texts)
        for text, res in zip(texts, results, strict=True):
            tokens = model.tok_encode(text)
            assert res.n_tokens == len(tokens)
            if model is lm:
                # Shorter than max_length: one full forward from the prefix token.
                assert len(tokens) < model.max_length
                want = naive_loglikelihood(model, [p], tokens)[0]
            else:
                want = sum(
                    naive_loglikelihood(model, c, x)[0]
                    for c, x in lm_eval_rolling_windows(tokens, p, model.max_length)
                )
            assert res.logprob == pytest.approx(want, abs=TOL * 10)
    assert len(lm8.tok_encode(LONG_TEXT)) > 5 * 8  # many windows
    # A text longer than 8 tokens scores differently with less context.
    a = lm.loglikelihood_rolling([LONG_TEXT])[0].logprob
    b = lm8.loglikelihood_rolling([LONG_TEXT])[0].logprob
    assert abs(a - b) > 1e-2


# ---- generation ---------------------------------------------------------------------------
PROMPTS = [
    "Water moves around our planet",
    "小明有3个苹果",
    "Question: What is the capital of France?\nAnswer:",
    "天空是什么颜色？",
    "Translate to French: hello\nOutput:",
    "def add(a, b):",
]


def test_greedy_equals_direct_model_generate(lm: HFCausalLM) -> None:
    params = GenerationParams(max_new_tokens=16)
    reasons = set()
    for prompt in PROMPTS:
        (gen,) = lm.generate([GenerationRequest(prompt, params)])
        ids = lm.tok_encode(prompt)
        text, n_new, hit_eos = direct_generate(lm, ids, 16)
        assert gen.text == text, prompt
        # tokens_out counts the EOS token generation stopped on (issue 16: one definition
        # for the local and the served backends, as servers count it in completion_tokens)
        assert gen.tokens_out == n_new + hit_eos
        assert gen.tokens_in == len(ids)
        assert gen.finish_reason == ("stop" if hit_eos else "length")
        reasons.add(gen.finish_reason)
    assert reasons == {"stop", "length"}  # both EOS and the length limit were exercised


def test_generate_empty_context_starts_from_prefix_token(lm: HFCausalLM) -> None:
    (gen,) = lm.generate([GenerationRequest("", GenerationParams(max_new_tokens=6))])
    assert gen.text == direct_generate(lm, [lm.prefix_token_id], 6)[0]
    assert gen.tokens_in == 1


def test_stop_strings_cut_the_text(lm: HFCausalLM) -> None:
    prompt = "小明有3个苹果"
    (free,) = lm.generate([GenerationRequest(prompt, GenerationParams(max_new_tokens=16))])
    assert free.finish_reason == "length"
    # A stop string taken from the middle of the free output (it may span tokens).
    text = free.text
    start = next(i for i in range(1, len(text)) if not text[i].isspace())
    stop = text[start : start + 2]
    params = GenerationParams(max_new_tokens=16, until=(stop, "never-appears"))
    (gen,) = lm.generate([GenerationRequest(prompt, params)])
    assert gen.text == text[: text.index(stop)]
    assert gen.finish_reason == "stop"
    assert gen.tokens_out < 16  # generation stopped early, not just cut afterwards
    # The earliest of several stop strings wins.
    params = GenerationParams(max_new_tokens=16, until=(text[-3:], stop))
    (gen2,) = lm.generate([GenerationRequest(prompt, params)])
    assert gen2.text == text[: min(text.index(stop), text.index(text[-3:]))]


def test_greedy_batching_does_not_change_outputs(make_lm: Callable[..., HFCausalLM]) -> None:
    requests = [
        GenerationRequest(p, GenerationParams(max_new_tokens=12, until=("\n\n",))) for p in PROMPTS
    ]
    one = make_lm(batch_size=1).generate(requests)
    four = make_lm(batch_size=4).generate(requests)
    assert [g.text for g in one] == [g.text for g in four]
    assert [g.tokens_out for g in one] == [g.tokens_out for g in four]
    assert [g.finish_reason for g in one] == [g.finish_reason for g in four]


def test_sampling_is_seeded_and_independent_of_batch(make_lm: Callable[..., HFCausalLM]) -> None:
    lm4 = make_lm(batch_size=4)
    prompts = PROMPTS[:4]
    sampled = GenerationParams(max_new_tokens=8, temperature=0.9, top_p=0.95, seed=11)
    requests = [GenerationRequest(p, sampled) for p in prompts]
    first = lm4.generate(requests)
    again = lm4.generate(requests)
    assert [g.text for g in first] == [g.text for g in again]
    (alone,) = lm4.generate([requests[2]])
    assert alone.text == first[2].text
    mixed = lm4.generate(
        [
            GenerationRequest(prompts[0], GenerationParams(max_new_tokens=8)),
            GenerationRequest(prompts[1], GenerationParams(max_new_tokens=8, temperature=0.5)),
            requests[2],
        ]
    )
    assert mixed[2].text == first[2].text
    other_seed = GenerationParams(max_new_tokens=8, temperature=0.9, top_p=0.95, seed=12)
    different = lm4.generate([GenerationRequest(p, other_seed) for p in prompts])
    assert [g.text for g in different] != [g.text for g in first]
    greedy = lm4.generate(
        [GenerationRequest(p, GenerationParams(max_new_tokens=8)) for p in prompts]
    )
    assert [g.text for g in greedy] != [g.text for g in first]


def _write_generation_config(folder: Path, **values: Any) -> None:
    path = folder / "generation_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config.update(values)
    path.write_text(json.dumps(config), encoding="utf-8")


def test_saved_generation_config_does_not_override_max_new_tokens(
    lm: HFCausalLM, make_lm: Callable[..., HFCausalLM], model_copy: Callable[[str], Path]
) -> None:
    folder = model_copy("genconfig-max-new-tokens")
    _write_generation_config(folder, max_new_tokens=2, max_length=4)
    copy = make_lm(folder)
    prompt = "Water moves around our planet"
    for params in (
        GenerationParams(max_new_tokens=10),
        GenerationParams(max_new_tokens=10, temperature=0.8, seed=3),
    ):
        (mine,) = copy.generate([GenerationRequest(prompt, params)])
        (ref,) = lm.generate([GenerationRequest(prompt, params)])
        assert mine.tokens_out == ref.tokens_out == 10
        assert mine.finish_reason == "length"
        assert mine.text == ref.text


def test_saved_generation_config_does_not_leak_decoding_settings(
    lm: HFCausalLM, make_lm: Callable[..., HFCausalLM], model_copy: Callable[[str], Path]
) -> None:
    folder = model_copy("genconfig-penalties")
    # What instruction-tuned checkpoints commonly ship (e.g. Qwen2.5-Instruct: top_k 20,
    # repetition_penalty 1.05), exaggerated so the tiny model's output visibly changes.
    _write_generation_config(
        folder, repetition_penalty=3.0, no_repeat_ngram_size=1, top_k=1, do_sample=True
    )
    copy = make_lm(folder)
    for params in (
        GenerationParams(max_new_tokens=10),
        GenerationParams(max_new_tokens=10, temperature=1.0, seed=5),
    ):
        requests = [GenerationRequest(p, params) for p in PROMPTS]
        assert [g.text for g in copy.generate(requests)] == [g.text for g in lm.generate(requests)]


def test_tokens_out_does_not_count_batch_padding(
    make_lm: Callable[..., HFCausalLM], model_copy: Callable[[str], Path]
) -> None:
    folder = model_copy("distinct-pad")
    cfg_path = folder / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg["pad_token"] = "<|im_end|>"
    cfg_path.write_text(json.dumps(cfg), encoding="utf-8")
    batched = make_lm(folder, batch_size=4)
    single = make_lm(folder, batch_size=1)
    assert batched.tokenizer.pad_token_id != batched.tokenizer.eos_token_id
    (free,) = single.generate(
        [GenerationRequest("小明有3个苹果", GenerationParams(max_new_tokens=16))]
    )
    stop = free.text.strip()[1:3]
    params = GenerationParams(max_new_tokens=16, until=(stop,))
    requests = [GenerationRequest("小明有3个苹果", params), GenerationRequest(PROMPTS[0], params)]
    alone = single.generate(requests)
    together = batched.generate(requests)
    assert alone[0].tokens_out < 16
    assert [g.tokens_out for g in together] == [g.tokens_out for g in alone]


def test_generation_truncates_long_prompts_on_the_left(make_lm: Callable[..., HFCausalLM]) -> None:
    small = make_lm(max_length=32)
    (gen,) = small.generate([GenerationRequest(LONG_TEXT, GenerationParams(max_new_tokens=4))])
    ids = small.tok_encode(LONG_TEXT)[-(32 - 4) :]
    assert gen.tokens_in == 28
    assert gen.text == direct_generate(small, ids, 4)[0]
    with pytest.raises(ModelError, match="leaves no room"):
        small.generate([GenerationRequest("x", GenerationParams(max_new_tokens=32))])


# ---- chat template ------------------------------------------------------------------------
def test_chat_prompt_uses_the_models_template(lm: HFCausalLM) -> None:
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "天空是什么颜色？"},
    ]
    assert lm.chat_prompt(messages) == (
        "<|im_start|>system\nYou are terse.<|im_end|>\n"
        "<|im_start|>user\n天空是什么颜色？<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_chat_prompt_without_template_is_a_model_error(
    make_lm: Callable[..., HFCausalLM], model_copy: Callable[[str], Path]
) -> None:
    folder = model_copy("no-chat-template")
    (folder / "chat_template.jinja").unlink()
    cfg = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert "chat_template" not in cfg
    with pytest.raises(ModelError, match="chat template"):
        make_lm(folder).chat_prompt([{"role": "user", "content": "hi"}])


# ---- errors -------------------------------------------------------------------------------
def test_missing_path_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        HFCausalLM(str(tmp_path / "no-such-model"), device="cpu")
    with pytest.raises(ModelError, match="does not exist"):
        HFCausalLM("./no-such-model-folder", device="cpu")


def test_folder_without_config_is_a_model_error(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"\0")
    with pytest.raises(ModelError, match="config.json"):
        HFCausalLM(str(tmp_path), device="cpu")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ModelError, match="config.json"):
        HFCausalLM(str(tmp_path / "file.txt"), device="cpu")


def test_folder_without_weights_is_a_model_error(model_copy: Callable[[str], Path]) -> None:
    folder = model_copy("no-weights")
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelError, match="cannot load model"):
        HFCausalLM(str(folder), device="cpu")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"dtype": "float8"}, "unknown dtype"),
        ({"device": "tpu"}, "unknown device"),
        ({"batch_size": 0}, "batch-size"),
        ({"batch_size": "many"}, "batch-size"),
    ],
)
def test_bad_options_are_model_errors(
    tiny_model_dir: Path, options: dict[str, Any], match: str
) -> None:
    kwargs = {"device": "cpu", "threads": THREADS, **options}
    with pytest.raises(ModelError, match=match):
        HFCausalLM(str(tiny_model_dir), **kwargs)


def test_unavailable_cuda_is_a_model_error(tiny_model_dir: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(ModelError, match="cuda"):
        HFCausalLM(str(tiny_model_dir), device="cuda")


def test_auto_batch_size_and_detected_max_length(make_lm: Callable[..., HFCausalLM]) -> None:
    auto = make_lm(batch_size="auto")
    assert auto.batch_size == 16
    assert auto.max_length == 1024  # max_position_embeddings of the demo config


# ---- fingerprint --------------------------------------------------------------------------
def test_fingerprint_follows_the_weights(
    lm: HFCausalLM, make_lm: Callable[..., HFCausalLM], model_copy: Callable[[str], Path]
) -> None:
    fp = lm.fingerprint()
    assert fp["backend"] == "hf"
    assert fp["dtype"] == "float32"
    assert fp["device"] == "cpu"
    assert fp["max_length"] == 1024
    folder = model_copy("fingerprint")
    copy_fp = make_lm(folder).fingerprint()
    assert copy_fp["digest"] == fp["digest"]  # content, not location
    # Hidden files (e.g. a hub download cache) do not count.
    (folder / ".cache").mkdir()
    (folder / ".cache" / "lock").write_text("x")
    assert model_files_digest(folder) == fp["digest"]
    # Flip one byte of tensor data at the end of the weight file: same size, new content.
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))
    changed = HFCausalLM(str(folder), device="cpu", dtype="float32", threads=THREADS)
    assert changed.fingerprint()["digest"] != fp["digest"]
    assert make_lm(max_length=32).fingerprint()["max_length"] == 32
    assert not math.isnan(changed.loglikelihood([("a", " b")])[0].logprob)
