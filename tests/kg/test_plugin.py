"""The kg package shape: registration, task types in the core registry, YAML suites, the
shared backends (hf: works with the llm standard disabled), and the one fingerprint rule."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pingce.core.errors import SpecError


def test_hf_subjects_work_with_the_llm_standard_disabled(tiny_model_dir: Path) -> None:
    """The hf/openai backends are registered by pingce.backends, not by llm: before, with llm
    disabled, kg refused `hf:` ("no 'hf' subjects") while its own hint suggested it."""
    code = (
        "from pingce.core.registry import backends, load_plugins, standards\n"
        "from pingce.core.spec import parse_subject\n"
        "load_plugins()\n"
        "assert not standards.has('llm'), standards.names()\n"
        "assert backends.has('hf') and backends.has('openai'), backends.names()\n"
        f"lm = standards.get('kg').open_subject(parse_subject('hf:{tiny_model_dir}'), "
        "{'device': 'cpu', 'dtype': 'float32'})\n"
        "print(type(lm).__name__, lm.fingerprint()['backend'])\n"
    )
    env = {**os.environ, "PINGCE_DISABLE_STANDARDS": "llm"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["HFCausalLM", "hf"]


def test_task_types_are_registered_records() -> None:
    from pingce.core.registry import load_plugins, task_types
    from pingce.kg.task_types import KG_TASK_TYPES, KGTaskType

    load_plugins()
    names = [n for n in task_types.names() if n.startswith("kg.")]
    assert names == sorted(t.name for t in KG_TASK_TYPES)
    assert len(names) == 8  # extraction, build and six quality aspects
    shacl = task_types.get("kg.quality.shacl")
    assert isinstance(shacl, KGTaskType)
    assert (shacl.kind, shacl.subject, shacl.primary, shacl.aspect) == (
        "quality",
        "graph",
        "kg_shacl_conformance",
        "shacl",
    )
    assert task_types.get("kg.build").subject == "model"


def test_an_unknown_kg_type_is_one_error_naming_file_and_task(tmp_path: Path) -> None:
    from pingce.core.spec import load_suite

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "standard: kg\nname: t\ntasks:\n  - {id: q, type: kg.quality.shacls}\n", encoding="utf-8"
    )
    with pytest.raises(SpecError) as info:
        load_suite(str(bad))
    assert str(bad) in info.value.message and "task q" in info.value.message
    assert "kg.quality.shacl" in (info.value.hint or "")


def test_the_command_suites_are_yaml_and_listed() -> None:
    """`pingce kg evaluate/quality/build` run the YAML suites kg/extraction, kg/quality and
    kg/build (they were assembled in Python in cli.py); each validates on its own."""
    from pingce.core.spec import builtin_suite_names, load_suite

    names = builtin_suite_names()
    for name, n_tasks in (("kg/extraction", 1), ("kg/quality", 6), ("kg/build", 1)):
        assert name in names
        suite = load_suite(name)
        assert suite.spec.standard == "kg" and len(suite.spec.tasks) == n_tasks


def test_the_filled_suite_hashes_as_the_old_python_suite() -> None:
    """The suite `pingce kg evaluate` runs is kg/extraction with its options filled in; its hash
    equals that of the suite the command used to build in code, so old runs still resume."""
    from pingce.core.spec import suite_from_dict
    from pingce.kg.ontology import DATA_DIR
    from pingce.kg.runs import extraction_suite

    pred = DATA_DIR / "steel-demo-predictions.jsonl"
    old_task = {
        "dimension": "kg",
        "id": "extraction",
        "type": "kg.extraction",
        "title": "Triple extraction against gold",
        "title_zh": "三元组抽取评测",
        "gold": None,
        "ontology": None,
        "subset": True,
    }
    old = suite_from_dict(
        {
            "standard": "kg",
            "name": "kg/extraction",
            "title": "KG extraction quality",
            "title_zh": "知识图谱抽取质量",
            "tasks": [old_task],
        },
        source="old",
        base_dir=Path.cwd(),
    )
    assert extraction_suite(pred, subset=True).sha256 == old.sha256
    # and the literal hash the untouched tree stored for the kg demo run (suite_sha256)
    assert old.sha256 == "49bf8a659d7b8d2b3d4289114bd89614d706a5bbc858aa9763eac642ec98794b"


def test_folder_fingerprints_count_sub_folder_paths(tmp_path: Path) -> None:
    """Before, a folder digest hashed file names and bytes only: moving a Neo4j CSV export's
    file into another sub-folder kept the digest (and a resumed run reused stale records)."""
    from pingce.kg.tasks import file_digest

    a, b = tmp_path / "a", tmp_path / "b"
    (a / "x").mkdir(parents=True)
    (b / "y").mkdir(parents=True)
    (a / "x" / "nodes.csv").write_text("id\n1\n", encoding="utf-8")
    (b / "y" / "nodes.csv").write_text("id\n1\n", encoding="utf-8")
    assert file_digest(a) != file_digest(b)
    (b / "y").rename(b / "x")
    assert file_digest(a) == file_digest(b)  # the same content at the same relative paths
