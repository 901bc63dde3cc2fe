"""lm-eval's `remove_whitespace` filter and `exact_match` options, against lm-eval itself.

Reference: lm-evaluation-harness (installed): `lm_eval.filters.extraction.WhitespaceFilter`
and `lm_eval.api.metrics.exact_match_hf_evaluate` (HF evaluate's exact_match), called on the
same prediction/reference pairs. Before this, `' Paris'` vs `'paris'` scored 1.0 in lm-eval
(remove_whitespace + ignore_case) and 0.0 in pingce.
"""

from __future__ import annotations

import pytest

from pingce.core.errors import SpecError
from pingce.llm import text_metrics
from pingce.llm.filters import build_pipeline

CASES = [
    (" Paris", "paris"),
    ("Paris.", "paris"),
    ("  The answer: 1,000!", "the answer 1000"),
    ("Answer: 42", "42"),
    ("北京。", "北京"),  # "。" is not ASCII punctuation: lm-eval keeps it
    ("ÉCOLE", "école"),
    ("abc123", "abc"),
    ("x\t", "X"),
]
OPTIONS = [
    {},
    {"ignore_case": True},
    {"ignore_punctuation": True},
    {"ignore_case": True, "ignore_punctuation": True},
    {"ignore_numbers": True},
    {"regexes_to_ignore": [",", "^(?i:answer:?)\\s*"]},
    {"regexes_to_ignore": ["[0-9]"], "ignore_case": True, "ignore_punctuation": True},
]


@pytest.mark.parametrize("options", OPTIONS)
def test_exact_match_equals_lm_eval(options: dict) -> None:
    extraction = pytest.importorskip("lm_eval.filters.extraction")
    from lm_eval.api.metrics import exact_match_hf_evaluate

    strip = build_pipeline(["remove_whitespace"])
    (lm_filtered,) = extraction.WhitespaceFilter().apply([[p for p, _ in CASES]], [{}])
    for (pred, ref), lm_pred in zip(CASES, lm_filtered, strict=True):
        theirs = exact_match_hf_evaluate([lm_pred], [ref], **options)["exact_match"]
        ours = text_metrics.exact_match(strip(pred), [ref], **options)
        assert ours == float(theirs), (pred, ref, options)


def test_the_reported_case() -> None:
    strip = build_pipeline(["remove_whitespace"])
    assert text_metrics.exact_match(strip(" Paris"), ["paris"]) == 0.0
    assert text_metrics.exact_match(strip(" Paris"), ["paris"], ignore_case=True) == 1.0
    # any of several references
    assert text_metrics.exact_match("PARIS", ["Lyon", "paris"], ignore_case=True) == 1.0


def test_task_field_validates_options() -> None:
    from pydantic import ValidationError

    from pingce.llm.tasks.generative import ExactMatchOptions

    opts = ExactMatchOptions(ignore_case=True, regexes_to_ignore=[","])
    assert opts.model_dump() == {
        "regexes_to_ignore": [","],
        "ignore_case": True,
        "ignore_punctuation": False,
        "ignore_numbers": False,
    }
    with pytest.raises(ValidationError, match="invalid pattern"):
        ExactMatchOptions(regexes_to_ignore=["("])
    with pytest.raises(ValidationError):
        ExactMatchOptions(ignore_cases=True)  # a typo is an error, not ignored


def test_suite_with_exact_match_options_validates(tmp_path) -> None:
    from pingce.core.spec import load_suite

    (tmp_path / "d.jsonl").write_text('{"id": "1", "q": "Capital?", "answer": "paris"}\n')
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "standard: llm\nname: t\ntitle: t\ntasks:\n"
        "  - id: cap\n    type: generative\n    dimension: knowledge\n"
        "    dataset: {path: d.jsonl}\n    prompt: '{{ q }}'\n"
        "    filters: [remove_whitespace]\n"
        "    exact_match: {ignore_case: true, regexes_to_ignore: ['\\.$']}\n",
        encoding="utf-8",
    )
    loaded = load_suite(str(suite))
    assert loaded.spec.tasks[0].params["exact_match"]["ignore_case"] is True
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        suite.read_text(encoding="utf-8").replace("ignore_case", "ignore_kase"), encoding="utf-8"
    )
    with pytest.raises(SpecError, match="ignore_kase"):
        load_suite(str(bad))


def test_list_filters_and_metrics(tmp_path, pingce_cli) -> None:
    proc = pingce_cli(["list", "filters"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in ("remove_whitespace", "regex", "option_letter", "take_until", "strip"):
        assert name in proc.stdout
    assert "fallback='[invalid]'" in proc.stdout  # not eaten as markup
    assert "pattern (required)" in proc.stdout
    proc = pingce_cli(["list", "metrics"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in ("exact_match", "acc_norm", "bits_per_byte", "rouge_l"):
        assert name in proc.stdout


def test_task_field_reference_lists_every_field() -> None:
    """docs/standards/llm-tasks.md names every field of the core task types (so a new field
    cannot stay undocumented) and the porting page's example suite validates."""
    from pathlib import Path

    from pingce.core.registry import load_plugins, task_types
    from pingce.core.spec import TaskSpec

    load_plugins()
    docs = Path(__file__).resolve().parents[2] / "docs" / "standards"
    page = (docs / "llm-tasks.md").read_text(encoding="utf-8")
    fields = set(TaskSpec.model_fields)
    for name in ("multiple_choice", "generative", "perplexity", "math_generative", "mc2"):
        params = task_types.get(name).Params
        fields |= set(params.model_fields)
        for sub in ("generation", "exact_match", "dataset"):
            if sub in params.model_fields:
                fields |= set(params.model_fields[sub].annotation.model_fields)
    for name in ("cmmlu", "gsm8k"):
        fields |= {"row_description", "fewshot_group", "fewshot_trials"} & set(
            task_types.get(name).Params.model_fields
        )
    missing = sorted(f for f in fields if f"`{f}`" not in page and f"`generation.{f}`" not in page)
    assert not missing, f"docs/standards/llm-tasks.md lacks {missing}"


def test_porting_example_validates(tmp_path) -> None:
    import re
    from pathlib import Path

    from pingce.core.spec import load_suite

    page = (
        Path(__file__).resolve().parents[2] / "docs" / "standards" / "llm-porting-lm-eval.md"
    ).read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", page, re.S) if "standard: llm" in b]
    (tmp_path / "capitals.jsonl").write_text(
        '{"id": "1", "country": "France", "capital": "Paris"}\n', encoding="utf-8"
    )
    (tmp_path / "capitals.yaml").write_text(block, encoding="utf-8")
    suite = load_suite(str(tmp_path / "capitals.yaml"))
    assert suite.spec.tasks[0].params["exact_match"] == {"ignore_case": True}
