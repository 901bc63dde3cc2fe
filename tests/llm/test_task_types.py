"""The llm task types in the core registry: namespaced `llm.<type>`, with the short names that
suites were written with kept as aliases (same class, same reports), listed once."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from pingce.core.errors import SpecError
from pingce.core.registry import load_plugins, task_types

SHORT = ("multiple_choice", "generative", "perplexity", "judged", "mc2", "robustness", "mmlu")


def test_every_llm_type_is_namespaced_and_its_short_name_resolves_to_it() -> None:
    load_plugins()
    for short in SHORT:
        assert f"llm.{short}" in task_types.names()
        assert short not in task_types.names()  # an alias is not listed
        assert task_types.get(short) is task_types.get(f"llm.{short}")
        assert task_types.canonical(short) == f"llm.{short}"


def test_metric_listing_names_the_namespaced_types_once() -> None:
    from pingce.core.listing import metric_rows

    load_plugins()
    acc = next(row for row in metric_rows() if row[0] == "acc")
    types = acc[4].split(", ")
    assert "llm.multiple_choice" in types and "multiple_choice" not in types
    assert len(types) == len(set(types))


def _quick_with(tmp_path: Path, rename: dict[str, str]) -> Path:
    """llm/quick with its task types renamed, next to its data."""
    import yaml

    from pingce.core.spec import resolve_suite_path

    src = resolve_suite_path("llm/quick")
    raw = yaml.safe_load(src.read_text(encoding="utf-8"))
    for task in raw["tasks"]:
        task["type"] = rename.get(task["type"], task["type"])
        for key in ("path", "fewshot_path"):
            if key in task.get("dataset", {}):
                task["dataset"][key] = str(src.parent / task["dataset"][key])
    out = tmp_path / "quick.yaml"
    out.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return out


def test_a_suite_may_use_either_name(tmp_path: Path) -> None:
    from pingce.core.spec import load_suite

    load_plugins()
    names = {"multiple_choice": "llm.multiple_choice", "generative": "llm.generative"}
    suite = load_suite(str(_quick_with(tmp_path, names)))
    assert {t.type for t in suite.spec.tasks} >= {"llm.multiple_choice", "llm.generative"}


SUITE = {
    "tasks": [
        {"id": "mc", "type": "multiple_choice", "dimension": "knowledge", "metrics": ["acc"]},
        {"id": "gen", "type": "generative", "dimension": "mathematics", "metrics": ["exact_match"]},
    ]
}


def _records() -> list[dict]:
    usage = {"tokens_in": 10, "tokens_out": 2, "requests": 1, "seconds": 0.5}
    recs = []
    for task, metric, values in (("mc", "acc", [1, 0, 1, 1]), ("gen", "exact_match", [0, 1])):
        for i, v in enumerate(values):
            data = {"prompt": "p", "output": "o", "reference": "r", "usage": usage}
            recs.append(
                {
                    "task": task,
                    "sample_id": f"{task}-{i}",
                    "position": i,
                    "scores": {metric: float(v)},
                    "data": data,
                }
            )
    return recs


def test_summary_is_the_same_under_either_name() -> None:
    """The report's task rows keep the type the suite wrote; every number is the same (and
    the hand-computed one: acc 3/4, exact match 1/2, overall the mean of the dimensions)."""
    from pingce.llm.summary import summarize

    load_plugins()
    renamed = copy.deepcopy(SUITE)
    for task in renamed["tasks"]:
        task["type"] = f"llm.{task['type']}"
    config = {"options": {"seed": 7}, "settings": {}}
    a = summarize(SUITE, config, _records())
    b = summarize(renamed, config, _records())
    for ta, tb in zip(a["tasks"], b["tasks"], strict=True):
        assert tb["type"] == f"llm.{ta['type']}"
        assert ta["metrics"] == tb["metrics"]
    assert a["indicators"] == b["indicators"] and a["overall"] == b["overall"]
    assert [t["metrics"][t["primary_metric"]]["value"] for t in a["tasks"]] == [0.75, 0.5]
    assert a["overall"]["score"] == pytest.approx((0.75 + 0.5) / 2)
    # the report's indicator list: run-level roll-up and efficiency first, then per task
    assert [(i["id"], i["scope"]) for i in a["indicators"]] == [
        ("overall_score", "run"),
        ("dimension_score.knowledge", "knowledge"),
        ("dimension_score.mathematics", "mathematics"),
        ("requests", "run"),
        ("tokens_in", "run"),
        ("tokens_out", "run"),
        ("latency_per_sample_ms", "run"),
        ("tokens_per_second", "run"),
        ("acc", "mc"),
        ("exact_match", "gen"),
    ]
    eff = {i["id"]: i["value"] for i in a["indicators"] if i["scope"] == "run"}
    assert eff["tokens_in"] == 60.0 and eff["latency_per_sample_ms"] == pytest.approx(500.0)
    assert eff["tokens_per_second"] == pytest.approx(72 / 3.0)


def test_robustness_cannot_perturb_itself_under_either_name(tmp_path: Path) -> None:
    from pingce.core.spec import load_suite

    load_plugins()
    for inner in ("robustness", "llm.robustness"):
        path = tmp_path / f"{inner}.yaml"
        path.write_text(
            "standard: llm\nname: t\ntasks:\n"
            f"  - {{id: r, type: robustness, base: {{type: {inner}}}}}\n",
            encoding="utf-8",
        )
        with pytest.raises(SpecError, match="name the task type to perturb"):
            load_suite(str(path))
