"""The `pingce` command, run as real subprocesses (`python -m pingce.cli ...`).

Bad input must end with exit code 2 and ONE line on stderr that starts with `error:` and names
the culprit, never a traceback, and must leave no completed run behind. The bad-input cases are
started together (they are independent) so their interpreter start-up overlaps; most fail
before any model is loaded.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from pingce import __version__
from pingce.core.spec import builtin_suites_dir
from pingce.core.store import open_store

QUICK = builtin_suites_dir() / "llm" / "quick.yaml"
DATA = QUICK.parent / "data"
TIMEOUT = 300


@dataclass(frozen=True)
class Result:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (
            f"pingce {' '.join(self.args)} -> rc {self.returncode}\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


def cli_env(pingce_cache: Path, default_db: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PINGCE_CACHE": str(pingce_cache),
            "PINGCE_DB": f"sqlite:///{default_db}",
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "COLUMNS": "250",  # wide rich tables: nothing truncated with an ellipsis
            "NO_COLOR": "1",
        }
    )
    return env


def run_cli(args: Sequence[str], *, cwd: Path, env: dict[str, str]) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "pingce.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    return Result(tuple(args), proc.returncode, proc.stdout, proc.stderr)


def run_many(
    cases: dict[str, Sequence[str]], *, cwd: Path, env: dict[str, str], workers: int = 3
) -> dict[str, Result]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            name: pool.submit(run_cli, args, cwd=cwd, env=env) for name, args in cases.items()
        }
        return {name: f.result() for name, f in futures.items()}


def run_ids(stdout: str) -> list[str]:
    return re.findall(r"run id: (\S+)", stdout)


# ---- bad input ---------------------------------------------------------------------------------
MC_TASK = """\
  - id: mc
    type: multiple_choice
    dataset: {{path: {path}}}
    prompt: "Q: {{{{ question }}}}\\nA:"
