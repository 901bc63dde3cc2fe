"""Each benchmark reader on its bundled sample (official release layout), the hub-copy
normalisers on local files in the hub schema, and bad input.

References: the expected rows are read off the sample files by hand; HellaSwag's
preprocessing is compared with lm-evaluation-harness's own `preprocess`; the hub schemas are
those of the datasets named in `pingce.llm.benchmarks.source.BENCHMARKS`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pingce.core.errors import DataError, SpecError
from pingce.core.spec import builtin_suites_dir, load_suite
from pingce.llm.benchmarks import readers
from pingce.llm.benchmarks.source import BenchmarkDataset, load_benchmark

BENCH = builtin_suites_dir() / "llm" / "benchmarks"


def test_mmlu_release_layout() -> None:
    rows = readers.read_mmlu(BENCH / "mmlu", "test")
    assert len(rows) == 9
    first = rows[0]
    assert first["id"] == "astronomy/0" and first["subject"] == "astronomy"
    assert first["choices"] == ["Mercury", "Venus", "Earth", "Mars"] and first["answer"] == 0
    chem = readers.read_mmlu(BENCH / "mmlu", "dev", ["high_school_chemistry"])
    assert [r["answer"] for r in chem] == [2, 1, 0]  # C, B, A


def test_cmmlu_and_ceval_layouts() -> None:
    cm = readers.read_cmmlu(BENCH / "cmmlu", "test")
    assert len(cm) == 8 and cm[0]["subject_zh"] == "中国历史" and cm[0]["answer"] == 0
    val = readers.read_ceval(BENCH / "ceval", "val")
    assert len(val) == 7 and val[0]["id"] == "computer_network/0" and val[0]["answer"] == 2
    dev = readers.read_ceval(BENCH / "ceval", "dev", ["computer_network"])
    assert dev[0]["explanation"].startswith("MAC地址")
    test = readers.read_ceval(BENCH / "ceval", "test")
    assert len(test) == 5 and all(r["answer"] is None for r in test)


def test_gsm8k_math_arc() -> None:
    gsm = readers.read_gsm8k(BENCH / "gsm8k", "test")
    assert [r["target"] for r in gsm] == ["216", "16", "102", "504", "60", "37500"]
    assert gsm[0]["solution"].endswith("$<<72*3=216>>216.")
    math = readers.read_math500(BENCH / "math500", "test")
    assert math[0]["answer"] == "\\frac{19}{12}" and math[0]["id"].endswith("pingce-001.json")
    arc = readers.read_arc(BENCH / "arc", "test")
    assert [r["answer"] for r in arc] == [2, 0, 1, 1, 3, 1]  # C, A, "2" of 1-4, B, D, B
    assert arc[2]["labels"] == ["1", "2", "3", "4"] and len(arc[5]["choices"]) == 3


def test_hellaswag_matches_lm_eval_preprocessing() -> None:
    utils = pytest.importorskip("lm_eval.tasks.hellaswag.utils")
    raw = [
        json.loads(x)
        for x in (BENCH / "hellaswag" / "hellaswag_val.jsonl").read_text().splitlines()
    ]
    rows = readers.read_hellaswag(BENCH / "hellaswag", "val")
    for doc, row in zip(raw, rows, strict=True):
        ctx = doc["ctx_a"] + " " + doc["ctx_b"].capitalize()
        assert row["question"] == utils.preprocess(doc["activity_label"] + ": " + ctx)
        assert row["choices"] == [utils.preprocess(e) for e in doc["endings"]]
        assert row["answer"] == int(doc["label"])
    assert "[" not in rows[3]["question"]  # WikiHow brackets removed


def test_truthfulqa_humaneval_mbpp_agieval_c3() -> None:
    tq = readers.read_truthfulqa(BENCH / "truthfulqa")
    assert len(tq) == 6 and tq[0]["answer"] == 0 and tq[0]["mc2_labels"] == [1, 1, 0, 0]
    he = readers.read_humaneval(BENCH / "humaneval")  # the gzipped release file
    assert [r["entry_point"] for r in he][:2] == ["add_digits", "is_palindrome"]
    test = readers.read_mbpp(BENCH / "mbpp", "test")
    prompt = readers.read_mbpp(BENCH / "mbpp", "prompt")
    assert [r["task_id"] for r in prompt] == [1, 2, 3] and len(test) == 5
    ag = readers.read_agieval(BENCH / "agieval")
    assert (
        len(ag) == 8 and ag[0]["letters"] == ["(A)", "(B)", "(C)", "(D)"] and ag[0]["answer"] == 1
    )
    c3 = readers.read_c3(BENCH / "c3", "dev")
    assert (
        len(c3) == 6
        and c3[0]["id"] == "pingce-d-1-0"
        and c3[0]["choices"][c3[0]["answer"]] == "苏州"
    )


def test_hub_schema_through_datasets(tmp_path: Path) -> None:
    """The hub-copy path (`datasets` on a local file in the hub schema)."""
    pytest.importorskip("datasets")
    f = tmp_path / "arc_hub.jsonl"
    f.write_text(json.dumps({"id": "x1", "question": "Which is a gas?", "answerKey": "B",
                             "choices": {"text": ["rock", "steam"], "label": ["A", "B"]}}) + "\n")  # fmt: skip
    rows = load_benchmark("arc", BenchmarkDataset(hub=str(f)), tmp_path)
    assert rows[0]["choices"] == ["rock", "steam"] and rows[0]["answer"] == 1
    g = tmp_path / "mmlu_hub.jsonl"
    g.write_text(
        json.dumps({"question": "2+2?", "subject": "math", "choices": ["3", "4"], "answer": 1})
        + "\n"
    )
    assert load_benchmark("mmlu", BenchmarkDataset(hub=str(g)), tmp_path)[0]["answer"] == 1


def test_bad_input_names_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "x_test.csv").write_text("q,a,b,c,d,E\n")
    with pytest.raises(DataError, match=r"x_test.csv: row 1: answer 'E' is not one of A, B, C, D"):
        readers.read_mmlu(tmp_path, "test")
    (tmp_path / "test.jsonl").write_text(json.dumps({"question": "q", "answer": "no final"}) + "\n")
    with pytest.raises(DataError, match="has no '#### N' final line"):
        readers.read_gsm8k(tmp_path, "test")
    with pytest.raises(DataError, match="no 'val' folder"):
        readers.read_ceval(tmp_path, "val")
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "standard: llm\nname: s\ntasks:\n  - {id: c, type: ceval, dataset: {path: x, split: test}}\n"
    )
    with pytest.raises(SpecError, match="C-Eval test split has no answers"):
        load_suite(str(suite))


@pytest.mark.parametrize(
    "name",
    ["mmlu", "cmmlu", "ceval", "ceval-test", "gsm8k", "math500", "arc", "hellaswag",
     "truthfulqa", "humaneval", "mbpp", "agieval", "c3"],
)  # fmt: skip
def test_sample_suites_validate(name: str) -> None:
    suite = load_suite(f"llm/{name}-sample")
    assert suite.spec.tasks


def test_jsonl_release_files_share_the_dataset_reader(tmp_path: Path) -> None:
    """Benchmark JSONL (plain or .gz) goes through llm.datasets.load_jsonl: a BOM is
    dropped, and a non-UTF-8 or truncated file is one DataError naming it."""
    import gzip

    plain = tmp_path / "a.jsonl"
    plain.write_bytes(b'\xef\xbb\xbf{"q": 1}\n\n{"q": 2}\n')
    assert readers._read_jsonl(plain) == [{"q": 1}, {"q": 2}]
    packed = tmp_path / "b.jsonl.gz"
    packed.write_bytes(gzip.compress(b'{"q": 3}\n'))
    assert readers._read_jsonl(packed) == [{"q": 3}]
    latin = tmp_path / "c.jsonl"
    latin.write_bytes(b'{"q": "caf\xe9"}\n')
    with pytest.raises(DataError, match="c.jsonl: not UTF-8"):
        readers._read_jsonl(latin)
    cut = tmp_path / "d.jsonl.gz"
    cut.write_bytes(gzip.compress(b'{"q": 4}\n')[:-6])
    with pytest.raises(DataError, match="d.jsonl.gz: cannot read"):
        readers._read_jsonl(cut)
