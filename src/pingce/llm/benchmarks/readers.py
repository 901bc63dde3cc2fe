"""Readers of each benchmark's official release layout, and of its Hugging Face hub copy.

Every reader returns rows (dicts) with an `id` and the fields its task type renders; multiple
choice rows carry `question`, `choices` (list) and `answer` (gold index, None when the split is
unlabelled). Native fields are kept alongside, so prompts may use them too.

A reader takes the release root (or one file of it), the split, and optionally the subjects.
The hub readers take rows as `datasets` yields them for the hub copy and normalise the same way.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pingce.core.errors import DataError
from pingce.llm.datasets import load_jsonl
from pingce.llm.filters import last_number

Row = dict[str, Any]
LETTERS = "ABCDEFGHIJ"

# Chinese names of the subjects in the bundled samples (the official releases ship the full
# mappings: C-Eval's subject_mapping.json, CMMLU's name_en2zh).
SUBJECT_ZH = {
    "computer_network": "计算机网络",
    "high_school_physics": "高中物理",
    "chinese_history": "中国历史",
    "high_school_geography": "高中地理",
}


def _need(row: dict[str, Any], field: str, where: str) -> Any:
    if field not in row or row[field] is None:
        raise DataError(f"{where}: missing field {field!r}")
    return row[field]


def _letter_index(letter: Any, n: int, where: str) -> int:
    text = str(letter).strip().upper()
    if len(text) != 1 or text not in LETTERS[:n]:
        raise DataError(f"{where}: answer {letter!r} is not one of {', '.join(LETTERS[:n])}")
    return LETTERS.index(text)


def _read_jsonl(path: Path) -> list[Row]:
    try:
        return load_jsonl(path)
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: invalid JSON at line {exc.lineno} ({exc.msg})") from None


def _subject_files(root: Path, split: str, suffix: str, subjects: list[str] | None) -> list[Path]:
    """`root/split/<subject><suffix>` files (or `root` itself when it is one file)."""
    if root.is_file():
        return [root]
    folder = root / split
    if not folder.is_dir():
        raise DataError(
            f"{root}: no {split!r} folder",
            hint=f"point the dataset path at the release folder holding {split}/",
        )
    files = sorted(folder.glob(f"*{suffix}"))
    if subjects is not None:
        wanted = {s: folder / f"{s}{suffix}" for s in subjects}
        missing = [s for s, p in wanted.items() if not p.is_file()]
        if missing:
            raise DataError(f"{folder}: no file for subject(s) {', '.join(missing)}")
        files = list(wanted.values())
    if not files:
        raise DataError(f"{folder}: no *{suffix} files")
    return files


def _mc_row(qid: str, question: str, choices: list[str], answer: int | None, **extra: Any) -> Row:
    return {"id": qid, "question": question, "choices": choices, "answer": answer, **extra}


# ---- MMLU: data/{dev,val,test}/<subject>_<split>.csv, no header -------------------------------
def read_mmlu(path: Path, split: str = "test", subjects: list[str] | None = None) -> list[Row]:
    rows: list[Row] = []
    for file in _subject_files(path, split, f"_{split}.csv", subjects):
        subject = file.name.removesuffix(f"_{split}.csv")
        with file.open(encoding="utf-8", newline="") as fh:
            for n, rec in enumerate(csv.reader(fh)):
                where = f"{file}: row {n + 1}"
                if len(rec) != 6:
                    raise DataError(f"{where}: expected 6 columns (question,A,B,C,D,answer)")
                rows.append(
                    _mc_row(
                        f"{subject}/{n}",
                        rec[0],
                        rec[1:5],
                        _letter_index(rec[5], 4, where),
                        subject=subject.replace("_", " "),
                    )
                )
    return rows


def hub_mmlu(records: Iterable[Row]) -> list[Row]:
    """cais/mmlu: question, subject, choices, answer (index)."""
    out = []
    for n, r in enumerate(records):
        subject = str(r.get("subject", ""))
        out.append(
            _mc_row(
                f"{subject}/{n}",
                r["question"],
                list(r["choices"]),
                int(r["answer"]),
                subject=subject.replace("_", " "),
            )
        )
    return out


# ---- CMMLU: data/{dev,test}/<subject>.csv with header ",Question,A,B,C,D,Answer" ----------------
def read_cmmlu(path: Path, split: str = "test", subjects: list[str] | None = None) -> list[Row]:
    rows: list[Row] = []
    for file in _subject_files(path, split, ".csv", subjects):
        subject = file.stem
        with file.open(encoding="utf-8-sig", newline="") as fh:
            for n, rec in enumerate(csv.DictReader(fh)):
                where = f"{file}: row {n + 2}"
                q = _need(rec, "Question", where)
                choices = [_need(rec, k, where) for k in "ABCD"]
                rows.append(
                    _mc_row(
                        f"{subject}/{n}",
                        q,
                        choices,
                        _letter_index(_need(rec, "Answer", where), 4, where),
                        subject=subject,
                        subject_zh=SUBJECT_ZH.get(subject, subject),
                    )
                )
    return rows


# ---- C-Eval: {dev,val,test}/<subject>_<split>.csv, header id,question,A,B,C,D[,answer[,explanation]]
def read_ceval(path: Path, split: str = "val", subjects: list[str] | None = None) -> list[Row]:
    rows: list[Row] = []
    for file in _subject_files(path, split, f"_{split}.csv", subjects):
        subject = file.name.removesuffix(f"_{split}.csv")
        with file.open(encoding="utf-8-sig", newline="") as fh:
            for n, rec in enumerate(csv.DictReader(fh)):
                where = f"{file}: row {n + 2}"
                raw = (rec.get("answer") or "").strip()
                answer = _letter_index(raw, 4, where) if raw else None
                if answer is None and split != "test":
                    raise DataError(f"{where}: the {split} split needs an answer")
                rows.append(
                    _mc_row(
                        f"{subject}/{_need(rec, 'id', where)}",
                        _need(rec, "question", where),
                        [_need(rec, k, where) for k in "ABCD"],
                        answer,
                        subject=subject,
                        subject_zh=SUBJECT_ZH.get(subject, subject),
                        ceval_id=str(rec["id"]),
                        explanation=rec.get("explanation") or "",
                    )
                )
    return rows


# ---- GSM8K: {train,test}.jsonl, {"question", "answer": "... #### N"} ----------------------------
_GSM_NUMBER = last_number()


def gsm8k_row(r: Row, n: int, where: str) -> Row:
    answer = str(_need(r, "answer", where))
    if "####" not in answer:
        raise DataError(f"{where}: answer has no '#### N' final line")
    solution, final = answer.rsplit("####", 1)
    return {
        "id": str(r.get("id", n)),
        "question": _need(r, "question", where),
        "answer": answer,
        "solution": solution.strip(),
        "target": _GSM_NUMBER(final),
    }


def read_gsm8k(path: Path, split: str = "test", subjects: list[str] | None = None) -> list[Row]:
    file = path if path.is_file() else path / f"{split}.jsonl"
    return [gsm8k_row(r, n, f"{file}: row {n + 1}") for n, r in enumerate(_read_jsonl(file))]


def hub_gsm8k(records: Iterable[Row]) -> list[Row]:
    return [gsm8k_row(dict(r), n, f"hub row {n + 1}") for n, r in enumerate(records)]


# ---- MATH-500: test.jsonl, {"problem", "solution", "answer", "subject", "level", "unique_id"} ---
def math_row(r: Row, n: int, where: str) -> Row:
    return {
        **r,
        "id": str(r.get("unique_id", n)),
        "problem": _need(r, "problem", where),
        "answer": str(_need(r, "answer", where)),
        "solution": r.get("solution", ""),
    }


def read_math500(path: Path, split: str = "test", subjects: list[str] | None = None) -> list[Row]:
    file = path if path.is_file() else path / f"{split}.jsonl"
    rows = [math_row(r, n, f"{file}: row {n + 1}") for n, r in enumerate(_read_jsonl(file))]
    return [r for r in rows if subjects is None or r.get("subject") in subjects]


def hub_math500(records: Iterable[Row]) -> list[Row]:
    return [math_row(dict(r), n, f"hub row {n + 1}") for n, r in enumerate(records)]


# ---- ARC: ARC-Challenge-{Train,Dev,Test}.jsonl, question.stem / question.choices / answerKey -----
def arc_row(r: Row, where: str) -> Row:
    q = _need(r, "question", where)
    if isinstance(q, dict):  # official release
        stem, items = _need(q, "stem", where), _need(q, "choices", where)
        texts = [c["text"] for c in items]
        labels = [str(c["label"]) for c in items]
    else:  # hub copy: question is the stem, choices is {"text": [...], "label": [...]}
        stem = q
        texts = list(r["choices"]["text"])
        labels = [str(x) for x in r["choices"]["label"]]
    key = str(_need(r, "answerKey", where))
    if key not in labels:
        raise DataError(f"{where}: answerKey {key!r} is not a choice label ({labels})")
    return _mc_row(str(_need(r, "id", where)), stem, texts, labels.index(key), labels=labels)


def read_arc(path: Path, split: str = "test", subjects: list[str] | None = None) -> list[Row]:
    if path.is_file():
        file = path
    else:
        cands = sorted(path.glob(f"*-{split.capitalize()}.jsonl"))
        if not cands:
            raise DataError(f"{path}: no *-{split.capitalize()}.jsonl file")
        file = cands[0]
    return [arc_row(r, f"{file}: row {n + 1}") for n, r in enumerate(_read_jsonl(file))]


def hub_arc(records: Iterable[Row]) -> list[Row]:
    return [arc_row(dict(r), f"hub row {n + 1}") for n, r in enumerate(records)]


# ---- HellaSwag: hellaswag_{train,val,test}.jsonl, with lm-eval's preprocessing ---------------
def hellaswag_preprocess(text: str) -> str:
    """lm-evaluation-harness's `preprocess` for HellaSwag (WikiHow bracket artefacts)."""
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    return text.replace("  ", " ")


