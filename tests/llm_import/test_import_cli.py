"""`pingce import lm-eval` through its typer app (the lead wires `register()` into the root CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pingce.core.spec import load_suite
from pingce.llm.lmeval_import import convert
from pingce.llm.lmeval_import.cli import app

lm_eval = pytest.importorskip("lm_eval", reason="needs the lm-eval package (its task YAMLs)")
TASKS = Path(lm_eval.__file__).parent / "tasks"


def test_folder_to_new_output_folder(tmp_path: Path) -> None:
    out = tmp_path / "suites"
    result = CliRunner().invoke(app, ["lm-eval", str(TASKS / "arc"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    # arc_easy and arc_challenge compute their choices (`{{choices.text}}`): failed;
    # arc_challenge_chat is generative and only its assistant prefix (gen_prefix) is missing.
    assert "0 converted, 1 partial, 2 failed" in result.output
    assert "doc_to_choice" in result.output and "gen_prefix" in result.output
    report = json.loads((out / "import-report.json").read_text(encoding="utf-8"))
    status = {r["task"]: r["status"] for r in report}
    assert status == {
        "arc_easy": "failed",
        "arc_challenge": "failed",
        "arc_challenge_chat": "partial",
    }
    # nothing that could not run is written as a suite
    assert [p.name for p in out.glob("*.yaml")] == ["arc_challenge_chat.yaml"]
    load_suite(str(out / "arc_challenge_chat.yaml"))


def test_group_with_task_filter_writes_valid_suites(tmp_path: Path) -> None:
    out = tmp_path / "suites"
    args = ["lm-eval", str(TASKS / "mmlu/default/_mmlu.yaml"), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--tasks", "mmlu_anatomy,mmlu_virology"])
    assert result.exit_code == 0, result.output
    assert "0 converted, 2 partial, 0 failed" in result.output
    suite = load_suite(str(out / "mmlu.yaml"))
    assert [t.id for t in suite.spec.tasks] == ["mmlu_anatomy", "mmlu_virology"]


def test_refuses_a_non_empty_output_folder(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "keep.txt").write_text("user data", encoding="utf-8")
    result = CliRunner().invoke(app, ["lm-eval", str(TASKS / "piqa"), "--out", str(out)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "--out" in lines[0]
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert (out / "keep.txt").read_text(encoding="utf-8") == "user data"


def test_unknown_task_and_missing_path_are_one_line_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["lm-eval", str(TASKS / "piqa"), "--out", str(tmp_path / "a"), "--tasks", "nope"]
    )
    assert result.exit_code == 2
    assert result.output.strip().startswith("error:") and "nope" in result.output
    assert not (tmp_path / "a").exists()
    result = runner.invoke(app, ["lm-eval", str(tmp_path / "absent.yaml"), "--out", "x"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error:") and "absent.yaml" in result.output


def test_function_tags_are_never_executed(tmp_path: Path) -> None:
    """A `utils.py` that would write a file when imported: converting must not import it."""
    marker = tmp_path / "ran"
    (tmp_path / "utils.py").write_text(
        f"open({str(marker)!r}, 'w').write('x')\n\ndef process_docs(ds):\n    return ds\n",
        encoding="utf-8",
    )
    (tmp_path / "t.yaml").write_text(
        "task: t\ndataset_path: some/set\ntest_split: test\noutput_type: generate_until\n"
        "process_docs: !function utils.process_docs\ndoc_to_text: '{{q}}'\n"
        "doc_to_target: a\nfuture_field: 1\n",
        encoding="utf-8",
    )
    report = convert(tmp_path / "t.yaml").reports[0]
    assert not marker.exists()
    assert report.status == "partial"
    gaps = {g.field: g for g in report.gaps}
    assert set(gaps) == {"process_docs", "future_field"}  # an unknown key is never dropped
    assert "process_docs is defined in utils.py" in gaps["process_docs"].why
    assert "not executed" in gaps["process_docs"].why


def test_include_chain_is_relative_to_each_file(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "root.yaml").write_text(
        "dataset_path: some/set\ntest_split: test\noutput_type: multiple_choice\n"
        "doc_to_choice: ['no', 'yes']\ndoc_to_target: label\ndoc_to_text: '{{q}}'\n",
        encoding="utf-8",
    )
    (tmp_path / "base" / "mid.yaml").write_text(
        "include: root.yaml\ntarget_delimiter: ''\n", encoding="utf-8"
    )
    (tmp_path / "leaf.yaml").write_text(
        "include: base/mid.yaml\ntask: leaf\ndoc_to_text: 'Q: {{q}}'\n", encoding="utf-8"
    )
    result = convert(tmp_path / "leaf.yaml")
    task = result.reports[0].pingce_task
    assert result.reports[0].status == "converted"
    assert task is not None
    assert task["prompt"] == "Q: {{q}}" and task["target_delimiter"] == ""
    assert task["choices"] == ["no", "yes"]
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(result.suites["leaf"]), encoding="utf-8")
    load_suite(str(tmp_path / "s.yaml"))


def test_a_malformed_value_fails_that_task_only(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "task: bad\ndataset_path: a/b\ntest_split: test\noutput_type: generate_until\n"
        "doc_to_text: '{{q}}'\ndoc_to_target: a\ngeneration_kwargs: {max_gen_toks: lots}\n",
        encoding="utf-8",
    )
    (tmp_path / "good.yaml").write_text(
        "task: good\ndataset_path: a/b\ntest_split: test\noutput_type: generate_until\n"
        "doc_to_text: '{{q}}'\ndoc_to_target: a\n",
        encoding="utf-8",
    )
    result = convert(tmp_path)
    status = {r.task: r.status for r in result.reports}
    assert status == {"bad": "failed", "good": "converted"}
    assert list(result.suites) == ["good"]
