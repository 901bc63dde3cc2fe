"""The demo model: its tokenizer loads as transformers' Qwen2Tokenizer and encodes exactly as
the trained `tokenizers` BPE does, and building it is deterministic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from pingce.llm.demo_model import (  # noqa: E402
    CHAT_TEMPLATE,
    DEMO_MODEL_VERSION,
    SEED,
    SPECIAL_TOKENS,
    TRAIN_STEPS,
    build_demo_model,
)

SAMPLES = [
    "Water moves around our planet in a never-ending cycle.",
    "It's the model's job; we'll see what they've done, isn't it?",
    "天空是蓝色的。小明有3个苹果，吃了1个，还剩几个？",
    "中文和English混合的句子, with punctuation！",
    "1234567890 3.14159 -42 1,000,000 2026-11-28",
    "  leading spaces",
    "trailing spaces   ",
    "tabs\tand\t\tmore\ttabs",
    "line one\nline two\r\n\r\nline four\n\n\n",
    "    indented code:\n        return x  # comment\n",
    " \n \t \n",
    "emoji 🙂 and symbols ©®™ and accents café naïve",
]


@pytest.fixture(scope="module")
def tokenizers_pair(tiny_model_dir: Path):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    loaded = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    raw = Tokenizer.from_file(str(tiny_model_dir / "tokenizer.json"))
    return loaded, raw


def test_loads_as_qwen2_tokenizer(tokenizers_pair) -> None:  # type: ignore[no-untyped-def]
    loaded, _ = tokenizers_pair
    assert type(loaded).__name__ == "Qwen2Tokenizer"
    assert loaded.eos_token == "<|endoftext|>"
    assert loaded.pad_token == "<|endoftext|>"
    assert loaded.bos_token is None
    assert loaded.chat_template == CHAT_TEMPLATE


@pytest.mark.parametrize("text", SAMPLES)
def test_round_trip(tokenizers_pair, text: str) -> None:  # type: ignore[no-untyped-def]
    loaded, raw = tokenizers_pair
    ids = loaded.encode(text, add_special_tokens=False)
    assert ids == raw.encode(text).ids  # same ids as the trained BPE
    assert loaded.encode(text) == ids  # no BOS/EOS added by default
    assert loaded.decode(ids) == text
    assert raw.decode(ids, skip_special_tokens=False) == text


def test_qwen2_pretokenization(tokenizers_pair) -> None:  # type: ignore[no-untyped-def]
    """Qwen2 splits numbers into single digits and keeps special tokens whole."""
    loaded, _ = tokenizers_pair
    digits = loaded.encode("1234567890", add_special_tokens=False)
    assert [loaded.decode([i]) for i in digits] == list("1234567890")
    for tok in SPECIAL_TOKENS:
        assert loaded.encode(tok, add_special_tokens=False) == [loaded.convert_tokens_to_ids(tok)]
    chat = "<|im_start|>user\nhi<|im_end|>\n"
    ids = loaded.encode(chat, add_special_tokens=False)
    assert ids[0] == loaded.convert_tokens_to_ids("<|im_start|>")
    assert loaded.decode(ids) == chat
    assert loaded.decode(ids, skip_special_tokens=True) == "user\nhi\n"


def test_demo_metadata(tiny_model_dir: Path) -> None:
    meta = json.loads((tiny_model_dir / "pingce-demo.json").read_text(encoding="utf-8"))
    assert meta["version"] == DEMO_MODEL_VERSION
    assert meta["train_steps"] == TRAIN_STEPS
    assert meta["seed"] == SEED
    assert len(meta["corpus_hash"]) == 32
    config = json.loads((tiny_model_dir / "config.json").read_text(encoding="utf-8"))
    assert config["model_type"] == "qwen2"
    assert config["vocab_size"] <= 2048
    for name in ("model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (tiny_model_dir / name).is_file()


@pytest.mark.slow
def test_build_is_bit_identical(tmp_path: Path, tiny_model_dir: Path) -> None:
    """Two builds in one process (global RNG and thread state must not leak between them)."""
    import torch

    threads = torch.get_num_threads()
    a, b = tmp_path / "a", tmp_path / "b"
    build_demo_model(a)
    build_demo_model(b)
    assert torch.get_num_threads() == threads  # the build restores the thread count
    weights = (a / "model.safetensors").read_bytes()
    assert weights == (b / "model.safetensors").read_bytes()
    # ...and identical to the session's cached build.
    assert weights == (tiny_model_dir / "model.safetensors").read_bytes()
    for name in ("tokenizer.json", "tokenizer_config.json", "config.json", "pingce-demo.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
