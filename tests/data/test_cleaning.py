"""Cleaning operators against hand-written expectations and ftfy's documented repairs."""

from __future__ import annotations

from pingce.data.document import Document
from pingce.data.operators.base import build_operator
from pingce.data.operators.cleaning import html_to_text


def _run(name: str, text: str, **params: object) -> str:
    op = build_operator(name, dict(params), "test")
    (doc,), _ = op.process([Document(id="d", parts=[("text", text)])])
    return doc.text


def test_nfkc_keeps_chinese_punctuation() -> None:
    # Full-width Latin/digits become ASCII (NFKC); Chinese full-width punctuation stays.
    assert _run("normalize", "ＡＢＣ１２３，你好！ﬁ") == "ABC123，你好！fi"
    assert _run("normalize", "你好，世界", keep_cjk_punctuation=False) == "你好,世界"


def test_fix_encoding_repairs_mojibake() -> None:
    # Examples from ftfy's documentation.
    assert _run("fix_encoding", "âœ” No problems") == "✔ No problems"
    assert (
        _run("fix_encoding", "The Mona Lisa doesnÃ¢â‚¬â„¢t have eyebrows.")
        == "The Mona Lisa doesn’t have eyebrows."
    )
    assert _run("fix_encoding", "中文，标点。") == "中文，标点。"


def test_whitespace_and_control_characters() -> None:
    text = "a\x00b\u200b  c\t\td \r\n\n\n\n e\u3000\u3000f  "
    assert _run("clean_whitespace", text) == "ab c d\n\ne f"


def test_html_to_text_drops_scripts_and_keeps_blocks() -> None:
    html = "<html><head><style>p{}</style></head><body><h1>Title</h1><p>One &amp; two.</p><script>x()</script><ul><li>a</li><li>b</li></ul></body></html>"
    assert html_to_text(html) == "Title\n\nOne & two.\n\na\n\nb"
    assert _run("html_to_text", "plain text, no tags") == "plain text, no tags"


def test_length_filter_counts_reasons() -> None:
    op = build_operator("length_filter", {"min_chars": 5, "max_chars": 10}, "test")
    docs = [
        Document(id=str(i), parts=[("text", t)])
        for i, t in enumerate(["", "abc", "abcdef", "x" * 20])
    ]
    kept, removed = op.process(docs)
    assert [d.id for d in kept] == ["2"]
    assert op.stats.to_dict()["removed_by_reason"] == {"empty": 1, "too_long": 1, "too_short": 1}
    assert op.stats.docs_in == 4 and op.stats.kept == 1
