"""Indicators of `pingce data evaluate` that must mean what their names say: truncation,
language balance, grade. Hand-computed cases, and real documentation from Debian packages
(see conftest.py) as the clean reference."""

from __future__ import annotations

import random

import pytest

from pingce.data.quality.scoring import truncated

TUTORIAL_ENDINGS = [
    "Install it with pip.\n\n```bash\npip install pingce\n```",  # a closed code block
    "That is all for the basics.\n\n## Next steps",  # a heading
    "You now know three commands:\n\n- list\n- show the history of a run",  # list items
    "| option | default |\n|---|---|\n| --workers | 2 |",  # a table row
    "Read the full guide at https://example.org/guide/getting-started",  # a link
    "Run the demo:\n\n    pingce demo --quick",  # an indented command
    "安装之后运行下面的命令。\n\n## 下一步",
    "更多信息请见 https://example.org/zh/guide",
    "The end of the story.",
]
CUT = [
    "The pipeline reads every shard and then writes the documents that pass the filters to",
    "处理流程读取每一个分片，然后把通过所有过滤规则的文档写入输出目录中的",
    "Install it with pip.\n\n```bash\npip install pingce",  # inside an open code block
    "The options are the following, in the order in which they are applied,",
    "参数如下：",
]


def test_truncation_hand_cases() -> None:
    """A tutorial page may end in code, a heading, a list, a table, a link: complete. Text
    that stops inside a line of running text, an open code fence or after a comma is cut."""
    for text in TUTORIAL_ENDINGS:
        assert not truncated(text), text
    for text in CUT:
        assert truncated(text), text