"""


def _suite(folder: Path, name: str, tasks: str) -> str:
    path = folder / name
    path.write_text(f"standard: llm\nname: bad/{path.stem}\ntasks:\n{tasks}", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def bad(
    workdir: Path, tiny_model_dir: Path, pingce_cache: Path
) -> tuple[dict[str, Result], dict[str, tuple[str, ...]], str]:
    """Every bad-input case run once; (results, expected fragments, the store URL they used)."""
    d = workdir / "bad"
    d.mkdir()
    db = f"sqlite:///{d / 'bad.db'}"
    env = cli_env(pingce_cache, d / "default.db")
    model = f"hf:{tiny_model_dir}"

    (d / "not-a-model").mkdir()
    (d / "a-file").write_text("x", encoding="utf-8")
    (d / "empty.jsonl").write_text("", encoding="utf-8")
    (d / "rows.jsonl").write_text(
        '{"id": "1", "question": "q", "choices": ["a", "b"], "answer": 0}\n'
        '{"id": "2", "choices": ["a", "b"], "answer": 1}\n',
        encoding="utf-8",
    )
    (d / "gold.jsonl").write_text(
        '{"id": "g1", "question": "q", "choices": ["a", "b"], "answer": 5}\n', encoding="utf-8"
    )
    good = MC_TASK.format(path=DATA / "knowledge_mc.jsonl")
    malformed = _suite(d, "malformed[v2].yaml", "  - id: mc\n    type: [multiple_choice\n")
    bad_type = _suite(d, "type.yaml", good.replace("multiple_choice", "essay"))
    bad_metric = _suite(d, "metric.yaml", good + "    metrics: [accuracy]\n")
    bad_field = _suite(d, "field.yaml", good + "    temprature: 0.5\n")
    empty = _suite(d, "empty.yaml", MC_TASK.format(path=d / "empty.jsonl"))
    missing = _suite(d, "missing.yaml", MC_TASK.format(path=d / "rows.jsonl"))
    gold = _suite(d, "gold.yaml", MC_TASK.format(path=d / "gold.jsonl"))

    def run(suite: str, *extra: str, subject: str = model) -> tuple[str, ...]:
        return ("run", "--suite", suite, "--model", subject, "--db", db, "-q", *extra)

    cases: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
        # name: (arguments, fragments the one-line error must contain)
        "missing model path": (
            run("llm/quick", subject=f"hf:{d / 'no-such-model'}"),
            ("no-such-model", "does not exist"),
        ),
        "folder that is not a model": (
            run("llm/quick", subject=f"hf:{d / 'not-a-model'}"),
            ("not-a-model", "no config.json"),
        ),
        "malformed YAML": (run(malformed), (malformed, "malformed YAML", "line 6")),
        "unknown task type": (run(bad_type), ("unknown task type 'essay'",)),
        "unknown metric": (run(bad_metric), (bad_metric, "tasks.mc.metrics", "'accuracy'")),
        "unknown field in a task": (run(bad_field), (bad_field, "tasks.mc: temprature")),
        "empty dataset": (run(empty), ("empty.jsonl", "is empty")),
        "row missing a template field": (run(missing), ("row 2 (id 2)", "'question'")),
        "gold index out of range": (run(gold), ("gold.jsonl", "gold index 5 is out of range")),
        "--limit 0": (run("llm/quick", "--limit", "0"), ("--limit", "got 0")),
        "--batch-size 0": (run("llm/quick", "--batch-size", "0"), ("--batch-size", "'0'")),
        "--limit not a number": (run("llm/quick", "--limit", "many"), ("'--limit'",)),
        "unwritable report folder": (
            run("llm/quick", "--report-dir", str(d / "a-file" / "reports")),
            ("a-file/reports", "not writable"),
        ),
        "show an unknown run": (("show", "nope", "--db", db), ("no run 'nope'",)),
        "report an unknown run": (("report", "nope", "--db", db), ("no run 'nope'",)),
    }
    # The store exists before the processes start, so none races to create its tables.
    open_store(db).close()
    results = run_many({k: v[0] for k, v in cases.items()}, cwd=d, env=env)
    return results, {k: v[1] for k, v in cases.items()}, db


BAD_CASES = [
    "missing model path",
    "folder that is not a model",
    "malformed YAML",
    "unknown task type",
    "unknown metric",
    "unknown field in a task",
    "empty dataset",
    "row missing a template field",
    "gold index out of range",
    "--limit 0",
    "--batch-size 0",
    "--limit not a number",
    "unwritable report folder",
    "show an unknown run",
    "report an unknown run",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_one_line_and_exit_2(
    case: str, bad: tuple[dict[str, Result], dict[str, tuple[str, ...]], str]
) -> None:
    results, fragments, _ = bad
    r = results[case]
    assert r.returncode == 2, r
    assert "Traceback" not in r.stderr + r.stdout, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r
    assert lines[0].startswith("error: "), r
    for fragment in fragments[case]:
        assert fragment in lines[0], f"{fragment!r} not in the message\n{r}"


def test_bad_input_leaves_no_completed_run(
    bad: tuple[dict[str, Result], dict[str, tuple[str, ...]], str],
    workdir: Path,
    pingce_cache: Path,
) -> None:
    _, _, db = bad
    store = open_store(db)
    try:
        # Every case fails before a run exists (user errors surface while planning).
        assert store.list_runs() == []
    finally:
        store.close()
    env = cli_env(pingce_cache, workdir / "unused.db")
    r = run_cli(["list", "runs", "--db", db], cwd=workdir, env=env)
    assert r.returncode == 0, r
    assert "completed" not in r.stdout and "running" not in r.stdout
    assert not (workdir / "bad" / "reports").exists()  # nothing written for failed runs


# ---- happy paths -------------------------------------------------------------------------------
@dataclass
class Happy:
    env: dict[str, str]
    cwd: Path
    db: str
    basics: dict[str, Result]
    run_a: Result
    run_a_id: str
    run_b: Result
    run_b_id: str
    after: dict[str, Result]
    compare_json: Path
    report_out: Path


@pytest.fixture(scope="module")
def happy(workdir: Path, tiny_model_dir: Path, pingce_cache: Path) -> Happy:
    """Listings, then two runs of llm/quick on the tiny model (the suite's own few-shot counts,
    then zero-shot), then show / report / compare on them."""
    d = workdir / "happy"
    d.mkdir()
    db = f"sqlite:///{d / 'runs.db'}"
    env = cli_env(pingce_cache, d / "default.db")
    open_store(db).close()
    basics = run_many(
        {
            "version": ["--version"],
            "standards": ["list", "standards"],
            "suites": ["list", "suites"],
            "tasks": ["list", "tasks"],
            "indicators": ["list", "indicators"],
            "validate": ["validate", str(QUICK)],
        },
        cwd=d,
        env=env,
    )
    common = ["run", "--suite", "llm/quick", "--model", f"hf:{tiny_model_dir}", "--limit", "3"]
    run_a = run_cli([*common, "--report-dir", str(d / "reports"), "--db", db, "-q"], cwd=d, env=env)
    assert run_a.returncode == 0, run_a
    (run_a_id,) = run_ids(run_a.stdout)
    run_b = run_cli([*common, "--num-fewshot", "0", "--no-report", "--db", db], cwd=d, env=env)
    assert run_b.returncode == 0, run_b
    (run_b_id,) = run_ids(run_b.stdout)
    compare_json = d / "deltas.json"
    report_out = d / "md-report"
    after = run_many(
        {
            "runs": ["list", "runs", "--db", db],
            "show": ["show", "latest", "--db", db],
            "report": ["report", run_a_id, "--format", "md", "--out", str(report_out)]
            + ["--db", db],
            "compare": ["compare", run_a_id, run_b_id, "--json", str(compare_json), "--db", db],
        },
        cwd=d,
        env=env,
    )
    return Happy(
        env=env,
        cwd=d,
        db=db,
        basics=basics,
        run_a=run_a,
        run_a_id=run_a_id,
        run_b=run_b,
        run_b_id=run_b_id,
        after=after,
        compare_json=compare_json,
        report_out=report_out,
    )


def ok(r: Result) -> str:
    assert r.returncode == 0, r
    assert "Traceback" not in r.stderr, r
    return r.stdout


def test_version(happy: Happy) -> None:
    assert ok(happy.basics["version"]).strip() == f"pingce {__version__}"


def test_no_arguments_shows_usage(happy: Happy) -> None:
    r = run_cli([], cwd=happy.cwd, env=happy.env)
    assert "Traceback" not in r.stderr + r.stdout, r
    assert "Usage" in r.stdout + r.stderr
    assert "compare" in r.stdout + r.stderr


def test_list_standards(happy: Happy) -> None:
    out = ok(happy.basics["standards"])
    assert "llm" in out and "GB/T 45288.2" in out


def test_list_suites(happy: Happy) -> None:
    out = ok(happy.basics["suites"])
    assert re.search(r"llm/quick\s*│\s*llm\s*│\s*6\s*│", out), out


def test_list_tasks(happy: Happy) -> None:
    out = ok(happy.basics["tasks"])
    for task in ("knowledge-mc", "reasoning-mc", "arithmetic", "reading-zh", "perplexity"):
        assert task in out
    assert "multiple_choice" in out and "generative" in out


def test_list_indicators(happy: Happy) -> None:
    out = ok(happy.basics["indicators"])
    for ind in ("overall_score", "acc_norm", "bits_per_byte", "tokens_per_second"):
        assert ind in out
    assert "综合得分" in out


def test_validate_builtin_yaml(happy: Happy) -> None:
    out = ok(happy.basics["validate"])
    assert out.startswith("ok ")
    assert str(QUICK) in out and "standard llm, 6 tasks" in out


def test_run_writes_reports_and_prints_a_table(happy: Happy) -> None:
    out = ok(happy.run_a)
    assert happy.run_a.stderr.strip() == ""  # -q: no progress bars, no library noise
    folder = happy.cwd / "reports" / happy.run_a_id
    for name in ("report.html", "report.md", "report.json"):
        assert (folder / name).is_file() and (folder / name).stat().st_size > 0
        assert str(folder / name) in out
    doc = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert doc["run"]["id"] == happy.run_a_id
    assert doc["run"]["status"] == "completed"
    assert len(doc["tasks"]) == 6 and all(t["n_samples"] == 3 for t in doc["tasks"])
    for text in ("knowledge-mc", "perplexity", "95% CI", "overall", "综合"):
        assert text in out
    store = open_store(happy.db)
    try:
        row = store.get_run(happy.run_a_id)
        assert row.status == "completed" and store.count_records(row.id) == 18
        assert row.config["options"]["limit"] == 3
        other = store.get_run(happy.run_b_id)
        assert other.status == "completed" and other.config["options"]["num_fewshot"] == 0
    finally:
        store.close()
    assert not (happy.cwd / "reports" / happy.run_b_id).exists()  # --no-report


def test_list_runs(happy: Happy) -> None:
    out = ok(happy.after["runs"])
    assert happy.run_a_id in out and happy.run_b_id in out
    assert out.count("completed") == 2


def test_show_latest(happy: Happy) -> None:
    out = ok(happy.after["show"])
    assert f"run {happy.run_b_id}" in out
    assert "status=completed" in out and "records=18" in out
    assert "knowledge-mc" in out


def test_report_md(happy: Happy) -> None:
    out = ok(happy.after["report"])
    md = happy.report_out / "report.md"
    assert md.is_file()
    assert str(md) in out
    assert not (happy.report_out / "report.html").exists()
    assert happy.run_a_id in md.read_text(encoding="utf-8")


def test_compare_prints_p_values(happy: Happy) -> None:
    out = ok(happy.after["compare"])
    header = next(line for line in out.splitlines() if "Δ" in line)
    assert re.search(r"[│┃]\s*p\s*[│┃]", header) and "95% CI" in header
    assert "mcnemar" in out and "paired-bootstrap" in out
    deltas = json.loads(happy.compare_json.read_text(encoding="utf-8"))
    assert {d["task"] for d in deltas} == {
        "knowledge-mc",
        "reasoning-mc",
        "arithmetic",
        "reading-zh",
        "generation",
        "perplexity",
    }
    for d in deltas:
        assert 0.0 <= d["p_value"] <= 1.0 and d["n"] == 3
        assert re.search(rf"{re.escape(d['task'])}\s*│\s*{re.escape(d['metric'])}\s*│", out)


# ---- demo --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_demo_writes_reports_and_prints_tables(
    workdir: Path, tiny_model_dir: Path, pingce_cache: Path
) -> None:
    """`pingce demo` runs every installed standard's demo step; each run gets its reports."""
    d = workdir / "demo"
    d.mkdir()
    db = f"sqlite:///{d / 'demo.db'}"
    reports = d / "reports"
    r = run_cli(
        ["demo", "--limit", "3", "--report-dir", str(reports), "--db", db, "-q"],
        cwd=d,
        env=cli_env(pingce_cache, d / "default.db"),
    )
    out = ok(r)
    ids = run_ids(out)
    assert ids, r
    store = open_store(db)
    try:
        for run_id in ids:
            assert store.get_run(run_id).status == "completed"
            for name in ("report.html", "report.md", "report.json"):
                assert (reports / run_id / name).is_file(), (run_id, name)
        (llm_run,) = [i for i in ids if store.get_run(i).suite == "llm/quick"]
    finally:
        store.close()
    doc = json.loads((reports / llm_run / "report.json").read_text(encoding="utf-8"))
    assert len(doc["tasks"]) == 6 and all(t["n_samples"] == 3 for t in doc["tasks"])
    for text in ("knowledge-mc", "perplexity", "overall", "NOT a real LLM"):
        assert text in out