def hellaswag_row(r: Row, n: int, where: str) -> Row:
    ctx = _need(r, "ctx_a", where) + " " + str(_need(r, "ctx_b", where)).capitalize()
    label = r.get("label")
    return _mc_row(
        str(r.get("ind", n)),
        hellaswag_preprocess(_need(r, "activity_label", where) + ": " + ctx),
        [hellaswag_preprocess(e) for e in _need(r, "endings", where)],
        int(label) if label not in (None, "") else None,
        activity_label=r["activity_label"],
    )


def read_hellaswag(path: Path, split: str = "val", subjects: list[str] | None = None) -> list[Row]:
    file = path if path.is_file() else path / f"hellaswag_{split}.jsonl"
    return [hellaswag_row(r, n, f"{file}: row {n + 1}") for n, r in enumerate(_read_jsonl(file))]


def hub_hellaswag(records: Iterable[Row]) -> list[Row]:
    return [hellaswag_row(dict(r), n, f"hub row {n + 1}") for n, r in enumerate(records)]


# ---- TruthfulQA MC: mc_task.json (targets as {answer: 0/1}) or the hub's {choices, labels} ----
def _targets(value: Any, where: str) -> tuple[list[str], list[int]]:
    if isinstance(value, dict) and "choices" in value and "labels" in value:
        return list(value["choices"]), [int(x) for x in value["labels"]]
    if isinstance(value, dict):
        return list(value), [int(v) for v in value.values()]
    raise DataError(f"{where}: targets must be {{answer: label}} or {{choices, labels}}")


