"""`pingce data process --overwrite` deletes only an output folder pingce created (it carries
core.paths.OUTPUT_MARKER); a folder of the user's, or one that holds the pipeline's inputs, is
refused with one `error:` line, exit 2, and nothing in it is touched."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import yaml

from pingce.core.paths import OUTPUT_MARKER
from pingce.data.generator import CorpusConfig, generate, write_corpus


def _project(root: Path, out: str, input_path: str = "raw") -> Path:
    write_corpus(generate(CorpusConfig(docs=30, seed=3)), root / "raw" / "c.jsonl", shards=1)
    spec = {
        "input": {"path": input_path},
        "output": {"path": out, "format": "jsonl"},
        "operators": ["clean_whitespace", "exact_dedup"],
    }
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    (root / "NOTES.txt").write_text("my notes, not pingce's\n", encoding="utf-8")
    return path


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _one_error(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_output_dot_holding_the_project_is_refused_and_nothing_deleted(
    tmp_path: Path, pingce_cli: Any
) -> None:
    pipeline = _project(tmp_path, ".")
    before = _tree(tmp_path)
    for extra in ([], ["--overwrite"]):
        proc = pingce_cli(["data", "process", str(pipeline), "-q", *extra], cwd=tmp_path)
        _one_error(proc, "output.path", "contains the input")
        assert _tree(tmp_path) == before
    assert not (tmp_path / OUTPUT_MARKER).exists()


def test_unmarked_folder_of_the_user_is_refused(tmp_path: Path, pingce_cli: Any) -> None:
    pipeline = _project(tmp_path, "mine")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("years of work\n", encoding="utf-8")
    before = _tree(tmp_path)
    for extra in ([], ["--overwrite"]):
        proc = pingce_cli(["data", "process", str(pipeline), "-q", *extra], cwd=tmp_path)
        _one_error(proc, "output.path", "not created by pingce", OUTPUT_MARKER)
        assert _tree(tmp_path) == before


def test_marked_output_is_resumed_then_overwritten(tmp_path: Path, pingce_cli: Any) -> None:
    pipeline = _project(tmp_path, "clean")
    proc = pingce_cli(["data", "process", str(pipeline), "-q"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "clean"
    assert (out / OUTPUT_MARKER).is_file() and (out / "stats.json").is_file()
    proc = pingce_cli(["data", "process", str(pipeline), "-q"], cwd=tmp_path)
    assert proc.returncode == 0 and "already complete" in proc.stdout
    (out / "stale.txt").write_text("left by an older run\n", encoding="utf-8")
    proc = pingce_cli(["data", "process", str(pipeline), "-q", "--overwrite"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (out / "stale.txt").exists()
    assert (out / OUTPUT_MARKER).is_file() and (out / "stats.json").is_file()
    assert (tmp_path / "NOTES.txt").is_file() and (tmp_path / "raw" / "c.jsonl").is_file()


def test_output_equal_to_the_input_folder_is_refused(tmp_path: Path, pingce_cli: Any) -> None:
    pipeline = _project(tmp_path, "raw")
    before = _tree(tmp_path)
    proc = pingce_cli(["data", "process", str(pipeline), "-q", "--overwrite"], cwd=tmp_path)
    _one_error(proc, "output.path", "is the input")
    assert _tree(tmp_path) == before


def test_output_holding_a_glob_input_or_the_yaml_is_refused(
    tmp_path: Path, pingce_cli: Any
) -> None:
    pipeline = _project(tmp_path, "raw/..", input_path="raw/*.jsonl")
    before = _tree(tmp_path)
    proc = pingce_cli(["data", "process", str(pipeline), "-q", "--overwrite"], cwd=tmp_path)
    _one_error(proc, "output.path", "contains the input")
    assert _tree(tmp_path) == before
    # the pipeline YAML is an input too: an output folder holding it is refused
    conf = tmp_path / "conf"
    conf.mkdir()
    spec = yaml.safe_load(pipeline.read_text(encoding="utf-8"))
    spec["input"]["path"] = "../raw"
    spec["output"]["path"] = "."
    (conf / "p.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    proc = pingce_cli(["data", "process", str(conf / "p.yaml"), "-q"], cwd=tmp_path)
    _one_error(proc, "output.path", "contains the input", "p.yaml")
    assert sorted(p.name for p in conf.iterdir()) == ["p.yaml"]
