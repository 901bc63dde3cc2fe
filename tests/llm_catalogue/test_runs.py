"""Catalogue suites end to end on the demo model, and what the report adds from the records.

References: hand-derived expectations (verdicts follow from the stored rates and the
thresholds; trial 0 asks exactly what a run without trials asks; C-Eval's submission layout
{subject: {id: letter}}); the HumanEval/MBPP program templates are checked by running the
bundled canonical solutions in the sandbox (all must pass) and a wrong one (must fail).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pingce.core.registry import task_types
from pingce.core.run import RunRequest, execute_run
from pingce.core.spec import builtin_suites_dir, load_suite, suite_from_dict
from pingce.core.store import open_store, records_as_dicts
from pingce.llm.bench_cli import ceval_submission
from pingce.llm.prompts import render
from pingce.llm.report_extras import report_extras
from pingce.llm.sandbox import SandboxLimits, run_programs
from pingce.llm.tasks.base import RunSettings

LLM = builtin_suites_dir() / "llm"
OPTIONS = {"device": "cpu", "dtype": "float32", "batch_size": 16, "seed": 1234, "threads": 2}


def _run(
    suite: Any, model: Path, **options: Any
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    store = open_store()
    run_id = execute_run(store, RunRequest(suite=suite, subject=f"hf:{model}", options={**OPTIONS, **options}),
                         show_progress=False)  # fmt: skip
    row = store.get_run(run_id)
    return row.config["suite_spec"], row.config, records_as_dicts(store.records(run_id))


@pytest.mark.slow
def test_standard_zh_sections_and_verdicts(tiny_model_dir: Path) -> None:
    suite, config, records = _run("llm/standard-zh", tiny_model_dir, limit=3)
    extras = report_extras(suite, config, records)
    ids = [s["id"] for s in extras["sections"]]
    assert "calibration" in ids and "robustness-cmmlu-robust" in ids and "conformance" in ids
    cal = extras["extra"]["calibration"]["ceval"]
    assert cal["n"] == 3 and 0.0 <= cal["ece"] <= 1.0 and 0.0 <= cal["brier"] <= 2.0
    rob = extras["extra"]["robustness"]["cmmlu-robust"]
    assert set(rob["accuracy"]) >= {
        "clean",
        "punctuation_width",
        "whitespace",
        "option_shuffle",
        "rotation1",
    }
    by_id = {i["id"]: i for i in extras["indicators"]}
    refuse = by_id["refusal_rate.refuse-zh"]
    refused = [r["scores"]["refusal_rate"] for r in records if r["task"] == "refuse-zh"]
    assert refuse["value"] == pytest.approx(sum(refused) / len(refused))
    assert refuse["verdict"] == ("pass" if refuse["value"] >= 0.95 else "fail")
    over = by_id["over_refusal_rate.over-refuse-zh"]
    assert over["threshold"] == 0.05 and over["verdict"] == (
        "pass" if over["value"] <= 0.05 else "fail"
    )
    drop = by_id["acc_drop.cmmlu-robust"]
    assert drop["direction"] == "lower" and drop["threshold"] == 0.10
    # Robustness records: clean + 3 perturbations + 3 rotations per CMMLU item (4 options).
    rec = next(r for r in records if r["task"] == "cmmlu-robust")
    assert len(rec["data"]["variants"]) == 7
    assert rec["scores"]["circular_acc"] == float(all(v == 1.0 for k, v in rec["data"]["variants"].items()
                                                      if k == "clean" or k.startswith("rotation")))  # fmt: skip


@pytest.mark.slow
def test_fewshot_trials_spread(tiny_model_dir: Path) -> None:
    base = {"id": "mmlu", "type": "mmlu", "dimension": "knowledge", "num_fewshot": 2,
            "dataset": {"path": "benchmarks/mmlu", "split": "test", "fewshot_split": "dev"}}  # fmt: skip
    plain = suite_from_dict({"standard": "llm", "name": "t", "tasks": [base]}, "t", LLM)
    trials = suite_from_dict(
        {"standard": "llm", "name": "t3", "tasks": [{**base, "fewshot_trials": 3}]}, "t3", LLM
    )
    _, _, plain_recs = _run(plain, tiny_model_dir)
    suite, config, recs = _run(trials, tiny_model_dir)
    # Trial 0 asks exactly what the run without trials asks.
    assert [r["data"]["prompt"] for r in recs] == [r["data"]["prompt"] for r in plain_recs]
    assert [r["data"]["trials"][0]["acc"] for r in recs] == [r["scores"]["acc"] for r in plain_recs]
    for r in recs:
        assert r["scores"]["acc"] == pytest.approx(sum(t["acc"] for t in r["data"]["trials"]) / 3)
    spread = report_extras(suite, config, recs)["extra"]["fewshot_trials"]["mmlu"]
    per_trial = [sum(r["data"]["trials"][t]["acc"] for r in recs) / len(recs) for t in range(3)]
    assert spread["per_trial"] == pytest.approx(per_trial)
    assert spread["range"] == pytest.approx(max(per_trial) - min(per_trial))


@pytest.mark.slow
def test_ceval_test_split_submission(tiny_model_dir: Path) -> None:
    suite, _, records = _run("llm/ceval-test-sample", tiny_model_dir)
    sub = ceval_submission(suite, records)
    assert set(sub) == {"computer_network", "high_school_physics"}
    assert list(sub["computer_network"]) == ["0", "1", "2"] and len(sub["high_school_physics"]) == 2
    assert all(v in "ABCD" for s in sub.values() for v in s.values())
    assert all(r["scores"] == {"answered": 1.0} for r in records)


@pytest.mark.slow
def test_contamination_task(tiny_model_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "items.jsonl"
    data.write_text(
        '{"id": "a", "question": "the quick brown fox jumps over the lazy dog near the river bank today"}\n'
        '{"id": "b", "question": "an entirely different sentence that the corpus does not contain at all"}\n'
    )
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(
        "Yesterday the quick brown fox jumps over the lazy dog near the river bank today.\n"
    )
    suite = suite_from_dict(
        {"standard": "llm", "name": "c", "tasks": [
            {"id": "cont", "type": "contamination", "dataset": {"path": str(data)}, "corpus": [str(corpus)],
             "min_k_percent": 20, "metrics": ["contaminated", "ngram_overlap", "min_k_prob"]}]},
        "c", tmp_path)  # fmt: skip
    s, config, recs = _run(suite, tiny_model_dir)
    assert [r["scores"]["ngram_overlap"] for r in recs] == [1.0, 0.0]
    assert [r["scores"]["contaminated"] for r in recs] == [1.0, 0.0]
    assert all(r["scores"]["min_k_prob"] < 0 for r in recs)
    section = next(
        x for x in report_extras(s, config, recs)["sections"] if x["id"] == "contamination-cont"
    )
    assert [row[0] for row in section["table"]["rows"]] == ["a"]


def test_code_program_templates_run_canonical_solutions() -> None:
    limits = SandboxLimits(timeout_s=5.0)
    for name, solution in (("humaneval", "canonical_solution"), ("mbpp", "code")):
        suite = load_suite(f"llm/{name}-sample")
        task = task_types.get(name)(suite.spec.tasks[0], suite)
        samples = task.prepare(RunSettings(num_fewshot=0))
        rows, _, _ = task.load_rows()
        good = [render(p["program_template"], {**p["row"], "completion": r[solution]}, "t")
                for (_, _, p), r in zip(samples, rows, strict=True)]  # fmt: skip
        assert all(res.passed for res in run_programs(good, limits)), name
        wrong = render(
            samples[0][2]["program_template"], {**samples[0][2]["row"], "completion": "\n"}, "t"
        )
        assert not run_programs([wrong], limits)[0].passed


@pytest.mark.slow
def test_standard_en_every_task_type(tiny_model_dir: Path) -> None:
    suite, config, records = _run("llm/standard-en", tiny_model_dir, limit=1)
    by_task: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_task.setdefault(r["task"], []).append(r)
    assert set(by_task) == {t["id"] for t in suite["tasks"]}
    for r in by_task["humaneval"] + by_task["mbpp"]:
        n, c = r["data"]["n"], r["data"]["c"]
        assert n == 1 and r["scores"]["pass@1"] == c / n
        assert r["data"]["isolation"].endswith("rlimit")
    for r in by_task["math500"]:
        assert r["scores"]["math_equiv"] in (0.0, 1.0)
    for r in by_task["truthfulqa-mc2"]:
        assert 0.0 <= r["scores"]["mc2"] <= 1.0
    gsm = by_task["gsm8k"][0]
    assert (
        gsm["data"]["reference"] == "216" and gsm["data"]["prompt"].count("#### ") == 2
    )  # 2 shots
    extras = report_extras(suite, config, records)
    assert {"calibration", "robustness-arc-robust", "conformance"} <= {
        s["id"] for s in extras["sections"]
    }