def truthfulqa_row(r: Row, n: int, where: str) -> Row:
    mc1, l1 = _targets(_need(r, "mc1_targets", where), where + ".mc1_targets")
    mc2, l2 = _targets(_need(r, "mc2_targets", where), where + ".mc2_targets")
    if l1.count(1) != 1:
        raise DataError(f"{where}: mc1_targets needs exactly one true answer")
    if 1 not in l2 or 0 not in l2 or l2 != sorted(l2, reverse=True):
        raise DataError(f"{where}: mc2_targets must list the true answers first, then the false")
    return {
        "id": str(r.get("id", n)),
        "question": _need(r, "question", where),
        "choices": mc1,
        "answer": l1.index(1),
        "mc2_choices": mc2,
        "mc2_labels": l2,
    }


def read_truthfulqa(
    path: Path, split: str = "validation", subjects: list[str] | None = None
) -> list[Row]:
    file = path if path.is_file() else path / "mc_task.json"
    data = _read_json(file)
    if not isinstance(data, list):
        raise DataError(f"{file}: expected a JSON list of questions")
    return [truthfulqa_row(r, n, f"{file}: item {n + 1}") for n, r in enumerate(data)]


def hub_truthfulqa(records: Iterable[Row]) -> list[Row]:
    return [truthfulqa_row(dict(r), n, f"hub row {n + 1}") for n, r in enumerate(records)]


# ---- HumanEval: HumanEval.jsonl(.gz): task_id, prompt, canonical_solution, test, entry_point ---
def humaneval_row(r: Row, where: str) -> Row:
    for f in ("task_id", "prompt", "test", "entry_point"):
        _need(r, f, where)
    return {**r, "id": str(r["task_id"])}


def read_humaneval(path: Path, split: str = "test", subjects: list[str] | None = None) -> list[Row]:
    file = path
    if path.is_dir():
        cands = [path / "HumanEval.jsonl.gz", path / "HumanEval.jsonl"]
        file = next((c for c in cands if c.is_file()), cands[0])
    return [humaneval_row(r, f"{file}: row {n + 1}") for n, r in enumerate(_read_jsonl(file))]


def hub_humaneval(records: Iterable[Row]) -> list[Row]:
    return [humaneval_row(dict(r), f"hub row {n + 1}") for n, r in enumerate(records)]


# ---- MBPP: mbpp.jsonl; splits by task_id as in the paper (prompt 1-10, test 11-510, ...) ------
MBPP_SPLITS = {"prompt": (1, 10), "test": (11, 510), "validation": (511, 600), "train": (601, 974)}


