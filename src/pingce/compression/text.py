"""A small text-classification task for compression tests: a topic corpus, a hashed-character
tokenizer and a zoo model (`zoo:text-topic`) trained on it deterministically.

The corpus is generated from fixed templates: short English and Chinese sentences in four
topic classes (sports, food, weather, technology). Tokens are character bigrams hashed
(CRC-32) into TEXT_VOCAB buckets, id 0 = padding, so any text (any script) has ids.
`zoo:text-topic` is resolved by `load_model_ref` (the compression commands use it), not added
to the conversion zoo's list. The model is an embedding bag (masked mean of token embeddings) followed by two Linear layers,
so dynamic INT8 (Linear weights) and FP16 both apply to it.
"""

from __future__ import annotations

import os
import zlib
from typing import Any

import numpy as np

TOPICS = ("sports", "food", "weather", "technology")
TEXT_VOCAB = 2048  # hash buckets (id 0 is padding)
TEXT_SEQ = 48  # tokens per text (bigrams; longer texts are cut)
TEXT_TRAIN_STEPS = 150
TEXT_SEED = 20261128
TEXT_VERSION = 1

_WORDS: dict[str, tuple[list[str], list[str]]] = {
    "sports": (
        [
            "the team won the match",
            "a goal in the final minute",
            "the coach praised the players",
            "she ran the marathon",
            "the referee gave a red card",
            "fans cheered at the stadium",
        ],
        [
            "球队赢得了比赛",
            "最后一分钟进球",
            "教练表扬了球员",
            "她跑完了马拉松",
            "裁判出示红牌",
            "球迷在体育场欢呼",
        ],
    ),
    "food": (
        [
            "the soup tastes delicious",
            "he baked fresh bread",
            "a spicy noodle dinner",
            "the chef cooked rice and fish",
            "we ate dumplings for lunch",
            "sweet cake with tea",
        ],
        [
            "这碗汤很好喝",
            "他烤了新鲜的面包",
            "一顿辣的面条晚餐",
            "厨师做了米饭和鱼",
            "我们午饭吃饺子",
            "甜蛋糕配茶",
        ],
    ),
    "weather": (
        [
            "heavy rain is expected tomorrow",
            "the sky is clear and sunny",
            "a cold wind from the north",
            "snow covered the city",
            "the storm brought thunder",
            "hot and humid afternoon",
        ],
        [
            "明天预计有大雨",
            "天空晴朗阳光明媚",
            "北方吹来冷风",
            "大雪覆盖了城市",
            "暴风雨带来雷声",
            "炎热潮湿的下午",
        ],
    ),
    "technology": (
        [
            "the new phone has a faster chip",
            "engineers released the software update",
            "the computer crashed again",
            "a robot learns from data",
            "the network server is down",
            "the app uses machine learning",
        ],
        [
            "新手机有更快的芯片",
            "工程师发布了软件更新",
            "电脑又死机了",
            "机器人从数据中学习",
            "网络服务器宕机了",
            "这个应用使用机器学习",
        ],
    ),
}
_PREFIX = (["", "today ", "news: ", "i heard that "], ["", "今天", "新闻：", "听说"])
_SUFFIX = (["", " again", " this week", "!"], ["", "了", "。", "！"])


