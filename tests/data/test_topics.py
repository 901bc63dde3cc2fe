"""Topic distribution in the data-quality model (`data_topic_entropy`, the topics section).

References: the theme each test document was written from (agreement measured with
scikit-learn's adjusted_rand_score), and the normalised entropy hand-computed from the reported
shares, -Σ p ln p / ln K.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from sklearn.metrics import adjusted_rand_score

from pingce.core.reporting import build_report_doc
from pingce.core.store import open_store
from pingce.data.cli import evaluate_dataset
from pingce.data.quality.topics import doc_terms, normalised_entropy, topic_distribution
from pingce.data.text import is_punct_token, resolve_language, words

THEMES_EN = {
    "cooking": "recipe oven flour butter sugar garlic onion simmer bake kitchen sauce pepper salt dough roast",
    "astronomy": "telescope galaxy planet orbit star comet nebula astronomer moon eclipse gravity asteroid cosmos solar observatory",
    "football": "goal striker referee penalty match stadium coach league midfielder defender tackle season fans trophy pitch",
}  # fmt: skip
THEMES_ZH = {
    "cooking": "菜谱 烤箱 面粉 黄油 白糖 大蒜 洋葱 炖煮 烘焙 厨房 酱汁 胡椒 食盐 面团 烧烤",
    "astronomy": "望远镜 银河系 行星 轨道 恒星 彗星 星云 天文学家 月球 日食 引力 小行星 宇宙 太阳系 天文台",
    "football": "进球 前锋 裁判 点球 比赛 球场 教练 联赛 中场 后卫 铲球 赛季 球迷 奖杯 草坪",
}  # fmt: skip
TEMPLATES_EN = [
    "The {a} and the {b} were discussed with the {c} today.",
    "Many people think the {a} is closely related to the {b}.",
    "We talked about the {a}, the {b} and the {c} for a long time.",
    "Yesterday the {a} seemed more important than the {b}.",
]
TEMPLATES_ZH = [
    "今天我们讨论了{a}和{b}以及{c}。",
    "很多人认为{a}与{b}有密切关系。",
    "我们花了很长时间谈论{a}、{b}和{c}。",
    "昨天{a}似乎比{b}更加重要。",
]


def write_doc(rng: random.Random, vocab: list[str], zh: bool) -> str:
    templates = TEMPLATES_ZH if zh else TEMPLATES_EN
    sents = [
        rng.choice(templates).format(a=rng.choice(vocab), b=rng.choice(vocab), c=rng.choice(vocab))
        for _ in range(rng.randint(3, 6))
    ]
    return ("" if zh else " ").join(sents)


def corpus(themes: dict[str, str], per_theme: int, zh: bool, seed: int = 3) -> tuple[list, list]:
    rng = random.Random(seed)
    texts, labels = [], []
    for name, vocab in themes.items():
        for _ in range(per_theme):
            texts.append(write_doc(rng, vocab.split(), zh))
            labels.append(name)
    return texts, labels


def terms(text: str) -> dict[str, int]:
    """The same tokens the scorer stores (scoring._doc_outcome)."""
    lang = resolve_language("auto", text)
    return doc_terms([w.lower() for w in words(text, lang) if not is_punct_token(w)])


@pytest.mark.parametrize(("themes", "zh"), [(THEMES_EN, False), (THEMES_ZH, True)])
def test_documents_of_a_theme_share_a_topic(themes: dict[str, str], zh: bool) -> None:
    texts, labels = corpus(themes, 12, zh)
    res = topic_distribution([terms(t) for t in texts], k=8)
    assert res is not None
    assert adjusted_rand_score(labels, res.labels) >= 0.8
    assert res.found == 3 and res.k == 7  # K = min(8, 36 // 5)
    # The hand computation from the reported shares.
    want = -sum(p * math.log(p) for p in res.shares) / math.log(res.k)
    assert res.entropy == pytest.approx(want)
    assert normalised_entropy([1 / 3] * 3, 3) == pytest.approx(1.0)
    # Each topic's top words come from one theme's vocabulary.
    for words_ in res.top_words:
        owners = {n for n, v in themes.items() for w in words_[:4] if w in v.split()}
        assert len(owners) == 1, words_


def test_mixed_languages_and_imbalance() -> None:
    texts, labels = corpus(THEMES_EN, 10, False)
    zh_texts, zh_labels = corpus(THEMES_ZH, 10, True)
    res = topic_distribution([terms(t) for t in texts + zh_texts], k=8)
    assert res is not None
    assert adjusted_rand_score(labels + [f"zh-{x}" for x in zh_labels], res.labels) >= 0.8
    # 80/20 split of two themes: the shares follow it, entropy = H(0.8, 0.2) / ln K.
    rng = random.Random(5)
    unbalanced = [write_doc(rng, THEMES_EN["cooking"].split(), False) for _ in range(24)]
    unbalanced += [write_doc(rng, THEMES_EN["football"].split(), False) for _ in range(6)]
    res = topic_distribution([terms(t) for t in unbalanced], k=3)
    assert res is not None and res.shares == pytest.approx([0.8, 0.2])
    h = -(0.8 * math.log(0.8) + 0.2 * math.log(0.2))
    assert res.entropy == pytest.approx(h / math.log(3))


@pytest.mark.parametrize("zh", [False, True])
def test_single_theme_corpus_has_low_entropy(zh: bool) -> None:
    themes = THEMES_ZH if zh else THEMES_EN
    texts, _ = corpus({"cooking": themes["cooking"]}, 36, zh)
    res = topic_distribution([terms(t) for t in texts], k=8)
    multi = topic_distribution([terms(t) for t in corpus(themes, 12, zh)[0]], k=8)
    assert res is not None and multi is not None
    assert res.entropy <= 0.1 < multi.entropy
    assert res.found == 1 and res.silhouette is None  # no structure beyond a shuffled corpus


def test_tiny_and_empty_corpora_are_not_measurable() -> None:
    assert topic_distribution([]) is None
    assert topic_distribution([None, {}, {}]) is None
    texts, _ = corpus(THEMES_EN, 3, False)  # 9 documents: below the minimum
    assert topic_distribution([terms(t) for t in texts]) is None
    # Enough documents, but no term shared by two of them.
    assert topic_distribution([{f"word{i}": 1} for i in range(40)]) is None
    assert normalised_entropy([1.0], 1) is None


def test_evaluate_reports_topics(tmp_path: Path) -> None:
    texts, labels = corpus(THEMES_EN, 8, False)
    zh_texts, _ = corpus(THEMES_ZH, 8, True)
    rows = [{"id": str(i), "text": t} for i, t in enumerate(texts + zh_texts)]
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    store = open_store(None)
    run_id = evaluate_dataset(store, str(path), topics=6, show_progress=False)
    doc = build_report_doc(store, store.get_run(run_id))
    ind = {i["id"]: i for i in doc["indicators"]}
    extra = doc["extra"]["topics"]
    assert extra["k"] == 6 and extra["found"] == 6
    want = -sum(p * math.log(p) for p in extra["shares"]) / math.log(6)
    assert ind["data_topic_entropy"]["value"] == pytest.approx(want)
    assert ind["data_topic_entropy"]["value"] == pytest.approx(1.0, abs=0.01)  # 6 even topics
    section = next(s for s in doc["sections"] if s["id"] == "topics")
    chart = section["charts"][0]
    assert chart["kind"] == "bars" and len(chart["labels"]) == 6
    assert len(section["table"]["rows"]) == 6
    diversity = next(t for t in doc["tasks"] if t["id"] == "diversity")
    assert "data_topic_entropy" in diversity["metrics"]
    from pingce.core.report import write_report

    assert write_report(doc, tmp_path / "report-topics")  # sections pass the schema checks

    # --sample: the topic model sees only the sampled records.
    run_id = evaluate_dataset(store, str(path), topics=6, sample=20, show_progress=False)
    doc = build_report_doc(store, store.get_run(run_id))
    assert doc["extra"]["topics"]["documents"] <= 20

    # Too few documents: listed as not measurable (value None), with a note, not a crash.
    small = tmp_path / "small.jsonl"
    small.write_text("\n".join(json.dumps(r) for r in rows[:5]), encoding="utf-8")
    run_id = evaluate_dataset(store, str(small), show_progress=False)
    doc = build_report_doc(store, store.get_run(run_id))
    ind = {i["id"]: i for i in doc["indicators"]}
    assert ind["data_topic_entropy"]["value"] is None
    assert doc["extra"]["topics"] is None
    assert any("Topic distribution not measurable" in n for n in doc["notes"])
    assert write_report(doc, tmp_path / "report")  # the renderers accept a None indicator


def test_topic_fit_runs_blas_single_threaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fit limits BLAS/OpenMP pools to one thread (threadpoolctl): the matrices are small
    and busy-waiting OpenBLAS threads cost time on a loaded machine. Same result either way."""
    from threadpoolctl import threadpool_info

    from pingce.data.quality import topics

    seen: list[int] = []
    real = topics._best_assignment

    def spy(*args: object, **kwargs: object) -> object:
        seen.extend(p["num_threads"] for p in threadpool_info())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    texts, _ = corpus(THEMES_EN, 12, False)
    term_lists = [terms(t) for t in texts]
    monkeypatch.setattr(topics, "_best_assignment", spy)
    res = topics.topic_distribution(term_lists, k=8, seed=7)
    assert seen and set(seen) == {1}
    # The limit does not change the numbers: the unlimited fit finds the same topics.
    assert res == topics._fit_topics(term_lists, 8, 7, None)
