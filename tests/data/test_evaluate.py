"""`pingce data evaluate`: indicators against the generator's ground truth, report, sampling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pingce.core.errors import SpecError
from pingce.core.reporting import build_report_doc
from pingce.core.store import open_store
from pingce.data.cli import evaluate_dataset
from pingce.data.generator import CorpusConfig, generate, write_corpus
from pingce.data.quality.indicators import CHARACTERISTICS, grade
from pingce.data.quality.model import balance_index

DOCS = Path(__file__).resolve().parents[2] / "docs" / "standards" / "data-quality.md"


@pytest.fixture()
def corpus(tmp_path: Path) -> tuple[Path, list[dict]]:
    recs = generate(
        CorpusConfig(docs=200, seed=9, exact_dup_rate=0.1, near_dup_rate=0.1, low_quality_rate=0.1)
    )
    path = tmp_path / "c.jsonl"
    write_corpus(recs, path)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("{broken json\n")
    return path, recs


def test_evaluate_matches_ground_truth(corpus: tuple[Path, list[dict]], tmp_path: Path) -> None:
    path, recs = corpus
    store = open_store(None)
    run_id = evaluate_dataset(store, str(path), show_progress=False)
    doc = build_report_doc(store, store.get_run(run_id))
    ind = {i["id"]: i for i in doc["indicators"]}
    n = len(recs)
    dups = sum(r["gt_kind"] in ("exact_dup", "near_dup") for r in recs)
    # Exact duplicates: the generator's count (whitespace variants normalise to the same hash).
    assert ind["data_exact_dup_rate"]["value"] == pytest.approx(
        sum(r["gt_kind"] == "exact_dup" for r in recs) / n
    )
    assert abs(ind["data_near_dup_rate"]["value"] - dups / n) <= 0.02
    assert ind["data_malformed_rate"]["value"] == pytest.approx(1 / (n + 1))
    pii = sum(r["gt_pii"] for r in recs) / n
    assert ind["data_pii_rate"]["value"] == pytest.approx(pii, abs=0.02)
    low = sum(r["gt_kind"] == "low_quality" for r in recs) / n
    assert 1 - ind["data_gopher_pass"]["value"] <= low + 0.01
    assert ind["data_lang_agreement"]["value"] >= 0.9  # declared `lang` vs lingua
    # Per-record rates carry bootstrap CIs around the value.
    e = ind["data_empty_rate"]
    assert e["ci_low"] <= e["value"] <= e["ci_high"]
    # The grade is the score's letter capped by the worst defect rate (issue 16: a corpus with
    # 20% duplicates must not get A).
    assert doc["overall"]["score"] is not None and doc["extra"]["grade"] == grade(
        doc["overall"]["score"], {d["id"]: d["score"] for d in doc["dimensions"]}
    )
    assert [d["id"] for d in doc["dimensions"]] == [c.id for c in CHARACTERISTICS]
    ids = {s["id"] for s in doc["sections"]}
    assert {
        "grade",
        "length-histogram",
        "language-shares",
        "heuristic-distribution",
        "input-problems",
    } <= ids
    from pingce.core.report import write_report

    paths = write_report(doc, tmp_path / "report")
    assert any(p.suffix == ".html" for p in paths)


def test_sample_mode_and_sft_profile(tmp_path: Path) -> None:
    rows = [
        {
            "id": str(i),
            "messages": [
                {"role": "user", "content": f"Question {i}?"},
                {"role": "assistant", "content": f"Answer number {i}." if i % 4 else ""},
            ],
        }
        for i in range(60)
    ]
    path = tmp_path / "chat.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    store = open_store(None)
    run_id = evaluate_dataset(
        store,
        f"jsonl:{path}",
        profile="sft",
        sample=40,
        fields={"messages_field": "messages"},
        show_progress=False,
    )
    doc = build_report_doc(store, store.get_run(run_id))
    ind = {i["id"]: i for i in doc["indicators"]}
    assert ind["data_empty_rate"]["n"] == 40
    assert 0.1 <= ind["data_empty_rate"]["value"] <= 0.4  # 25% of answers are empty
    assert any("sample of 40 of 60" in n for n in doc["notes"])


def test_bad_dataset_and_options_are_one_line_errors(tmp_path: Path) -> None:
    store = open_store(None)
    with pytest.raises(SpecError, match="--profile"):
        evaluate_dataset(store, str(tmp_path), profile="chat")
    from pingce.core.errors import DataError

    with pytest.raises(DataError, match="does not exist"):
        evaluate_dataset(store, str(tmp_path / "missing.jsonl"), show_progress=False)


def test_balance_index_reference_values() -> None:
    # Hand-computed: TVD({en .8, zh .2}, {en .5, zh .5}) = 0.3; evenness of a 50/50 split is 1.
    assert balance_index({"en": 0.8, "zh": 0.2}, {"en": 0.5, "zh": 0.5}) == pytest.approx(0.7)
    assert balance_index({"en": 0.5, "zh": 0.5}, None) == pytest.approx(1.0)


def test_every_indicator_is_documented() -> None:
    from pingce.core.registry import standards

    page = DOCS.read_text(encoding="utf-8")
    missing = [i.id for i in standards.get("data-quality").indicators() if f"`{i.id}`" not in page]
    assert not missing, f"{DOCS} lacks {missing}"


def test_scoring_tokenizes_each_document_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Evaluation shares the work of its rule sets and measures: the four heuristic rule sets,
    diversity and topic terms all read one tokenization of a document (they used to
    re-tokenize it in each rule). Counted on the real tokenizers, wrapped."""
    import jieba

    from pingce.data import text as text_mod
    from pingce.data.document import Document
    from pingce.data.quality.scoring import ScoringSettings, score_items

    recs = generate(CorpusConfig(docs=40, seed=2, exact_dup_rate=0, near_dup_rate=0))
    docs = [Document(id=r["id"], parts=[("text", r["text"])]) for r in recs]
    calls: dict[str, int] = {}
    regex = text_mod.WORD_OR_PUNCT_RE

    class CountingRegex:
        def findall(self, s: str) -> list[str]:
            calls[s] = calls.get(s, 0) + 1
            return regex.findall(s)

    real_lcut = jieba.lcut

    def counting_lcut(s: str, *a: object, **k: object) -> list[str]:
        calls[s] = calls.get(s, 0) + 1
        return real_lcut(s, *a, **k)

    monkeypatch.setattr(text_mod, "WORD_OR_PUNCT_RE", CountingRegex())
    monkeypatch.setattr(jieba, "lcut", counting_lcut)
    text_mod._regex_words.cache_clear()
    text_mod._jieba_cached.cache_clear()
    score_items(docs, ScoringSettings())  # type: ignore[arg-type]
    per_doc = [calls.get(d.text, 0) for d in docs]
    assert per_doc == [1] * len(docs), per_doc


def test_workers_give_the_same_numbers(tmp_path: Path) -> None:
    """--workers N scores in N spawned processes; the records and indicators are the same."""
    recs = generate(CorpusConfig(docs=600, seed=4))
    path = tmp_path / "c.jsonl"
    write_corpus(recs, path)
    store = open_store(None)
    values = []
    for workers in (1, 2):
        run_id = evaluate_dataset(store, str(path), workers=workers, show_progress=False)
        doc = build_report_doc(store, store.get_run(run_id))
        values.append({i["id"]: i["value"] for i in doc["indicators"]})
    assert values[0] == values[1]
    with pytest.raises(SpecError, match="--workers"):
        evaluate_dataset(store, str(path), workers=0)
