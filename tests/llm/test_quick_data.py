"""Validation of the built-in ``llm/quick`` suite data and the demo tokenizer corpus.

Only the standard library is used so the check runs without the ``llm`` extra.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "src" / "pingce" / "suites" / "llm" / "data"
CORPUS = ROOT / "src" / "pingce" / "llm" / "demo_corpus.txt"

CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")
INT_STR = re.compile(r"^-?\d+$")

# file name -> expected number of items
COUNTS = {
    "knowledge_mc.jsonl": 24,
    "knowledge_mc_dev.jsonl": 5,
    "reasoning_mc.jsonl": 20,
    "reasoning_mc_dev.jsonl": 5,
    "arithmetic.jsonl": 20,
    "arithmetic_dev.jsonl": 5,
    "reading_zh.jsonl": 16,
    "reading_zh_dev.jsonl": 3,
    "generation.jsonl": 16,
    "perplexity.jsonl": 12,
}

MC_FIELDS = {
    "id": str,
    "question": str,
    "choices": list,
    "answer": int,
    "subject": str,
    "language": str,
}
SCHEMAS = {
    "knowledge_mc.jsonl": MC_FIELDS,
    "knowledge_mc_dev.jsonl": MC_FIELDS,
    "reasoning_mc.jsonl": MC_FIELDS,
    "reasoning_mc_dev.jsonl": MC_FIELDS,
    "arithmetic.jsonl": {"id": str, "question": str, "answer": str, "language": str},
    "arithmetic_dev.jsonl": {
        "id": str,
        "question": str,
        "solution": str,
        "answer": str,
        "language": str,
    },
    "reading_zh.jsonl": {
        "id": str,
        "context": list,
        "question": str,
        "choices": list,
        "answer": int,
        "language": str,
    },
    "reading_zh_dev.jsonl": {
        "id": str,
        "context": list,
        "question": str,
        "choices": list,
        "answer": int,
        "language": str,
    },
    "generation.jsonl": {"id": str, "instruction": str, "references": list, "language": str},
    "perplexity.jsonl": {"id": str, "text": str, "language": str},
}


def load(name: str) -> list[dict]:
    path = DATA / name
    assert path.is_file(), f"missing data file {path}"
    rows = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            assert line.strip(), f"{name}:{lineno}: blank line"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:  # pragma: no cover - failure path
                pytest.fail(f"{name}:{lineno}: invalid JSON: {exc}")
            assert isinstance(obj, dict), f"{name}:{lineno}: not a JSON object"
            rows.append(obj)
    return rows


def nonempty_str(x) -> bool:
    return isinstance(x, str) and x.strip() != ""


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_schema_and_ids(name):
    rows = load(name)
    assert len(rows) == COUNTS[name], f"{name}: {len(rows)} items, expected {COUNTS[name]}"
    schema = SCHEMAS[name]
    for r in rows:
        assert set(r) == set(schema), (
            f"{name} {r.get('id')}: fields {sorted(r)} != {sorted(schema)}"
        )
        for field, typ in schema.items():
            v = r[field]
            if typ is int:
                assert isinstance(v, int) and not isinstance(v, bool), (
                    f"{name} {r['id']}: {field} not int"
                )
            else:
                assert isinstance(v, typ), f"{name} {r['id']}: {field} not {typ.__name__}"
            if typ is str:
                assert v.strip(), f"{name} {r['id']}: empty {field}"
        assert r["language"] in ("en", "zh"), f"{name} {r['id']}: bad language"
    ids = [r["id"] for r in rows]
    dup = [k for k, c in Counter(ids).items() if c > 1]
    assert not dup, f"{name}: duplicate ids {dup}"


def test_ids_unique_across_files():
    seen: dict[str, str] = {}
    for name in COUNTS:
        for r in load(name):
            assert r["id"] not in seen, f"id {r['id']} in both {seen.get(r['id'])} and {name}"
            seen[r["id"]] = name


def check_choices(name, r, lo, hi):
    ch = r["choices"]
    assert lo <= len(ch) <= hi, f"{name} {r['id']}: {len(ch)} choices"
    assert all(nonempty_str(c) for c in ch), f"{name} {r['id']}: empty/non-string choice"
    assert len(set(c.strip() for c in ch)) == len(ch), f"{name} {r['id']}: duplicate choices"
    assert 0 <= r["answer"] < len(ch), f"{name} {r['id']}: answer index out of range"


@pytest.mark.parametrize(
    "name",
    [
        "knowledge_mc.jsonl",
        "knowledge_mc_dev.jsonl",
        "reasoning_mc.jsonl",
        "reasoning_mc_dev.jsonl",
    ],
)
def test_multiple_choice(name):
    rows = load(name)
    for r in rows:
        check_choices(name, r, 4, 4)
    if name.startswith("reasoning"):
        assert all(r["subject"] in ("logic", "commonsense") for r in rows)


def test_knowledge_balance():
    rows = load("knowledge_mc.jsonl")
    langs = Counter(r["language"] for r in rows)
    assert langs["en"] == langs["zh"] == 12
    answers = Counter(r["answer"] for r in rows)
    assert sorted(answers) == [0, 1, 2, 3]
    assert max(answers.values()) - min(answers.values()) <= 1, answers


def test_reasoning_balance():
    rows = load("reasoning_mc.jsonl")
    langs = Counter(r["language"] for r in rows)
    assert langs["en"] > 0 and langs["zh"] > 0
    answers = Counter(r["answer"] for r in rows)
    assert sorted(answers) == [0, 1, 2, 3]
    # choices must differ in length so that length normalisation matters
    for r in rows:
        assert len({len(c) for c in r["choices"]}) > 1, r["id"]


@pytest.mark.parametrize("name", ["arithmetic.jsonl", "arithmetic_dev.jsonl"])
def test_arithmetic(name):
    rows = load(name)
    for r in rows:
        assert INT_STR.match(r["answer"]), (
            f"{name} {r['id']}: answer {r['answer']!r} not an integer string"
        )
    langs = Counter(r["language"] for r in rows)
    assert langs["en"] > 0 and langs["zh"] > 0
    if name == "arithmetic_dev.jsonl":
        for r in rows:
            sol = r["solution"].strip()
            if r["language"] == "en":
                assert sol.endswith(f"The answer is {r['answer']}."), r["id"]
            else:
                assert sol.endswith(f"答案是{r['answer']}。"), r["id"]


@pytest.mark.parametrize("name", ["reading_zh.jsonl", "reading_zh_dev.jsonl"])
def test_reading(name):
    rows = load(name)
    for r in rows:
        assert r["language"] == "zh"
        assert r["context"] and all(nonempty_str(x) for x in r["context"]), r["id"]
        check_choices(name, r, 2, 4)
    if name == "reading_zh.jsonl":
        contexts = {tuple(r["context"]) for r in rows}
        assert len(contexts) >= 6
        lines = [x for r in rows for x in r["context"]]
        assert any(x.startswith(("男：", "女：")) for x in lines), "no dialogue"
        assert any(not x.startswith(("男：", "女：")) for x in lines), "no passage"


def test_generation():
    rows = load("generation.jsonl")
    for r in rows:
        refs = r["references"]
        assert 1 <= len(refs) <= 2, r["id"]
        assert all(nonempty_str(x) for x in refs), r["id"]
        for ref in refs:
            if r["language"] == "zh":
                assert CJK.search(ref), r["id"]
            else:
                assert LATIN.search(ref) and not CJK.search(ref), r["id"]
    langs = Counter(r["language"] for r in rows)
    assert langs["en"] > 0 and langs["zh"] > 0


def test_perplexity_lengths():
    rows = load("perplexity.jsonl")
    langs = Counter(r["language"] for r in rows)
    assert langs["en"] == langs["zh"] == 6
    for r in rows:
        if r["language"] == "en":
            n = len(r["text"].split())
            assert 60 <= n <= 150, f"{r['id']}: {n} words"
        else:
            n = len(CJK.findall(r["text"]))
            assert 80 <= n <= 200, f"{r['id']}: {n} CJK characters"


def test_demo_corpus():
    assert CORPUS.is_file(), f"missing {CORPUS}"
    raw = CORPUS.read_bytes()
    assert 30 * 1024 <= len(raw) <= 80 * 1024, f"corpus is {len(raw)} bytes"
    text = raw.decode("utf-8")
    assert len(CJK.findall(text)) > 1000
    assert len(LATIN.findall(text)) > 5000
    assert "Question:" in text and "Answer:" in text
    assert "问题：" in text and "答案：" in text
    assert re.search(r"\d+ \+ \d+ = \d+", text)


EXPR = re.compile(r"(?<![+\-×÷*/] )(?<![\d.])(\d+) ([+\-×÷*/]) (\d+) = (\d+)(?![\d.])")


def test_demo_corpus_arithmetic_is_correct():
    text = CORPUS.read_text(encoding="utf-8")
    ops = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "×": lambda a, b: a * b,
        "*": lambda a, b: a * b,
        "÷": lambda a, b: a / b,
        "/": lambda a, b: a / b,
    }
    found = EXPR.findall(text)
    assert len(found) > 100
    bad = [f"{a} {op} {b} = {c}" for a, op, b, c in found if ops[op](int(a), int(b)) != int(c)]
    assert not bad, bad[:5]