def topic_corpus(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """`n` generated sentences (half English, half Chinese) and their topic ids, seeded."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = int(rng.integers(len(TOPICS)))
        lang = i % 2
        words = _WORDS[TOPICS[label]][lang]
        a, b = rng.choice(len(words), size=2, replace=False)
        sep = " and " if lang == 0 else "，"
        body = words[a] + (sep + words[b] if rng.random() < 0.5 else "")
        pre = _PREFIX[lang][int(rng.integers(4))]
        suf = _SUFFIX[lang][int(rng.integers(4))]
        texts.append(pre + body + suf)
        labels.append(label)
    return texts, np.array(labels, dtype=np.int64)


def encode(texts: list[str], seq: int = TEXT_SEQ) -> np.ndarray:
    """Hashed character bigrams: int64 [len(texts), seq], ids in [1, TEXT_VOCAB), 0 = padding."""
    out = np.zeros((len(texts), seq), dtype=np.int64)
    for row, text in enumerate(texts):
        t = " " + text.lower() + " "
        ids = [1 + zlib.crc32(t[j : j + 2].encode()) % (TEXT_VOCAB - 1) for j in range(len(t) - 1)]
        ids = ids[:seq]
        out[row, : len(ids)] = ids
    return out


def topic_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(tokens_train, y_train, tokens_test, y_test): 1200 training and 300 held-out sentences."""
    tr_text, y_tr = topic_corpus(1200, TEXT_SEED)
    te_text, y_te = topic_corpus(300, TEXT_SEED + 1)
    return encode(tr_text), y_tr, encode(te_text), y_te


def topic_inputs(batch: int, seq_len: int = 0, seed: int = 0) -> dict[str, np.ndarray]:
    """The first `batch` held-out sentences (wrapping around) as the model input `tokens`,
    cut or zero-padded to `seq_len` tokens when it is > 0 (TEXT_SEQ otherwise)."""
    _, _, x_te, _ = topic_split()
    x = x_te[(np.arange(batch) + seed) % len(x_te)]
    if seq_len > 0:
        x = np.pad(x, ((0, 0), (0, max(0, seq_len - x.shape[1]))))[:, :seq_len]
    return {"tokens": np.ascontiguousarray(x)}


def _module() -> Any:
    import torch

    class TextTopic(torch.nn.Module):
        """Embedding bag (masked mean) -> Linear(64, 64) -> ReLU -> Linear(64, 4)."""

        def __init__(self) -> None:
            super().__init__()
            self.emb = torch.nn.Embedding(TEXT_VOCAB, 64, padding_idx=0)
            self.fc1 = torch.nn.Linear(64, 64)
            self.fc2 = torch.nn.Linear(64, len(TOPICS))

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            mask = (tokens != 0).unsqueeze(-1).to(self.emb.weight.dtype)
            summed = (self.emb(tokens) * mask).sum(1)
            pooled = summed / mask.sum(1).clamp(min=1.0)
            return self.fc2(torch.relu(self.fc1(pooled)))

    torch.manual_seed(TEXT_SEED)
    return TextTopic()


def train_text_topic() -> Any:
    """TEXT_TRAIN_STEPS single-threaded Adam steps (batch 64, lr 1e-2) on the topic corpus."""
    import torch

    x_tr, y_tr, _, _ = topic_split()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same float sums, the same weights everywhere
    try:
        model = _module()
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        rng = np.random.default_rng(TEXT_SEED)
        xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
        model.train()
        for _ in range(TEXT_TRAIN_STEPS):
            idx = torch.from_numpy(rng.integers(0, len(x_tr), size=64))
            loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    return model.eval()


def text_topic() -> Any:
    """The trained text-topic model, cached under PINGCE_CACHE/zoo (built on first use, < 2 s)."""
    import torch

    from pingce.core.paths import cache_root

    path = cache_root() / "zoo" / f"text-topic-v{TEXT_VERSION}.pt"
    if path.is_file():
        model = _module()
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()
    model = train_text_topic()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, path)  # atomic: a concurrent builder never sees half a file
    return model


def load_model_ref(ref: str, threads: int | None = None) -> Any:
    """`pingce.models.loaded.load_model`, plus `zoo:text-topic` (kept out of the
    conversion zoo's list so its zoo-wide sweep is unchanged)."""
    from pingce.models.loaded import TorchModel, load_model, parse_model_ref

    if ref.strip() != "zoo:text-topic":
        return load_model(ref, threads=threads)
    import torch

    if threads:
        torch.set_num_threads(threads)
    return TorchModel(
        text_topic(), parse_model_ref(ref.strip()), ["tokens"], ["logits"], "text-topic"
    )
