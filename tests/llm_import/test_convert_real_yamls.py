"""`convert` on real task YAMLs shipped in the installed lm-eval package (not written by us).

Each case names the task file, the status pingce must report and the exact set of lm-eval
fields it must list as gaps; every suite produced must pass pingce's own validation
(`load_suite`, which runs the llm standard's `validate_suite`). lm-eval is read as files only.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pingce.core.spec import load_suite
from pingce.llm.lmeval_import import convert

lm_eval = pytest.importorskip("lm_eval", reason="needs the lm-eval package (its task YAMLs)")
TASKS = Path(lm_eval.__file__).parent / "tasks"

# file -> (status, gap fields). A gap field repeated (one per metric) is listed once.
CASES: dict[str, tuple[str, set[str]]] = {
    "super_glue/boolq/default.yaml": ("converted", set()),
    "glue/rte/default.yaml": ("converted", set()),
    "piqa/piqa.yaml": ("converted", set()),  # `{{[sol1, sol2]}}` -> one template per choice
    "nq_open/nq_open.yaml": ("converted", set()),
    "sciq/sciq.yaml": ("converted", set()),  # four fields as four choices, gold index 3
    "pile/pile_arxiv.yaml": ("converted", set()),
    "pile_10k/pile_10k.yaml": ("converted", set()),
    "hellaswag/hellaswag.yaml": ("partial", {"process_docs"}),
    "mmlu/default/mmlu_anatomy.yaml": ("partial", {"fewshot_config.sampler"}),
    "mmlu/default/mmlu_astronomy.yaml": ("partial", {"fewshot_config.sampler"}),
    "cmmlu/cmmlu_agronomy.yaml": ("partial", {"fewshot_config.sampler"}),
    "ceval/ceval-valid_accountant.yaml": ("partial", {"fewshot_config.sampler"}),
    "gsm8k/gsm8k.yaml": ("partial", {"filter_list"}),  # strict-match kept, flexible reported
    "gsm8k/gsm8k-cot.yaml": (
        "partial",
        {"fewshot_config.sampler", "fewshot_config.samples", "filter_list"},
    ),
    "triviaqa/default.yaml": ("partial", {"doc_to_target"}),  # `{{answer.aliases}}` is a list
    "bbh/cot_fewshot/boolean_expressions.yaml": (
        "partial",
        {"fewshot_config.sampler", "fewshot_config.samples"},
    ),
    "bbh/cot_fewshot/date_understanding.yaml": (
        "partial",
        {"fewshot_config.sampler", "fewshot_config.samples"},
    ),
    "bbh/cot_fewshot/causal_judgement.yaml": (
        "partial",
        {"fewshot_config.sampler", "fewshot_config.samples"},
    ),
    "arc/arc_easy.yaml": ("failed", {"doc_to_choice"}),  # `{{choices.text}}` computes a list
    "arc/arc_challenge.yaml": ("failed", {"doc_to_choice"}),
    "openbookqa/openbookqa.yaml": ("failed", {"doc_to_choice"}),
    "truthfulqa/truthfulqa_mc1.yaml": ("failed", {"doc_to_choice"}),
    "truthfulqa/truthfulqa_mc2.yaml": ("failed", {"doc_to_choice", "process_results"}),
    "winogrande/default.yaml": ("failed", {"doc_to_text", "doc_to_choice", "doc_to_target"}),
    "lambada/lambada_openai.yaml": ("failed", {"output_type"}),
    "lambada/lambada_standard.yaml": ("failed", {"output_type"}),
    "wikitext/wikitext.yaml": ("failed", {"doc_to_target", "process_results"}),
    "ifeval/ifeval.yaml": ("failed", {"metric_list", "process_results"}),
    "drop/default.yaml": (
        "failed",
        {"process_docs", "metric_list", "process_results"},
    ),
    "logiqa/logiqa.yaml": ("failed", {"doc_to_text", "doc_to_target"}),
    "race/race.yaml": ("failed", {"doc_to_text", "doc_to_choice", "doc_to_target"}),
    "c4/c4.yaml": (
        "failed",
        {
            "dataset_kwargs.data_files",
            "dataset_kwargs.verification_mode",
            "doc_to_target",
            "process_results",
        },
    ),
}


def test_at_least_thirty_real_yamls() -> None:
    assert len(CASES) >= 30
    assert all((TASKS / name).is_file() for name in CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_real_yaml_converts_or_reports_its_gaps(name: str, tmp_path: Path) -> None:
    status, gap_fields = CASES[name]
    result = convert(TASKS / name)
    assert len(result.reports) == 1
    report = result.reports[0]
    assert report.status == status, report.gaps
    assert {g.field for g in report.gaps} == gap_fields
    for gap in report.gaps:
        assert gap.value and gap.why  # each gap says what and why
    if status == "failed":
        assert result.suites == {}
        return
    ((stem, suite),) = result.suites.items()
    path = tmp_path / f"{stem}.yaml"
    path.write_text(yaml.safe_dump(suite, allow_unicode=True), encoding="utf-8")
    loaded = load_suite(str(path))  # pingce validate: core fields and every task field
    assert [t.id for t in loaded.spec.tasks] == [report.task]


def test_function_gaps_say_where_the_python_is_and_that_it_did_not_run() -> None:
    report = convert(TASKS / "hellaswag/hellaswag.yaml").reports[0]
    (gap,) = report.gaps
    assert gap.value == "!function utils.process_docs"
    assert "unsupported: !function" in gap.why
    assert "process_docs is defined in utils.py next to the YAML; it was not executed" in gap.why
    ifeval = convert(TASKS / "ifeval/ifeval.yaml").reports[0]
    assert any("unsupported: !function" in g.why for g in ifeval.gaps)
    metrics = sorted(g.value for g in ifeval.gaps if g.field == "metric_list" and not g.blocking)
    assert metrics == sorted(
        repr(m)
        for m in ("prompt_level_strict_acc", "inst_level_strict_acc", "prompt_level_loose_acc")
        + ("inst_level_loose_acc",)
    )


def test_field_mapping_of_gsm8k_and_mmlu() -> None:
    """Values checked against the YAML files themselves (read here with PyYAML)."""
    gsm8k = convert(TASKS / "gsm8k/gsm8k.yaml").reports[0].pingce_task
    assert gsm8k is not None
    assert gsm8k["dataset"] == {
        "path": "openai/gsm8k",
        "format": "hf",
        "split": "test",
        "name": "main",
        "fewshot_split": "train",
    }
    assert gsm8k["num_fewshot"] == 5
    assert gsm8k["generation"] == {
        "until": ["Question:", "</s>", "<|im_end|>"],
        "max_new_tokens": 256,  # lm-eval's HF default when max_gen_toks is absent
        "temperature": 0.0,
    }
    assert gsm8k["filters"] == [
        {"name": "regex", "pattern": "#### (\\-?[0-9\\.\\,]+)", "select": "first"},
        "strip",
    ]
    assert gsm8k["exact_match"] == {
        "ignore_case": True,
        "regexes_to_ignore": [",", "\\$", "(?s).*#### ", "\\.$"],
    }
    # mmlu_anatomy.yaml includes _default_template_yaml: both files' fields arrive.
    anatomy = convert(TASKS / "mmlu/default/mmlu_anatomy.yaml").reports[0].pingce_task
    assert anatomy is not None
    assert anatomy["dataset"]["name"] == "anatomy"  # from the subject file
    assert anatomy["choices"] == ["A", "B", "C", "D"]  # from the included template
    assert anatomy["description"].startswith("The following are multiple choice questions")


def test_mmlu_group_expands_subgroups_and_tags(tmp_path: Path) -> None:
    result = convert(TASKS / "mmlu/default/_mmlu.yaml")
    assert len(result.reports) == 57
    assert {r.status for r in result.reports} == {"partial"}
    suite = result.suites["mmlu"]
    assert len(suite["tasks"]) == 57
    path = tmp_path / "mmlu.yaml"
    path.write_text(yaml.safe_dump(suite, allow_unicode=True), encoding="utf-8")
    assert len(load_suite(str(path)).spec.tasks) == 57


@pytest.mark.parametrize(
    ("group", "count"), [("cmmlu/_cmmlu.yaml", 67), ("ceval/_ceval-valid.yaml", 52)]
)
def test_chinese_groups(group: str, count: int, tmp_path: Path) -> None:
    result = convert(TASKS / group)
    assert len(result.reports) == count
    assert {r.status for r in result.reports} == {"partial"}
    ((stem, suite),) = result.suites.items()
    path = tmp_path / f"{stem}.yaml"
    path.write_text(yaml.safe_dump(suite, allow_unicode=True), encoding="utf-8")
    assert len(load_suite(str(path)).spec.tasks) == count


def test_task_filter_on_a_folder() -> None:
    result = convert(TASKS / "bbh/cot_fewshot", {"bbh_cot_fewshot_navigate"})
    assert [r.task for r in result.reports] == ["bbh_cot_fewshot_navigate"]
    assert list(result.suites) == ["bbh_cot_fewshot_navigate"]


def test_malformed_or_odd_real_yamls_are_reported_not_passed_on(tmp_path: Path) -> None:
    """Three package files that once produced suites pingce refused (found by the sweep)."""
    # afriqa's YAML indents a regex list under `ignore_punctuation`: YAML reads one string.
    afriqa = convert(TASKS / "afrobench/afriqa/prompt_5/afriqa_zul.yaml").reports[0]
    gaps = {g.field: g for g in afriqa.gaps}
    assert gaps["metric_list.exact_match.ignore_punctuation"].why == "expected true or false"
    assert afriqa.pingce_task is not None and "exact_match" in afriqa.pingce_task["metrics"]
    # A choice list built from string expressions with commas inside the quotes is not split.
    xnli = convert(TASKS / "xnli_eu/xnli_eu_native.yaml").reports[0]
    assert xnli.status == "failed" and [g.field for g in xnli.gaps] == ["doc_to_choice"]
    # Parentheses are not allowed in pingce ids: renamed, and the rename is reported.
    name = "tmmluplus_education_(profession_level)"
    result = convert(TASKS / f"tmmluplus/default/{name}.yaml")
    assert list(result.suites) == ["tmmluplus_education__profession_level_"]
    assert any(g.field == "task" and "renamed" in g.why for g in result.reports[0].gaps)
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(result.suites["tmmluplus_education__profession_level_"]))
    load_suite(str(path))


@pytest.mark.slow
def test_every_suite_from_the_whole_package_validates() -> None:
    """All of lm-eval's ~13,000 tasks: `convert` never crashes, and each suite it produces
    passes pingce's validation (what failed is reported instead)."""
    from pingce.core.spec import suite_from_dict

    statuses: dict[str, int] = {}
    for folder in sorted(p for p in TASKS.iterdir() if p.is_dir()):
        result = convert(folder)
        for report in result.reports:
            statuses[report.status] = statuses.get(report.status, 0) + 1
        for stem, suite in result.suites.items():
            suite_from_dict(suite, stem, folder)  # raises SpecError on an invalid suite
    assert sum(statuses.values()) > 12_000
    assert statuses["converted"] + statuses["partial"] > 9_000