def mbpp_row(r: Row, where: str) -> Row:
    text = r.get("text", r.get("prompt"))  # the sanitized release calls it "prompt"
    if text is None:
        raise DataError(f"{where}: missing field 'text'")
    tests = _need(r, "test_list", where)
    return {
        **r,
        "id": str(_need(r, "task_id", where)),
        "text": text,
        "test_list": list(tests),
        "test_setup_code": r.get("test_setup_code", "") or "",
        "code": r.get("code", ""),
    }


def read_mbpp(path: Path, split: str = "test", subjects: list[str] | None = None) -> list[Row]:
    file = path if path.is_file() else path / "mbpp.jsonl"
    if split not in MBPP_SPLITS:
        raise DataError(
            f"{file}: MBPP has no split {split!r}", hint=f"use {', '.join(MBPP_SPLITS)}"
        )
    lo, hi = MBPP_SPLITS[split]
    rows = [mbpp_row(r, f"{file}: row {n + 1}") for n, r in enumerate(_read_jsonl(file))]
    return [r for r in rows if lo <= int(r["task_id"]) <= hi]


def hub_mbpp(records: Iterable[Row]) -> list[Row]:
    return [mbpp_row(dict(r), f"hub row {n + 1}") for n, r in enumerate(records)]


# ---- AGIEval: data/v1/<task>.jsonl, passage/question/options ["(A)..."]/label ----------------
def agieval_row(r: Row, n: int, task: str, where: str) -> Row:
    options = list(_need(r, "options", where))
    label = _need(r, "label", where)
    if isinstance(label, list):
        raise DataError(
            f"{where}: multi-answer item (label {label}) cannot be scored by loglikelihood",
            hint="leave out multi-answer tasks such as gaokao-physics' multiple-select items",
        )
    return _mc_row(
        f"{task}/{n}",
        _need(r, "question", where),
        options,
        _letter_index(label, len(options), where),
        passage=r.get("passage") or "",
        letters=[f"({LETTERS[i]})" for i in range(len(options))],
        last_letter=LETTERS[len(options) - 1],
        task=task,
    )


def read_agieval(path: Path, split: str = "test", subjects: list[str] | None = None) -> list[Row]:
    files = [path] if path.is_file() else sorted(path.glob("*.jsonl"))
    if subjects is not None and path.is_dir():
        files = [path / f"{s}.jsonl" for s in subjects]
    rows = []
    for file in files:
        if not file.is_file():
            raise DataError(f"{file} does not exist")
        rows += [
            agieval_row(r, n, file.stem, f"{file}: row {n + 1}")
            for n, r in enumerate(_read_jsonl(file))
        ]
    return rows


# ---- C3: c3-{m,d}-{train,dev,test}.json: [[sentences], [{question, choice, answer}], doc id] ----
def c3_rows(data: Any, source: str) -> list[Row]:
    if not isinstance(data, list):
        raise DataError(f"{source}: expected a JSON list of documents")
    rows = []
    for d, doc in enumerate(data):
        where = f"{source}: document {d + 1}"
        if not (isinstance(doc, list) and len(doc) == 3 and isinstance(doc[1], list)):
            raise DataError(f"{where}: expected [sentences, questions, id]")
        context, questions, doc_id = doc
        for q, item in enumerate(questions):
            w = f"{where}, question {q + 1}"
            choices = list(_need(item, "choice", w))
            answer = _need(item, "answer", w)
            if answer not in choices:
                raise DataError(f"{w}: answer {answer!r} is not one of the choices")
            rows.append(
                _mc_row(
                    f"{doc_id}-{q}",
                    _need(item, "question", w),
                    choices,
                    choices.index(answer),
                    context=list(context),
                )
            )
    return rows


def read_c3(path: Path, split: str = "dev", subjects: list[str] | None = None) -> list[Row]:
    if path.is_file():
        files = [path]
    else:
        files = sorted(path.glob(f"c3-*-{split}.json")) or sorted(path.glob(f"*-{split}.json"))
        if not files:
            raise DataError(f"{path}: no c3-*-{split}.json files")
    rows = []
    for file in files:
        rows += c3_rows(_read_json(file), str(file))
    return rows


def hub_c3(records: Iterable[Row]) -> list[Row]:
    """dataset-org/c3: documents, document_id, questions {question, answer, choice}."""
    docs = []
    for r in records:
        qs = r["questions"]
        items = [
            {"question": q, "choice": list(c), "answer": a}
            for q, c, a in zip(qs["question"], qs["choice"], qs["answer"], strict=True)
        ]
        docs.append([list(r["documents"]), items, r["document_id"]])
    return c3_rows(docs, "hub")
