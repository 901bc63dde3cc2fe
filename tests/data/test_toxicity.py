"""Word-list matching (pyahocorasick) with word boundaries, and the classifier hook."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pingce.core.errors import SpecError
from pingce.data.document import Document
from pingce.data.operators.base import build_operator
from pingce.data.operators.toxicity import WordMatcher


def test_matcher_respects_latin_word_boundaries() -> None:
    m = WordMatcher(["ass", "傻逼", "kill yourself"])
    assert m.matches("a classic class assessment") == []
    assert m.matches("You ASS. 你是傻逼吗") == ["ass", "傻逼"]
    assert m.matches("just kill yourself now") == ["kill yourself"]


def test_operator_with_wordlist_file_and_classifier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wl = tmp_path / "words.txt"
    wl.write_text("# comment\nbadword\n", encoding="utf-8")
    module = tmp_path / "my_toxicity.py"
    module.write_text(
        "def score(texts):\n    return [1.0 if 'hate' in t else 0.0 for t in texts]\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    op = build_operator(
        "toxic_words", {"wordlists": [str(wl)], "classifier": "my_toxicity:score"}, "test"
    )
    docs = [
        Document(id=str(i), parts=[("text", t)])
        for i, t in enumerate(["fine text", "a badword here", "I hate this"])
    ]
    kept, removed = op.process(docs)
    assert [d.id for d in kept] == ["0"]
    assert sorted(r for _, r in removed) == ["toxic_classifier", "toxic_words"]
    sys.modules.pop("my_toxicity", None)
    with pytest.raises(SpecError, match="cannot be loaded"):
        build_operator("toxic_words", {"classifier": "no_such_module:f"}, "test")
