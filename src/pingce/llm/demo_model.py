"""The demo model: a tiny Qwen2 causal LM built and trained locally, with no hub access.

A byte-level BPE tokenizer is trained with the `tokenizers` library on text shipped in the
package, using the same normalizer and pre-tokenizer that transformers' `Qwen2Tokenizer`
applies when it loads the folder, so encodings round-trip after `from_pretrained`. The model
is randomly initialised from a fixed seed and trained for a fixed number of steps on one
thread, so the same pingce version builds the same weights on every machine. It is tiny and
barely trained: near-chance scores are expected; it exists to show the pipeline end to end.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from importlib.resources import files
from pathlib import Path

from pingce.core.errors import ModelError
from pingce.core.fingerprint import content_hash
from pingce.core.paths import cache_root

# Bump when anything below changes, so cached demo models are rebuilt.
DEMO_MODEL_VERSION = 1
VOCAB_SIZE = 2048
TRAIN_STEPS = 60
SEQ_LEN = 64
BATCH = 8
SEED = 20261128

# Qwen2Tokenizer's pre-tokenization pattern (transformers' tokenization_qwen2).
QWEN2_PRETOKENIZE = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
    r"""\s*[\r\n]+|\s+(?!\S)|\s+"""
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def training_texts() -> list[str]:
    """The demo corpus plus every text field of the built-in llm sample data."""
    texts = [(files("pingce.llm") / "demo_corpus.txt").read_text(encoding="utf-8")]
    data_dir = Path(str(files("pingce") / "suites" / "llm" / "data"))
    for path in sorted(data_dir.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.extend(_strings(json.loads(line)))
    return texts


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def build_tokenizer(texts: list[str]):  # type: ignore[no-untyped-def]
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def demo_model_dir() -> Path:
    return cache_root() / "models" / f"demo-qwen2-v{DEMO_MODEL_VERSION}"


def ensure_demo_model(log: bool = False) -> Path:
    """The cached demo model folder, built on first use (about 10-30 s on 2 cores)."""
    target = demo_model_dir()
    if (target / "config.json").is_file() and (target / "pingce-demo.json").is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    except OSError as exc:
        raise ModelError(
            f"cannot write the demo model cache {target.parent}: {exc.strerror}"
        ) from None
    try:
        build_demo_model(work)
        if target.exists():
            shutil.rmtree(target)
        os.replace(work, target)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return target


def build_demo_model(out: Path) -> None:
    import torch
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    texts = training_texts()
    raw_tok = build_tokenizer(texts)
    hf_tok = PreTrainedTokenizerFast(
        tokenizer_object=raw_tok,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
    )
    hf_tok.chat_template = CHAT_TEMPLATE
    hf_tok.model_max_length = 1024
    hf_tok.save_pretrained(out)
    # Make transformers load it back as Qwen2Tokenizer, the class real Qwen2 models use.
    cfg_path = out / "tokenizer_config.json"
    tok_cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    tok_cfg["tokenizer_class"] = "Qwen2Tokenizer"
    cfg_path.write_text(json.dumps(tok_cfg, ensure_ascii=False, indent=2), encoding="utf-8")

    config = Qwen2Config(
        vocab_size=raw_tok.get_vocab_size(),
        hidden_size=64,
        intermediate_size=176,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        eos_token_id=raw_tok.token_to_id("<|endoftext|>"),
        pad_token_id=raw_tok.token_to_id("<|endoftext|>"),
        bos_token_id=None,
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same summation order on every machine
    try:
        torch.manual_seed(SEED)
        model = Qwen2ForCausalLM(config)
        stream: list[int] = []
        eos = config.eos_token_id
        for text in texts:
            stream.extend(raw_tok.encode(text).ids + [eos])
        data = torch.tensor(stream, dtype=torch.long)
        gen = torch.Generator().manual_seed(SEED)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
        model.train()
        for _ in range(TRAIN_STEPS):
            starts = torch.randint(0, len(data) - SEQ_LEN - 1, (BATCH,), generator=gen)
            batch = torch.stack([data[s : s + SEQ_LEN] for s in starts.tolist()])
            loss = model(input_ids=batch, labels=batch).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
    finally:
        torch.set_num_threads(threads)
    model.generation_config.max_new_tokens = None
    model.save_pretrained(out)
    (out / "pingce-demo.json").write_text(
        json.dumps(
            {
                "version": DEMO_MODEL_VERSION,
                "train_steps": TRAIN_STEPS,
                "seed": SEED,
                "corpus_hash": content_hash(texts),
                "note": "tiny, barely trained demo model: near-chance scores are expected",
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    check_round_trip(out, raw_tok, texts[1:60])


def check_round_trip(folder: Path, raw_tok: object, samples: list[str]) -> None:
    """transformers must encode exactly as the trained tokenizer does (see module docstring)."""
    from transformers import AutoTokenizer

    loaded = AutoTokenizer.from_pretrained(folder)
    for text in samples:
        want = raw_tok.encode(text).ids  # type: ignore[attr-defined]
        got = loaded.encode(text, add_special_tokens=False)
        if want != got:
            raise ModelError(
                f"demo tokenizer does not round-trip through {type(loaded).__name__}: {text[:40]!r}"
            )
        if loaded.decode(got) != text:
            raise ModelError(f"demo tokenizer does not decode back: {text[:40]!r}")