def _cut(text: str, rng: random.Random) -> str:
    """Cut the page inside its longest line, in the middle third of that line."""
    lines = text.split("\n")
    i = max(range(len(lines)), key=lambda k: len(lines[k]))
    pos = rng.randrange(len(lines[i]) // 3, 2 * len(lines[i]) // 3)
    return "\n".join([*lines[:i], lines[i][:pos]])


def test_truncation_on_real_documentation(zh_man_pages) -> None:  # type: ignore[no-untyped-def]
    """Whole translated man pages and their English originals are complete documents: at most
    2% flagged (measured 0% zh, 2.1% en: pages whose last paragraph really has no sentence end).
    The same pages cut mid-line are flagged at least 70% of the time (measured 72% zh, 82% en;
    the misses are cuts just after a ')' or ']' in a synopsis, indistinguishable from an end)."""
    rng = random.Random(0)
    for lang in ("zh", "en"):
        pages = [getattr(d, lang) for d in zh_man_pages if getattr(d, lang)]
        if lang == "en" and len(pages) < 50:
            pytest.skip("needs the English man pages (Debian packages man-db, coreutils)")
        complete = sum(map(truncated, pages)) / len(pages)
        cut = sum(truncated(_cut(t, rng)) for t in pages) / len(pages)
        assert complete <= 0.03, (lang, complete)
        assert cut >= 0.7, (lang, cut)


def _record(i: int, **data: object) -> dict:
    """A stored record of one clean English document, as scoring._doc_outcome writes it."""
    scores = {
        "data_complete_ratio": 1.0, "data_empty_rate": 0.0, "data_truncated_rate": 0.0,
        "data_missing_field_rate": 0.0, "data_valid_ratio": 1.0, "data_malformed_rate": 0.0,
        "data_encoding_error_rate": 0.0, "data_safe_ratio": 1.0, "data_pii_rate": 0.0,
        "data_toxic_rate": 0.0, "data_heuristic_score": 1.0, "data_lexical_diversity": 0.8,
        "data_bigram_entropy": 0.8,
    }  # fmt: skip
    base = {
        "id": str(i), "source": "c.jsonl", "lang": "en", "lang_score": 0.9, "chars": 500,
        "schema": ["id", "text"], "exact": f"{i:032x}", "bands": [f"{i:016x}"] * 14,
        "terms": None, "failed_rules": {}, "preview": "",
    }  # fmt: skip
    base.update(data)
    return {"task": "corpus", "sample_id": str(i), "position": i, "scores": scores, "data": base}


def test_uncertain_language_is_left_out_of_balance() -> None:
    """Hand count: 20 English documents and one 32-character document detected as Italian at
    confidence 0.40. Counting it, Pielou evenness = H(20/21, 1/21) / ln 2 = 0.276; it is too
    short and too uncertain, so the shares are {en: 1.0} and the balance (one language) is 1."""
    from pingce.data.quality.model import balance_index
    from pingce.data.report import summarize_quality

    recs = [_record(i) for i in range(20)] + [_record(20, lang="it", lang_score=0.40, chars=32)]
    assert balance_index({"en": 20 / 21, "it": 1 / 21}, None) == pytest.approx(0.2762, abs=1e-4)
    out = summarize_quality(recs, {"seed": 1}, {})
    ind = {i["id"]: i for i in out["indicators"]}
    assert out["extra"]["language_shares"] == {"en": 1.0}
    assert ind["data_balance_index"]["value"] == pytest.approx(1.0)
    assert ind["data_language_entropy"]["value"] == pytest.approx(0.0)
    assert any("1 of 21 documents are left out of the language shares" in n for n in out["notes"])
    # With a declared 50/50 target and an equally long, confident Chinese half: 1 - TVD = 1.
    recs = [_record(i) for i in range(10)] + [_record(i, lang="zh") for i in range(10, 20)]
    recs.append(_record(20, lang="it", lang_score=0.40, chars=32))
    out = summarize_quality(recs, {"seed": 1, "target": {"en": 0.5, "zh": 0.5}}, {})
    ind = {i["id"]: i for i in out["indicators"]}
    assert ind["data_balance_index"]["value"] == pytest.approx(1.0)


def test_duplicates_and_junk_cannot_get_grade_a() -> None:
    """Hand count, 100 documents: 20 near duplicates (same LSH band keys as documents 0-19) and
    6 junk documents passing 1 of 4 heuristic rule sets. Characteristic scores: uniqueness 0.80,
    heuristics (94 + 6 × 0.25) / 100 = 0.955, diversity 0.8, the rest 1. Weighted mean =
    0.15 + 0.15 + 0.10 + 0.15×0.80 + 0.10×0.8 + 0.05 + 0.15 + 0.15×0.955 = 0.94325, which the
    score scale alone grades A; uniqueness's 20% defect rate caps the grade at C."""
    from pingce.data.quality.indicators import defect_cap, grade
    from pingce.data.report import summarize_quality

    recs = [_record(i) for i in range(80)]
    recs += [_record(80 + i, bands=[f"{i:016x}"] * 14) for i in range(20)]  # near dups of 0..19
    for r in recs[74:80]:
        r["scores"]["data_heuristic_score"] = 0.25
    out = summarize_quality(recs, {"seed": 1}, {})
    dims = {d["id"]: d["score"] for d in out["dimensions"]}
    assert dims["uniqueness"] == pytest.approx(0.80)
    assert dims["heuristics"] == pytest.approx(0.955)
    assert out["overall"]["score"] == pytest.approx(0.94325)
    assert grade(0.94325) == "A"  # what the corpus got before the caps
    assert out["extra"]["grade"] == "C"
    assert [defect_cap(x) for x in (0.0, 0.05, 0.06, 0.2, 0.25, 0.31)] == list("AABCDE")
    # Without the duplicates (unique 1.0) the same junk leaves it an A.
    clean = [_record(i) for i in range(100)]
    for r in clean[74:80]:
        r["scores"]["data_heuristic_score"] = 0.25
    assert summarize_quality(clean, {"seed": 1}, {})["extra"]["grade"] == "A"


def test_bilingual_corpus_has_topic_entropy(zh_man_pages) -> None:  # type: ignore[no-untyped-def]
    """Real bilingual documentation (translated man pages and their English originals, equal
    counts): the documents of each language share too few terms for the silhouette to beat the
    shuffled corpus, but the two languages are two vocabularies. Hand value: shares 1/2, 1/2 of
    K = 8 topics, entropy ln 2 / ln 8 = 1/3 (the old fallback: one topic, entropy 0)."""
    import math

    from pingce.data.quality.topics import doc_terms, topic_distribution
    from pingce.data.text import is_punct_token, words

    pairs = [d for d in zh_man_pages if d.en]
    if len(pairs) < 50:
        pytest.skip("needs the English man pages (Debian packages man-db, coreutils)")
    texts = [(d.zh, "zh") for d in pairs] + [(d.en, "en") for d in pairs]
    terms = [doc_terms([w.lower() for w in words(t, g) if not is_punct_token(w)]) for t, g in texts]
    res = topic_distribution(terms, k=8, seed=1234, groups=[g for _, g in texts])
    assert res is not None and res.silhouette is None  # no structure beyond the languages
    assert res.found == 2 and res.shares == pytest.approx([0.5, 0.5], abs=0.02)
    want = -sum(p * math.log(p) for p in res.shares) / math.log(8)
    assert res.entropy == pytest.approx(want) and res.entropy == pytest.approx(1 / 3, abs=0.01)
    # Without languages (the old behaviour) the same corpus is one topic.
    assert topic_distribution(terms, k=8, seed=1234).entropy == 0.0  # type: ignore[union-attr]


def test_pii_measure_counts_personal_data_not_links() -> None:
    """Hand cases: a link or a bare '::' is not personal data; an e-mail address is."""
    from pingce.data.document import Document
    from pingce.data.quality.scoring import ScoringSettings, score_items

    texts = [
        "See https://www.gnu.org/software/coreutils/ for the full manual of the tools.",
        "In C++ write std::vector, in Haskell a :: b, and in Markdown a :: separator.",
        "Report bugs to maintainer.name@example.org, please, with the full output.",
    ]
    docs = [Document(id=str(i), parts=[("text", t)]) for i, t in enumerate(texts)]
    outs = score_items(docs, ScoringSettings())  # type: ignore[arg-type]
    assert [o.scores["data_pii_rate"] for o in outs] == [0.0, 0.0, 1.0]
    assert outs[2].data["pii_kinds"] == ["email"]
