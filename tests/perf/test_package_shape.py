"""The server-perf package shape (issue 18): registration in plugin.py, namespaced task types
with the old names as aliases, built-in YAML suites equal to the commands' suites, and no
import cycle between the `pingce perf` command modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pingce.core.errors import SpecError
from pingce.core.registry import standards, task_types
from pingce.core.spec import load_suite, parse_subject, resolve_suite_path, suite_from_dict
from pingce.perf.suite_builders import infer_suite, serve_suite, train_suite


def builtin_suite(name: str) -> str:
    return str(resolve_suite_path(f"perf/{name}"))


def _yaml_suite(name: str) -> dict:
    data = yaml.safe_load(Path(builtin_suite(name)).read_text(encoding="utf-8"))
    data.pop("description")
    return data


def test_builtin_suites_are_the_commands_suites_with_default_options() -> None:
    # The demo ran `infer_suite(["offline", "single-stream"], min_duration_s=2.0)` before it ran
    # the YAML suite; `perf serve` and `perf train` with no options build the other two.
    assert _yaml_suite("infer") == infer_suite(["offline", "single-stream"], min_duration_s=2.0)
    assert _yaml_suite("serve") == serve_suite()
    assert _yaml_suite("train") == train_suite()
    for name in ("infer", "serve", "train"):
        suite = load_suite(f"perf/{name}")  # found by name; validates every task's fields
        assert suite.spec.standard == "server-perf"
        assert all(t.type.startswith("perf.") for t in suite.spec.tasks)


def test_task_types_are_registered_under_the_perf_namespace() -> None:
    names = {n for n in task_types.names() if n.startswith("perf.")}
    assert names == {
        "perf.accuracy",
        "perf.scenario",
        "perf.server-search",
        "perf.serve",
        "perf.train",
    }
    from pingce.perf.tasks import ScenarioTask

    assert task_types.get("perf.scenario").load() is ScenarioTask


@pytest.mark.parametrize("type_", ["scenario", "perf.scenario"])
def test_old_and_namespaced_type_names_validate(type_: str, tmp_path: Path) -> None:
    suite = {
        "standard": "server-perf",
        "name": "t",
        "tasks": [{"id": "offline", "type": type_, "scenario": "offline"}],
    }
    suite_from_dict(suite, "test", tmp_path)  # raises on an unknown type


def test_unknown_type_names_only_perf_types(tmp_path: Path) -> None:
    # llm registers `llm.multiple_choice` (alias `multiple_choice`) in the same registry; a perf
    # suite must not reach it.
    for bad in ("burst", "multiple_choice", "llm.multiple_choice"):
        suite = {"standard": "server-perf", "name": "t", "tasks": [{"id": "x", "type": bad}]}
        with pytest.raises(SpecError) as err:
            suite_from_dict(suite, "s.yaml", tmp_path)
        line = err.value.one_line()
        assert f"s.yaml: tasks.x.type: unknown server-perf task type {bad!r}" in line
        assert "perf.scenario" in line and "llm." not in line.split("hint")[-1]


def test_serve_and_train_commands_import_without_the_perf_group() -> None:
    # The old perf cli imported serve/cli and train/cli at its end, and they imported the
    # group back from perf.cli: a cycle held by try/except ImportError that could hide them.
    code = (
        "import sys, pingce.perf.serve.cli, pingce.perf.train.cli\n"
        "assert 'pingce.perf.cli' not in sys.modules, 'perf.cli imported'\n"
        "from pingce.perf.cli import app\n"
        "print(sorted(c.name for c in app.registered_commands))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "['infer', 'serve', 'train']"


def test_standard_registers_from_plugin() -> None:
    from pingce.perf.plugin import register
    from pingce.perf.standard import PerfStandard

    register()  # idempotent
    assert isinstance(standards.get("server-perf"), PerfStandard)


def test_summary_reads_suites_with_old_type_names(tmp_path: Path) -> None:
    """Runs stored before the namespacing hold `type: scenario`; both spellings summarise alike
    and the report shows the type without its namespace either way."""
    pytest.importorskip("torch")
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.store import open_store, records_as_dicts

    new = infer_suite(["offline"], min_duration_s=0.1, min_query_count=16)
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    req = RunRequest(suite=suite_from_dict(new, "t", tmp_path), subject="builtin:digits")
    run_id = execute_run(store, req, show_progress=False)
    run = store.get_run(run_id)
    records = records_as_dicts(store.records(run_id))
    old = {**new, "tasks": [{**t, "type": t["type"].removeprefix("perf.")} for t in new["tasks"]]}
    std = standards.get("server-perf")
    a = std.summarize(new, run.config, records)
    b = std.summarize(old, run.config, records)
    assert a == b
    assert [t["type"] for t in a["tasks"]] == ["scenario", "accuracy"]


def test_only_server_perf_options_are_stored() -> None:
    from pingce.core.options import resolve_options

    std = standards.get("server-perf")
    given = {"device": "auto", "dtype": "auto", "batch_size": 16, "seed": 7, "num_fewshot": None}
    assert resolve_options(std, given) == {"device": "auto", "batch_size": 16, "seed": 7}
    with pytest.raises(SpecError, match="num_fewshot"):
        resolve_options(std, {"num_fewshot": 5}, explicit={"num_fewshot"})
    with pytest.raises(SpecError, match="batch_size"):
        std.open_subject(parse_subject("builtin:digits"), {"batch_size": "auto"})


def test_serve_api_key_comes_from_the_named_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    std = standards.get("server-perf")
    subject = parse_subject("openai:http://127.0.0.1:9/v1?model=m")
    monkeypatch.setenv("PERF_TEST_KEY", "sk-test")
    opened = std.open_subject(subject, {"api_key_env": "PERF_TEST_KEY"})
    assert opened.api_key == "sk-test" and opened.model == "m"
    assert std.open_subject(subject, {}).api_key is None
    monkeypatch.delenv("PERF_TEST_KEY")
    with pytest.raises(SpecError, match="PERF_TEST_KEY"):
        std.open_subject(subject, {"api_key_env": "PERF_TEST_KEY"})


def test_registration_imports_no_heavy_library() -> None:
    # `pingce --help` loads every plugin: registering server-perf and data-quality must not
    # import numpy, SQLAlchemy, torch... (their command groups are imported when used).
    code = (
        "import sys\n"
        "from pingce.perf.plugin import register as perf\n"
        "from pingce.data.plugin import register as data\n"
        "perf(); data()\n"
        "heavy = ('numpy', 'sqlalchemy', 'scipy', 'sklearn', 'torch', 'pandas', 'httpx')\n"
        "print(sorted(h for h in heavy if h in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]"
