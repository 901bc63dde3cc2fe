"""Suite loading and validation (core fields and the llm task types), and subject specs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pingce.core.errors import DataError, SpecError
from pingce.core.registry import task_types
from pingce.core.spec import (
    builtin_suite_names,
    builtin_suites_dir,
    load_suite,
    parse_subject,
    resolve_suite_path,
)

QUICK = builtin_suites_dir() / "llm" / "quick.yaml"
DATA = builtin_suites_dir() / "llm" / "data"

MC_TASK = """\
  - id: {id}
    type: multiple_choice
    dataset: {{path: {path}}}
    prompt: "Question: {{{{ question }}}}\\nAnswer:"
    choices: choices
    target: answer
"""


def write_suite(tmp_path: Path, body: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def header(name: str = "user/test") -> str:
    return f"standard: llm\nname: {name}\ntasks:\n"


def mc_task(task_id: str = "mc", path: Path | str = DATA / "knowledge_mc.jsonl") -> str:
    return MC_TASK.format(id=task_id, path=path)


def spec_error(path: Path) -> str:
    with pytest.raises(SpecError) as info:
        load_suite(str(path))
    return info.value.one_line()


# ---- loading -------------------------------------------------------------------------------
def test_builtin_suite_loads_by_name() -> None:
    assert "llm/quick" in builtin_suite_names()
    suite = load_suite("llm/quick")
    assert suite.name == "llm/quick"
    assert suite.spec.standard == "llm"
    assert Path(suite.source) == QUICK
    assert suite.base_dir == QUICK.parent.resolve()
    assert suite.sha256 == hashlib.sha256(QUICK.read_bytes()).hexdigest()
    ids = [t.id for t in suite.spec.tasks]
    assert ids == [
        "knowledge-mc",
        "reasoning-mc",
        "arithmetic",
        "reading-zh",
        "generation",
        "perplexity",
    ]
    first = suite.spec.tasks[0]
    assert first.type == "multiple_choice"
    assert first.dimension == "knowledge"
    assert first.params["metrics"] == ["acc", "acc_norm"]
    assert "id" not in first.params and "type" not in first.params


def test_builtin_suite_loads_by_path() -> None:
    by_path = load_suite(str(QUICK))
    assert by_path.sha256 == load_suite("llm/quick").sha256


def test_user_yaml_path_with_relative_dataset(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "mc.jsonl").write_text(
        '{"id": "a", "question": "2+2?", "choices": ["3", "4"], "answer": 1}\n', encoding="utf-8"
    )
    path = write_suite(tmp_path, header() + mc_task("mine", "data/mc.jsonl"))
    suite = load_suite(str(path))
    assert suite.name == "user/test"
    assert suite.source == str(path)
    assert suite.base_dir == tmp_path.resolve()
    # Planning (no model needed to build units) finds the dataset relative to the suite file.
    from pingce.llm.tasks.base import RunSettings

    task = suite.spec.tasks[0]
    units = task_types.get(task.type)(task, suite).units(RunSettings(), {"model": "x"})
    assert [u.sample_id for u in units] == ["a"]
    assert units[0].payload["gold"] == 1
    assert units[0].payload["context"] == "Question: 2+2?\nAnswer:"


def test_missing_suite_file_and_unknown_builtin_name(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        load_suite(str(tmp_path / "nope.yaml"))
    with pytest.raises(SpecError) as info:
        resolve_suite_path("llm/nope")
    assert "unknown suite 'llm/nope'" in info.value.message
    assert "llm/quick" in (info.value.hint or "")


# ---- malformed files and core fields -----------------------------------------------------------
def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write_suite(tmp_path, header() + "  - id: a\n    type: [multiple_choice\n")
    msg = spec_error(path)
    assert str(path) in msg
    assert "malformed YAML" in msg
    assert "line 6" in msg  # the stream ends inside the flow sequence opened on line 5


def test_malformed_yaml_bad_indentation(tmp_path: Path) -> None:
    path = write_suite(tmp_path, "standard: llm\n  name: x\n tasks: []\n")
    msg = spec_error(path)
    assert str(path) in msg and "line 2" in msg


def test_not_a_mapping(tmp_path: Path) -> None:
    path = write_suite(tmp_path, "- just\n- a list\n")
    assert "expected a mapping" in spec_error(path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    assert "not UTF-8" in spec_error(path)


def test_unknown_top_level_field(tmp_path: Path) -> None:
    path = write_suite(tmp_path, "colour: red\n" + header() + mc_task())
    msg = spec_error(path)
    assert msg.startswith(f"{path}: colour: unknown field")


def test_missing_tasks(tmp_path: Path) -> None:
    path = write_suite(tmp_path, "standard: llm\nname: x\n")
    assert spec_error(path) == f"{path}: tasks: required field is missing"


def test_empty_tasks(tmp_path: Path) -> None:
    path = write_suite(tmp_path, "standard: llm\nname: x\ntasks: []\n")
    msg = spec_error(path)
    assert msg.startswith(f"{path}: tasks:")


def test_duplicate_task_ids(tmp_path: Path) -> None:
    path = write_suite(tmp_path, header() + mc_task("same") + mc_task("same"))
    msg = spec_error(path)
    assert str(path) in msg
    assert "duplicate task id 'same'" in msg


def test_bad_task_id(tmp_path: Path) -> None:
    path = write_suite(tmp_path, header() + mc_task("has space"))
    msg = spec_error(path)
    assert f"{path}: tasks[0].id:" in msg


def test_unknown_standard(tmp_path: Path) -> None:
    path = write_suite(tmp_path, header().replace("llm", "nosuch", 1) + mc_task())
    with pytest.raises(SpecError) as info:
        load_suite(str(path))
    assert "unknown standard 'nosuch'" in info.value.message
    assert "llm" in (info.value.hint or "")


# ---- task-type validation (the llm standard) ---------------------------------------------------
def test_unknown_task_type(tmp_path: Path) -> None:
    body = header() + mc_task().replace("multiple_choice", "essay")
    with pytest.raises(SpecError) as info:
        load_suite(str(write_suite(tmp_path, body)))
    assert "unknown task type 'essay'" in info.value.message
    assert "multiple_choice" in (info.value.hint or "")


def test_metric_of_another_task_type(tmp_path: Path) -> None:
    path = write_suite(tmp_path, header() + mc_task() + "    metrics: [acc, bleu4]\n")
    msg = spec_error(path)
    assert msg.startswith(f"{path}: tasks.mc.metrics: 'bleu4' is not a metric of a multiple_choice")
    assert "acc_norm" in msg  # the hint lists the allowed ones


def test_unknown_metric(tmp_path: Path) -> None:
    path = write_suite(tmp_path, header() + mc_task() + "    metrics: [accuracy]\n")
    msg = spec_error(path)
    assert str(path) in msg and "'accuracy'" in msg


def test_primary_metric_not_in_metrics(tmp_path: Path) -> None:
    body = header() + mc_task() + "    metrics: [acc]\n    primary_metric: acc_norm\n"
    msg = spec_error(write_suite(tmp_path, body))
    assert "primary_metric 'acc_norm' is not in metrics" in msg


def test_unknown_field_in_task(tmp_path: Path) -> None:
    path = write_suite(tmp_path, header() + mc_task() + "    temprature: 0.5\n")
    # Issue 15: an unknown field also lists the valid ones (or names the closest one).
    msg = spec_error(path)
    assert msg.startswith(f"{path}: tasks.mc: temprature: unknown field; expected one of: ")
    assert "num_fewshot" in msg and "target_delimiter" in msg


def test_missing_required_task_field(tmp_path: Path) -> None:
    body = header() + "  - id: gen\n    type: generative\n    prompt: hi\n"
    assert spec_error(write_suite(tmp_path, body)).startswith(
        f"{tmp_path / 'suite.yaml'}: tasks.gen: dataset: required field is missing"
    )


def test_wrong_type_of_task_field(tmp_path: Path) -> None:
    path = write_suite(tmp_path, header() + mc_task() + "    num_fewshot: -1\n")
    msg = spec_error(path)
    assert msg.startswith(f"{path}: tasks.mc: num_fewshot:")


BAD_TEMPLATE = header() + mc_task().replace("{{ question }}", "{{ question ")


def test_bad_template_is_caught_when_validating(tmp_path: Path) -> None:
    spec_error(write_suite(tmp_path, BAD_TEMPLATE))


def test_bad_template_error_names_file_task_and_field(tmp_path: Path) -> None:
    path = write_suite(tmp_path, BAD_TEMPLATE)
    with pytest.raises(SpecError) as info:
        load_suite(str(path))
    msg = info.value.message
    assert msg.startswith(f"{path}: tasks.mc.prompt:")
    assert "{{ question " in msg


def test_row_missing_template_field_is_a_data_error(tmp_path: Path) -> None:
    from pingce.llm.tasks.base import RunSettings

    data = tmp_path / "rows.jsonl"
    data.write_text(
        '{"id": "ok", "question": "q", "choices": ["a", "b"], "answer": 0}\n'
        '{"id": "bad", "choices": ["a", "b"], "answer": 1}\n',
        encoding="utf-8",
    )
    suite = load_suite(str(write_suite(tmp_path, header() + mc_task(path=data))))
    task = suite.spec.tasks[0]
    with pytest.raises(DataError) as info:
        task_types.get(task.type)(task, suite).units(RunSettings(), {"model": "x"})
    msg = info.value.one_line()
    assert "row 2 (id bad)" in msg and "'question'" in msg


# ---- subjects ------------------------------------------------------------------------------
def test_parse_subject_local_path() -> None:
    s = parse_subject("hf:./x")
    assert (s.scheme, s.target, s.params, s.raw) == ("hf", "./x", {}, "hf:./x")


def test_parse_subject_hub_id_with_revision() -> None:
    s = parse_subject("hf:org/name?revision=abc")
    assert (s.scheme, s.target, s.params) == ("hf", "org/name", {"revision": "abc"})


def test_parse_subject_url_form() -> None:
    s = parse_subject("openai://127.0.0.1:8000/v1?model=q")
    assert s.scheme == "openai"
    assert s.target == "127.0.0.1:8000/v1"
    assert s.params == {"model": "q"}


def test_parse_subject_scheme_is_case_insensitive_and_canonical_is_stable() -> None:
    a = parse_subject("HF:org/name?b=2&a=1")
    b = parse_subject("hf:org/name?a=1&b=2")
    assert a.scheme == "hf"
    assert a.canonical() == b.canonical()


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("./models/tiny", "has no scheme"),
        ("Qwen/Qwen2.5-0.5B", "has no scheme"),
        ("hf:", "names no target"),
        ("1x:foo", "is not a valid scheme"),
    ],
)
def test_parse_subject_errors(spec: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_subject(spec)
    assert fragment in info.value.message
    assert repr(spec) in info.value.message


def test_code_built_suite_hash_ignores_an_unset_family(tmp_path: Path) -> None:
    """A suite built in code hashes its canonical JSON; a suite without `family` hashes as it
    did before the field existed (old runs of it still resume). Reference: hashlib over the
    JSON written out here by hand."""
    import hashlib
    import json

    from pingce.core import registry
    from pingce.core.spec import suite_from_dict

    class AnySuite:  # a standard that accepts every suite: only the hash is under test
        def validate_suite(self, suite: object) -> None:
            return None

    if not registry.standards.has_loaded("spec-hash"):
        registry.standards.register("spec-hash", AnySuite())
    data = {"standard": "spec-hash", "name": "x/y", "tasks": [{"id": "t", "type": "perplexity"}]}
    before_family = {
        "standard": "spec-hash",
        "name": "x/y",
        "title": "",
        "title_zh": "",
        "description": "",
        "defaults": {},
        "tasks": [
            {
                "id": "t",
                "type": "perplexity",
                "title": "",
                "title_zh": "",
                "dimension": "general",
                "language": "en",
                "weight": 1.0,
            }
        ],
    }
    text = json.dumps(before_family, sort_keys=True, ensure_ascii=False)
    suite = suite_from_dict(data, source="code", base_dir=tmp_path)
    assert suite.sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()
    steel = suite_from_dict({**data, "family": "steel"}, source="code", base_dir=tmp_path)
    assert steel.sha256 != suite.sha256 and steel.spec.family == "steel"
