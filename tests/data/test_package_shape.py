"""The data-quality package shape (issue 18): registration in plugin.py, the `data.profile` task
type in the core registry, `data evaluate` and the demo running the built-in YAML suites, and
no import circle between the command, the standard and the demo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from pingce.core.errors import SpecError
from pingce.core.registry import demos, standards, task_types
from pingce.core.spec import suite_from_dict
from pingce.core.store import open_store
from pingce.data.evaluate import evaluate_dataset
from pingce.data.generator import CorpusConfig, generate, write_corpus


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "c.jsonl"
    write_corpus(generate(CorpusConfig(docs=60, seed=3)), path)
    return path


def test_profile_task_type_is_registered() -> None:
    from pingce.data.standard import DataQualityStandard, ProfileTaskType

    assert task_types.get("data.profile") is ProfileTaskType
    assert isinstance(standards.get("data-quality"), DataQualityStandard)


@pytest.mark.parametrize("bad", ["profile", "llm.generative", "data.nothing"])
def test_other_task_types_are_rejected(bad: str, tmp_path: Path) -> None:
    suite = {"standard": "data-quality", "name": "t", "tasks": [{"id": "c", "type": bad}]}
    with pytest.raises(SpecError) as err:
        suite_from_dict(suite, "s.yaml", tmp_path)
    assert f"s.yaml: task 'c': unknown task type {bad!r}" in err.value.one_line()
    assert "use data.profile" in err.value.one_line()


def test_evaluate_runs_the_builtin_suite(corpus: Path) -> None:
    store = open_store(None)
    run = store.get_run(evaluate_dataset(store, str(corpus), show_progress=False))
    assert run.suite == "data/pretrain"
    # the same suite `pingce run --suite data/pretrain` runs: the built-in YAML file
    assert Path(run.config["suite_source"]).as_posix().endswith("data/pretrain.yaml")
    sft = store.get_run(evaluate_dataset(store, str(corpus), profile="sft", show_progress=False))
    assert sft.suite == "data/sft"


def test_evaluate_options_set_the_suite_task(corpus: Path) -> None:
    store = open_store(None)
    target = {"en": 0.5, "zh": 0.5}
    run_id = evaluate_dataset(store, str(corpus), target=target, topics=4, show_progress=False)
    run = store.get_run(run_id)
    assert run.suite == "data/pretrain"
    task = run.config["suite_spec"]["tasks"][0]
    assert task["type"] == "data.profile" and task["target"] == target and task["topics"] == 4


def test_demo_step_runs_the_builtin_suite(tmp_path: Path) -> None:
    from pingce.core.demo import DemoContext
    from pingce.data.demo import run_data_demo

    assert "40-data" in demos.names()
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    ctx = DemoContext(store, tmp_path, Console(quiet=True), quiet=True, limit=10)  # 200 docs
    run = store.get_run(run_data_demo(ctx))
    assert run.status == "completed" and run.suite == "data/pretrain"
    assert run.config["options"]["demo_data"] is True
    assert run.config["options"]["funnel"]["reader"]["documents"] == 200


def test_command_standard_and_demo_import_apart() -> None:
    # Before: standard imported cli and demo (to register them), cli imported standard, demo
    # imported cli.
    code = (
        "import sys\n"
        "import pingce.data.cli\n"
        "assert 'pingce.data.standard' not in sys.modules, 'cli -> standard'\n"
        "assert 'pingce.data.demo' not in sys.modules, 'cli -> demo'\n"
        "import pingce.data.demo, pingce.data.standard\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "ok"


def test_hf_dataset_folder_fingerprint_follows_content(tmp_path: Path) -> None:
    """A saved HF dataset whose rows change but whose file sizes and names do not gets a new
    fingerprint (before: only the listing and sizes were hashed, so a resumed run could reuse
    records of the old rows). Reference: pingce.core.fingerprint.path_digest of the folder."""
    datasets = pytest.importorskip("datasets")
    from pingce.core.fingerprint import path_digest
    from pingce.core.spec import parse_subject

    std = standards.get("data-quality")

    def save(text: str) -> dict:
        folder = tmp_path / "saved"
        datasets.Dataset.from_list([{"id": "r1", "text": text}]).save_to_disk(str(folder))
        subject = std.open_subject(parse_subject(f"hf:{folder}"), {})
        return subject.fingerprint()

    first = save("alpha beta gamma")
    sizes = sorted(p.stat().st_size for p in (tmp_path / "saved").rglob("*") if p.is_file())
    second = save("alpha beta delta")  # same length, same files
    sizes2 = sorted(p.stat().st_size for p in (tmp_path / "saved").rglob("*") if p.is_file())
    assert sizes == sizes2
    assert first["files"] != second["files"]
    assert second["files"] == [["saved", path_digest(tmp_path / "saved")]]
