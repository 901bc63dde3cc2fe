"""The voice package's shape: registration in plugin.py, namespaced task types (older names
still accepted), the built-in YAML suite the demo runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pingce.core.errors import SpecError
from pingce.core.registry import commands, demos, standards, task_types
from pingce.core.run import RunRequest, execute_run
from pingce.core.spec import load_suite
from pingce.core.store import open_store
from pingce.voice import metrics as vm
from pingce.voice.demo import SUITES, bundle_dir
from pingce.voice.trials import load_trials

NAMESPACED = ("voice.scores", "voice.system", "voice.add-localisation", "voice.add-attribution")
OLD = ("voice-scores", "voice-system", "voice-add-localisation", "voice-add-attribution")


def test_plugin_registers_namespaced_task_types_with_old_aliases() -> None:
    from pingce.voice import plugin

    plugin.register()  # idempotent: a second call registers nothing twice
    assert "voice" in standards and "voice" in commands and "50-voice" in demos
    for new, old in zip(NAMESPACED, OLD, strict=True):
        assert new in task_types and old in task_types
        assert task_types.get(new) is task_types.get(old)


def _suite(tmp_path: Path, type_name: str) -> Path:
    (tmp_path / "keys.tsv").write_text(
        (bundle_dir() / "keys.tsv").read_text(encoding="utf-8"), encoding="utf-8"
    )
    path = tmp_path / "suite.yaml"
    path.write_text(
        "standard: voice\nname: t/voice\ntasks:\n"
        f"  - id: cm\n    type: {type_name}\n    keys: keys.tsv\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("type_name", ["voice.scores", "voice-scores"])
def test_a_yaml_suite_runs_with_the_new_and_the_old_type_name(
    tmp_path: Path, type_name: str
) -> None:
    """The same numbers whichever name the suite uses; reference: voice.metrics.eer on the
    bundle's trials read directly."""
    suite = load_suite(str(_suite(tmp_path, type_name)))
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    rid = execute_run(
        store,
        RunRequest(suite=suite, subject=f"scores:{bundle_dir() / 'scores.txt'}"),
        show_progress=False,
    )
    results = store.get_run(rid).results
    ts = load_trials(bundle_dir() / "scores.txt", bundle_dir() / "keys.tsv")
    bona = [t.score for t in ts.trials if t.is_bonafide]
    spoof = [t.score for t in ts.trials if not t.is_bonafide]
    assert results["tasks"][0]["metrics"]["voice_eer"]["value"] == vm.eer(bona, spoof)[0]
    assert results["tasks"][0]["type"] == type_name  # the report says what the suite says
    # The report's shape (built with the report kit): the same sections and indicators as
    # before the kit, one indicator per task metric with the task's numbers.
    assert [s["id"] for s in results["sections"]] == [
        "voice-breakdown",
        "voice-det",
        "voice-heatmap",
        "voice-robustness",
    ]
    metrics = results["tasks"][0]["metrics"]
    assert list(metrics) == [
        "voice_eer",
        "voice_min_dcf",
        "voice_act_dcf",
        "voice_cllr",
        "voice_min_cllr",
        "voice_eer_rocch",
        "voice_min_tdcf",
    ]
    for ind in results["indicators"]:
        row = metrics[ind["id"]]
        assert ind["scope"] == "cm" and ind["verdict"] is None and ind["threshold"] is None
        assert (ind["value"], ind["ci_low"], ind["ci_high"], ind["n"]) == (
            row["value"],
            row["ci_low"],
            row["ci_high"],
            row["n"],
        )
    assert [i["id"] for i in results["indicators"]] == list(metrics)
    assert metrics["voice_min_tdcf"]["value"] == vm.min_tdcf(bona, spoof, vm.ASVSPOOF5_ASV)[0]
    assert (
        metrics["voice_eer"]["ci_low"]
        <= metrics["voice_eer"]["value"]
        <= metrics["voice_eer"]["ci_high"]
    )
    pooled = next(s for s in results["sections"] if s["id"] == "voice-breakdown")["table"]["rows"][
        0
    ]
    assert pooled[:4] == ["pooled", "all", len(bona), len(spoof)]
    assert pooled[4] == round(vm.eer(bona, spoof)[0], 4)


def test_unknown_task_type_names_the_voice_types(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_suite(str(_suite(tmp_path, "voice.score")))
    assert "unknown type 'voice.score'" in str(info.value)
    assert "voice.scores" in (info.value.hint or "")


def test_the_demo_suite_is_yaml_in_the_package() -> None:
    suite = load_suite(str(SUITES / "demo.yaml"))
    assert suite.spec.standard == "voice" and suite.spec.name == "voice/demo"
    assert [t.type for t in suite.spec.tasks] == ["voice.scores"]
    assert (bundle_dir() / "scores.txt").is_file() and (bundle_dir() / "keys.tsv").is_file()


def test_the_evaluate_suite_runs_alone_on_a_score_file_with_keys(tmp_path: Path) -> None:
    """`voice/evaluate` (the suite `pingce voice evaluate` fills in) runs by itself on a score
    file that carries its keys; reference: voice.metrics.eer on the file's own trials."""
    suite = load_suite("voice/evaluate")
    assert suite.spec.name == "voice/evaluate" and [t.type for t in suite.spec.tasks] == [
        "voice.scores"
    ]
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    scores = bundle_dir() / "scores.txt"
    rid = execute_run(
        store, RunRequest(suite=suite, subject=f"scores:{scores}"), show_progress=False
    )
    ts = load_trials(scores)
    bona = [t.score for t in ts.trials if t.is_bonafide]
    spoof = [t.score for t in ts.trials if not t.is_bonafide]
    metrics = store.get_run(rid).results["tasks"][0]["metrics"]
    assert metrics["voice_eer"]["value"] == vm.eer(bona, spoof)[0]
