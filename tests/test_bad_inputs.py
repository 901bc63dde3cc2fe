"""The bad-input battery: every command and option family, fed what users get wrong.

Each case runs the real `pingce` entry point (`pingce.cli.main`) in this process and checks
the contract of issue 15: exit code 2, exactly one line on stderr that starts with `error:`
and names the file, field or option and what was expected, no traceback, and nothing stored
half-way: the store's logical content (an SQL dump, so WAL checkpoints do not count) and the
working folder are the same before and after. Paths in `absent` (mistyped store paths) must
still not exist afterwards.

The store holds two real `perf infer` runs of the built-in digits model (a second or two
each), so run-id lookups, ambiguous prefixes and `compare` are checked against real rows.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from pingce.cli import main


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    expect: tuple[str, ...]  # every one must appear in the error line (after formatting)
    absent: tuple[str, ...] = ()  # paths that must not exist afterwards


@dataclass(frozen=True)
class World:
    root: Path  # the working folder (bad files live in root/in)
    db: Path
    run_a: str
    run_b: str

    def fmt(self, text: str) -> str:
        prefix = os.path.commonprefix([self.run_a, self.run_b])
        return text.format(
            W=self.root / "in",
            DB=self.db,
            A=self.run_a,
            B=self.run_b,
            PREFIX=prefix,
            PORT=_free_port(),
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def invoke(args: list[str]) -> tuple[int, str, str]:
    """`pingce ARGS` through the real entry point; (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    old_argv = sys.argv
    sys.argv = ["pingce", *args]
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old_argv
    return code, out.getvalue(), err.getvalue()


def store_digest(db: Path) -> str:
    """sha256 of the store's SQL dump: its content, whatever the WAL holds or checkpoints."""
    con = sqlite3.connect(db)
    try:
        return hashlib.sha256("\n".join(con.iterdump()).encode()).hexdigest()
    finally:
        con.close()


def tree(root: Path, skip: Path) -> list[str]:
    """Every path under root except the store's own files (db, -wal, -shm)."""
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if not p.name.startswith(skip.name)
    )


# ---- bad files --------------------------------------------------------------------------------
def _laughs(levels: int = 9) -> str:
    """A 'billion laughs' YAML value: 9 levels of 9 aliases, a few hundred bytes."""
    lines = ['    l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        refs = ",".join([f"*l{i - 1}"] * 9)
        lines.append(f"    l{i}: &l{i} [{refs}]")
    return "\n".join(lines) + "\n"


def llm_suite(dataset: str, extra: str = "", task_extra: str = "") -> str:
    return (
        f"standard: llm\nname: bad\n{extra}tasks:\n  - id: t1\n    type: generative\n"
        f"    dataset: {{path: {dataset}}}\n    prompt: 'Q: {{{{ question }}}}'\n"
        f"    target: answer\n    metrics: [exact_match]\n{task_extra}"
    )


def make_bad_files(d: Path) -> None:
    d.mkdir(parents=True)
    (d / "folder").mkdir()
    (d / "folder.jsonl").mkdir()
    for name in ("empty.jsonl", "empty.csv", "empty.yaml", "empty.json", "empty.txt"):
        (d / name).write_bytes(b"")
    garbage = bytes(range(256)) * 4
    for name in ("garbage.bin", "garbage.jsonl", "garbage.csv", "garbage.yaml", "garbage.json"):
        (d / name).write_bytes(garbage)
    (d / "garbage.parquet").write_bytes(b"PAR1" + garbage + b"PAR1")
    (d / "garbage.npz").write_bytes(garbage)
    (d / "garbage.ttl").write_text("this is @ not turtle ;;; <", encoding="utf-8")
    latin1 = '{"question": "café", "answer": "1", "text": "café"}\n'.encode("latin-1")
    (d / "latin1.jsonl").write_bytes(latin1)
    (d / "latin1.json").write_bytes('{"currency": "café"}'.encode("latin-1"))
    (d / "latin1.csv").write_bytes("question,answer\ncafé,1\n".encode("latin-1"))
    (d / "latin1.yaml").write_bytes("standard: café\n".encode("latin-1"))
    (d / "latin1.txt").write_bytes("café\n".encode("latin-1"))
    (d / "bad.jsonl").write_text('{"question": "x", "answer": "1"}\n{not json\n')
    (d / "bad.json").write_text('{"a": [1, 2,')
    (d / "bad.yaml").write_text("a: [1, 2\nb: {")
    (d / "list.json").write_text("[1, 2, 3]")
    (d / "ragged.csv").write_text("question,answer\nwhat,1,extra\n")
    (d / "short.csv").write_text("question,answer\nwhat\n")
    (d / "ok.jsonl").write_text('{"id": "1", "question": "1+1?", "answer": "2"}\n')
    (d / "ok_text.jsonl").write_text('{"text": "A plain, readable sentence."}\n')
    (d / "ok.ttl").write_text("@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\n")
    (d / "ok.txt").write_text("LA_0001 - - bonafide\n")
    (d / "laughs.yaml").write_text("standard: llm\nname: laughs\ntasks: []\nx:\n" + _laughs())
    # A suite that validated before issue 15: the laughs hide in a task's own fields.
    (d / "laughs_task.yaml").write_text(
        llm_suite("ok.jsonl", task_extra="    generation:\n      until:\n" + _laughs())
    )
    (d / "recursive.yaml").write_text("standard: llm\nname: r\ntasks: &t [*t]\n")
    (d / "deep.yaml").write_text("standard: llm\nname: d\ntasks: " + "[" * 500 + "]" * 500 + "\n")
    (d / "huge.yaml").write_bytes(b"# " + b"x" * (17 * 2**20) + b"\n")
    for name in ("latin1.jsonl", "latin1.csv", "ragged.csv", "short.csv", "garbage.parquet"):
        (d / f"suite_{name.replace('.', '_')}.yaml").write_text(llm_suite(name))
    for name in ("empty.jsonl", "garbage.jsonl", "bad.jsonl", "folder", "list.json"):
        (d / f"suite_{name.replace('.', '_')}.yaml").write_text(llm_suite(name))
    (d / "suite_typo.yaml").write_text(llm_suite("ok.jsonl", task_extra="    target_delim: ''\n"))
    (d / "suite_typo_top.yaml").write_text(llm_suite("ok.jsonl", extra="titel: x\n"))
    (d / "suite_typo_ds.yaml").write_text(
        llm_suite("ok.jsonl").replace("{path: ok.jsonl}", "{path: ok.jsonl, fewshot_pth: x}")
    )
    (d / "suite_tasks_typo.yaml").write_text("standard: llm\nname: x\ntaks: []\n")
    (d / "suite_weight_inf.yaml").write_text(
        llm_suite("ok.jsonl", task_extra="    weight: 1e999\n")
    )
    (d / "suite_weight_nan.yaml").write_text(llm_suite("ok.jsonl", task_extra="    weight: .nan\n"))
    (d / "suite_weight_0.yaml").write_text(llm_suite("ok.jsonl", task_extra="    weight: 0\n"))
    (d / "suite_weight_str.yaml").write_text(llm_suite("ok.jsonl", task_extra="    weight: x\n"))
    (d / "suite_filter.yaml").write_text(
        llm_suite("ok.jsonl", task_extra="    filters: [{name: last_numbr}]\n")
    )
    (d / "suite_metric.yaml").write_text(
        llm_suite("ok.jsonl").replace("[exact_match]", "[exact_mach]")
    )
    (d / "suite_standard.yaml").write_text(llm_suite("ok.jsonl").replace("llm", "lml", 1))
    (d / "suite_no_tasks.yaml").write_text("standard: llm\nname: x\ntasks: []\n")
    (d / "suite_list.yaml").write_text("- a\n- b\n")
    (d / "suite_dup.yaml").write_text(
        llm_suite("ok.jsonl") + "  - id: t1\n    type: generative\n    dataset: {path: ok.jsonl}\n"
        "    prompt: 'x'\n    target: answer\n"
    )
    (d / "pipe_typo.yaml").write_text(
        "input: {path: ok.jsonl}\noutput: {path: out}\noperators: []\nworkrs: 2\n"
    )
    (d / "prices_laughs.yaml").write_text("currency: USD\nx:\n" + _laughs())
    (d / "prices_neg.json").write_text('{"input_per_1m": -1, "output_per_1m": 1}')
    (d / "stats_shape.json").write_text('{"reader": {"documents": "many"}, "funnel": []}')
    (d / "not_a_store.db").write_bytes(garbage)
    other = sqlite3.connect(d / "other.sqlite")
    other.execute("create table t (x)")
    other.commit()
    other.close()
    (d / "a_file").write_text("x")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("battery")
    make_bad_files(root / "in")
    db = root / "store.db"
    mp = pytest.MonkeyPatch()
    mp.setenv("PINGCE_DB", f"sqlite:///{db}")
    mp.setenv("NO_COLOR", "1")
    mp.chdir(root)
    ids = []
    try:
        for _ in range(2):
            code, out, err = invoke(
                ["perf", "infer", "--scenario", "offline", "--min-duration", "0.05",
                 "--min-queries", "8", "--no-report", "-q", "--db", str(db)]
            )  # fmt: skip
            assert code == 0, err
            ids.append(out.split("run id:")[-1].split()[0])
        yield World(root, db, ids[0], ids[1])
    finally:
        mp.undo()


W = "{W}"
DB = ["--db", "{DB}"]
NOWHERE = "{W}/no/such/folder/store.db"
NR = "--no-report"

# One case per line: a table reads better than the formatter's wrapping.
# fmt: off
CASES: list[Case] = [
    # ---- validate: every way a suite file goes wrong -----------------------------------------
    Case("validate-missing", ("validate", f"{W}/missing.yaml"), ("missing.yaml", "does not exist")),
    Case("validate-folder", ("validate", f"{W}/folder"), ("folder", "is a folder")),
    Case("validate-empty", ("validate", f"{W}/empty.yaml"), ("empty.yaml", "expected a mapping")),
    Case("validate-malformed", ("validate", f"{W}/bad.yaml"), ("bad.yaml", "malformed YAML")),
    Case("validate-garbage", ("validate", f"{W}/garbage.yaml"), ("garbage.yaml", "not UTF-8")),
    Case("validate-latin1", ("validate", f"{W}/latin1.yaml"), ("latin1.yaml", "not UTF-8")),
    Case("validate-list", ("validate", f"{W}/suite_list.yaml"), ("suite_list.yaml", "mapping")),
    Case("validate-laughs", ("validate", f"{W}/laughs.yaml"), ("laughs.yaml", "aliases")),
    Case("validate-laughs-in-task", ("validate", f"{W}/laughs_task.yaml"), ("laughs_task.yaml", "aliases")),  # noqa: E501
    Case("validate-recursive", ("validate", f"{W}/recursive.yaml"), ("recursive.yaml", "itself")),
    Case("validate-deep", ("validate", f"{W}/deep.yaml"), ("deep.yaml", "nested")),
    Case("validate-huge", ("validate", f"{W}/huge.yaml"), ("huge.yaml", "too large")),
    Case("validate-typo", ("validate", f"{W}/suite_typo.yaml"), ("suite_typo.yaml", "tasks.t1", "target_delim", "did you mean 'target_delimiter'")),  # noqa: E501
    Case("validate-typo-top", ("validate", f"{W}/suite_typo_top.yaml"), ("titel", "did you mean 'title'")),  # noqa: E501
    Case("validate-typo-nested", ("validate", f"{W}/suite_typo_ds.yaml"), ("dataset.fewshot_pth", "did you mean 'fewshot_path'")),  # noqa: E501
    Case("validate-typo-tasks", ("validate", f"{W}/suite_tasks_typo.yaml"), ("taks", "did you mean 'tasks'")),  # noqa: E501
    Case("validate-weight-inf", ("validate", f"{W}/suite_weight_inf.yaml"), ("weight", "finite")),
    Case("validate-weight-nan", ("validate", f"{W}/suite_weight_nan.yaml"), ("weight", "finite")),
    Case("validate-weight-0", ("validate", f"{W}/suite_weight_0.yaml"), ("weight", "greater than 0")),  # noqa: E501
    Case("validate-weight-str", ("validate", f"{W}/suite_weight_str.yaml"), ("weight", "number")),
    Case("validate-filter", ("validate", f"{W}/suite_filter.yaml"), ("suite_filter.yaml", "tasks.t1", "last_numbr", "did you mean 'last_number'")),  # noqa: E501
    Case("validate-metric", ("validate", f"{W}/suite_metric.yaml"), ("suite_metric.yaml", "tasks.t1", "exact_mach")),  # noqa: E501
    Case("validate-standard", ("validate", f"{W}/suite_standard.yaml"), ("lml", "did you mean 'llm'")),  # noqa: E501
    Case("validate-no-tasks", ("validate", f"{W}/suite_no_tasks.yaml"), ("tasks", "at least 1")),
    Case("validate-dup-task", ("validate", f"{W}/suite_dup.yaml"), ("duplicate task id",)),
    Case("validate-unknown-builtin", ("validate", "llm/quik"), ("llm/quik", "unknown suite")),
    # ---- run: datasets (checked before any model loads) and options ---------------------------
    *[
        Case(f"run-dataset-{name}", ("run", "--suite", f"{W}/suite_{name.replace('.', '_')}.yaml", "-m", "hf:/no/model", NR), (name, why))  # noqa: E501
        for name, why in [
            ("latin1.jsonl", "not UTF-8"),
            ("latin1.csv", "not UTF-8"),
            ("ragged.csv", "line 2"),
            ("short.csv", "no value for column 'answer'"),
            ("garbage.parquet", "cannot read Parquet"),
            ("empty.jsonl", "empty"),
            ("garbage.jsonl", "not UTF-8"),
            ("bad.jsonl", "invalid JSON"),
            ("folder", "folder"),
            ("list.json", "expected a JSON list of objects"),
        ]
    ],
    Case("run-no-suite", ("run", "-m", "hf:x"), ("--suite",)),
    Case("run-suite-laughs", ("run", "--suite", f"{W}/laughs_task.yaml", "-m", "hf:x", NR), ("aliases",)),  # noqa: E501
    Case("run-limit-0", ("run", "-s", "llm/quick", "-m", "hf:x", "--limit", "0"), ("--limit",)),
    Case("run-fewshot-neg", ("run", "-s", "llm/quick", "-m", "hf:x", "--num-fewshot", "-1"), ("--num-fewshot",)),  # noqa: E501
    Case("run-threads-0", ("run", "-s", "llm/quick", "-m", "hf:x", "--threads", "0"), ("--threads",)),  # noqa: E501
    Case("run-concurrency-0", ("run", "-s", "llm/quick", "-m", "hf:x", "--concurrency", "0"), ("--concurrency",)),  # noqa: E501
    Case("run-batch-0", ("run", "-s", "llm/quick", "-m", "hf:x", "--batch-size", "0"), ("--batch-size",)),  # noqa: E501
    Case("run-batch-word", ("run", "-s", "llm/quick", "-m", "hf:x", "--batch-size", "many"), ("--batch-size", "'auto'")),  # noqa: E501
    Case("run-trials-0", ("run", "-s", "llm/quick", "-m", "hf:x", "--fewshot-trials", "0"), ("--fewshot-trials",)),  # noqa: E501
    Case("run-limit-word", ("run", "-s", "llm/quick", "-m", "hf:x", "--limit", "1e23"), ("--limit", "integer")),  # noqa: E501
    Case("run-timeout-0", ("run", "-s", "llm/quick", "-m", "openai:x", "--base-url", "http://127.0.0.1:9/v1", "--request-timeout", "0", NR), ("--request-timeout",)),  # noqa: E501
    Case("run-timeout-nan", ("run", "-s", "llm/quick", "-m", "openai:x", "--base-url", "http://127.0.0.1:9/v1", "--request-timeout", "nan", NR), ("--request-timeout",)),  # noqa: E501
    Case("run-rpm-0", ("run", "-s", "llm/quick", "-m", "openai:x", "--base-url", "http://127.0.0.1:9/v1", "--rpm", "0", NR), ("--rpm",)),  # noqa: E501
    Case("run-tpm-neg", ("run", "-s", "llm/quick", "-m", "openai:x", "--base-url", "http://127.0.0.1:9/v1", "--tpm", "-5", NR), ("--tpm",)),  # noqa: E501
    *[
        Case(f"run-prices-{name}", ("run", "-s", "llm/quick", "-m", "openai:x", "--base-url", "http://127.0.0.1:9/v1", "--prices", f"{W}/{name}", NR), (name, why))  # noqa: E501
        for name, why in [
            ("latin1.json", "not UTF-8"),
            ("bad.json", "not valid JSON"),
            ("folder", "does not exist"),
            ("missing.json", "does not exist"),
            ("garbage.yaml", "not UTF-8"),
            ("bad.yaml", "malformed YAML"),
            ("prices_laughs.yaml", "aliases"),
            ("list.json", "mapping"),
        ]
    ],
    Case("run-model-no-scheme", ("run", "-s", "llm/quick", "-m", "tiny", NR), ("'tiny'", "no scheme")),  # noqa: E501
    Case("run-executor", ("run", "-s", "llm/quick", "-m", "hf:x", "--executor", "spark", NR), ("spark",)),  # noqa: E501
    Case("run-resume-unknown", ("run", "--resume", "nope", NR), ("no run 'nope'",)),
    Case("run-resume-ambiguous", ("run", "--resume", "{PREFIX}", NR), ("ambiguous", "{A}", "{B}")),
    Case("run-report-dir-file", ("run", "-s", "llm/quick", "-m", "hf:x", "--report-dir", f"{W}/a_file"), ("a_file", "not writable")),  # noqa: E501
    Case("run-db-garbage", ("run", "-s", "llm/quick", "-m", "hf:x", NR, "--db", f"{W}/not_a_store.db"), ("not_a_store.db",)),  # noqa: E501
    Case("run-db-url-nowhere", ("run", "-s", "llm/quick", "-m", "hf:x", NR, "--db", "postgresql+psycopg://u@127.0.0.1:9/x"), ("cannot open results store", "127.0.0.1")),  # noqa: E501
    Case("run-db-url-scheme", ("run", "-s", "llm/quick", "-m", "hf:x", NR, "--db", "mongo://x/y"), ("cannot open results store", "mongo")),  # noqa: E501
    # ---- read-only commands: run ids, prefixes and stores that point nowhere ------------------
    Case("show-unknown", ("show", "nope"), ("no run 'nope'",)),
    Case("show-ambiguous", ("show", "{PREFIX}"), ("ambiguous", "2 runs match", "{A}", "{B}")),
    Case("show-missing-db", ("show", "latest", "--db", NOWHERE), ("no store at", "store.db"), (NOWHERE, f"{W}/no")),  # noqa: E501
    Case("show-garbage-db", ("show", "latest", "--db", f"{W}/not_a_store.db"), ("not_a_store.db",)),  # noqa: E501
    Case("show-foreign-db", ("show", "latest", "--db", f"{W}/other.sqlite"), ("other.sqlite", "not a pingce results store")),  # noqa: E501
    Case("show-db-folder", ("show", "latest", "--db", f"{W}/folder"), ("no store at", "folder")),
    Case("show-db-url-nowhere", ("show", "latest", "--db", "postgresql+psycopg://u@127.0.0.1:9/x"), ("cannot open results store",)),  # noqa: E501
    Case("list-missing-db", ("list", "runs", "--db", NOWHERE), ("no store at",), (NOWHERE, f"{W}/no")),  # noqa: E501
    Case("list-limit-huge", ("list", "runs", "--limit", "100000000000000000000000"), ("--limit", "1,000,000")),  # noqa: E501
    Case("list-limit-float", ("list", "runs", "--limit", "1e23"), ("--limit", "integer")),
    Case("list-limit-0", ("list", "runs", "--limit", "0"), ("--limit",)),
    Case("list-limit-neg", ("list", "runs", "--limit", "-1"), ("--limit",)),
    Case("list-what", ("list", "models"), ("models",)),
    Case("list-tasks-suite", ("list", "tasks", "--suite", f"{W}/bad.yaml"), ("bad.yaml", "malformed YAML")),  # noqa: E501
    Case("report-unknown", ("report", "nope"), ("no run 'nope'",)),
    Case("report-ambiguous", ("report", "{PREFIX}"), ("ambiguous",)),
    Case("report-missing-db", ("report", "latest", "--db", NOWHERE), ("no store at",), (NOWHERE, f"{W}/no")),  # noqa: E501
    Case("report-out-file", ("report", "{A}", "--out", f"{W}/a_file"), ("a_file",)),
    Case("report-format", ("report", "{A}", "--format", "pdf"), ("--format", "pdf")),
    Case("compare-unknown", ("compare", "nope", "{B}"), ("no run 'nope'",)),
    Case("compare-ambiguous", ("compare", "{PREFIX}", "{B}"), ("ambiguous",)),
    Case("compare-json-folder", ("compare", "{A}", "{B}", "--json", f"{W}/folder"), ("--json", "folder")),  # noqa: E501
    Case("compare-json-no-parent", ("compare", "{A}", "{B}", "--json", f"{W}/no/such/d.json"), ("--json", "does not exist")),  # noqa: E501
    Case("compare-missing-db", ("compare", "{A}", "{B}", "--db", NOWHERE), ("no store at",), (NOWHERE, f"{W}/no")),  # noqa: E501
    Case("serve-missing-db", ("serve", "--port", "{PORT}", "--db", NOWHERE), ("no store at",), (NOWHERE, f"{W}/no")),  # noqa: E501
    Case("serve-foreign-db", ("serve", "--port", "{PORT}", "--db", f"{W}/other.sqlite"), ("not a pingce results store",)),  # noqa: E501
    Case("serve-port-0", ("serve", "--port", "0"), ("--port",)),
    Case("serve-port-huge", ("serve", "--port", "70000"), ("--port",)),
    Case("serve-no-token", ("serve", "--host", "0.0.0.0", "--port", "{PORT}"), ("token",)),
    Case("bench-unknown-run", ("bench", "ceval-submission", "nope"), ("no run 'nope'",)),
    Case("bench-missing-db", ("bench", "ceval-submission", "x", "--db", NOWHERE), ("no store at",), (NOWHERE,)),  # noqa: E501
    Case("demo-limit-0", ("demo", "--limit", "0"), ("--limit",)),
    Case("demo-only", ("demo", "--only", "lmm"), ("--only", "lmm")),
    Case("unknown-command", ("evaluate",), ("evaluate",)),
    Case("unknown-option", ("list", "runs", "--limt", "3"), ("--limt",)),
    # ---- data ---------------------------------------------------------------------------------
    *[
        Case(f"data-evaluate-{name}", ("data", "evaluate", f"{W}/{name}", NR, "-q"), (name, why))
        for name, why in [
            ("empty.jsonl", "no readable records"),
            ("latin1.jsonl", "no readable records"),
            ("garbage.jsonl", "no readable records"),
            ("empty.csv", "no readable records"),
            ("ragged.csv", "no readable records"),
            ("garbage.parquet", "no readable records"),
            ("folder", "matches no files"),
            ("missing.jsonl", "does not exist"),
            ("garbage.bin", "cannot tell the format"),
        ]
    ],
    *[
        Case(f"data-evaluate-stats-{name}", ("data", "evaluate", f"{W}/ok_text.jsonl", "--stats", f"{W}/{name}", NR, "-q"), ("--stats", name, why))  # noqa: E501
        for name, why in [
            ("missing.json", "does not exist"),
            ("folder", "is a folder"),
            ("latin1.json", "not UTF-8"),
            ("bad.json", "invalid JSON"),
            ("empty.json", "invalid JSON"),
            ("list.json", "JSON object"),
            ("stats_shape.json", "reader.documents"),
        ]
    ],
    Case("data-evaluate-sample-0", ("data", "evaluate", f"{W}/ok_text.jsonl", "--sample", "0", NR), ("--sample",)),  # noqa: E501
    Case("data-evaluate-topics-1", ("data", "evaluate", f"{W}/ok_text.jsonl", "--topics", "1", NR), ("--topics",)),  # noqa: E501
    Case("data-evaluate-profile", ("data", "evaluate", f"{W}/ok_text.jsonl", "--profile", "chat", NR), ("--profile", "chat")),  # noqa: E501
    Case("data-evaluate-target", ("data", "evaluate", f"{W}/ok_text.jsonl", "--target", "en=x", NR), ("--target",)),  # noqa: E501
    Case("data-evaluate-target-nan", ("data", "evaluate", f"{W}/ok_text.jsonl", "--target", "en=nan", NR), ("--target",)),  # noqa: E501
    *[
        Case(f"data-process-{name}", ("data", "process", f"{W}/{name}"), (name, why))
        for name, why in [
            ("missing.yaml", "does not exist"),
            ("folder", "does not exist"),
            ("bad.yaml", "malformed YAML"),
            ("latin1.yaml", "not UTF-8"),
            ("garbage.yaml", "not UTF-8"),
            ("laughs.yaml", "aliases"),
            ("empty.yaml", ""),
            ("pipe_typo.yaml", "did you mean 'workers'"),
        ]
    ],
    Case("data-process-workers-0", ("data", "process", f"{W}/pipe_typo.yaml", "--workers", "0"), ("--workers",)),  # noqa: E501
    Case("data-process-executor", ("data", "process", f"{W}/pipe_typo.yaml", "--executor", "spark"), ("spark",)),  # noqa: E501
    Case("data-generate-docs-0", ("data", "generate", f"{W}/gen.jsonl", "--docs", "0"), ("--docs",)),  # noqa: E501
    Case("data-generate-fraction", ("data", "generate", f"{W}/gen.jsonl", "--zh-fraction", "2"), ("--zh-fraction",)),  # noqa: E501
    Case("data-generate-nan", ("data", "generate", f"{W}/gen.jsonl", "--near-dup-rate", "nan"), ("--near-dup-rate",)),  # noqa: E501
    Case("data-generate-shards-0", ("data", "generate", f"{W}/gen.jsonl", "--shards", "0"), ("--shards",)),  # noqa: E501
    # ---- kg -----------------------------------------------------------------------------------
    *[
        Case(f"kg-evaluate-pred-{name}", ("kg", "evaluate", "--pred", f"{W}/{name}", NR), (name, why))  # noqa: E501
        for name, why in [
            ("latin1.jsonl", "not UTF-8"),
            ("empty.jsonl", "no predictions"),
            ("bad.jsonl", "not JSON"),
            ("garbage.jsonl", "not UTF-8"),
            ("folder", "no .csv files"),
            ("garbage.bin", "cannot tell the format"),
            ("missing.jsonl", "do not exist"),
            ("ragged.csv", "line 2"),
            ("latin1.csv", "not UTF-8"),
            ("garbage.ttl", ""),
        ]
    ],
    *[
        Case(f"kg-evaluate-gold-{name}", ("kg", "evaluate", "--pred", f"{W}/ok.jsonl", "--gold", f"{W}/{name}", NR), (name, why))  # noqa: E501
        for name, why in [
            ("latin1.jsonl", "not UTF-8"),
            ("empty.jsonl", "no items"),
            ("bad.jsonl", "'id'"),
            ("folder", ""),
            ("missing.jsonl", "does not exist"),
        ]
    ],
    Case("kg-evaluate-format", ("kg", "evaluate", "--pred", f"{W}/ok.jsonl", "--format", "xml", NR), ("xml",)),  # noqa: E501
    Case("kg-quality-missing", ("kg", "quality", f"{W}/missing.ttl", NR), ("missing.ttl",)),
    Case("kg-quality-garbage", ("kg", "quality", f"{W}/garbage.ttl", NR), ("garbage.ttl",)),
    Case("kg-quality-cq-latin1", ("kg", "quality", f"{W}/ok.ttl", "--cq", f"{W}/latin1.yaml", NR), ("latin1.yaml",)),  # noqa: E501
    Case("kg-quality-owlrl-neg", ("kg", "quality", f"{W}/ok.ttl", "--owlrl-limit", "-1", NR), ("--owlrl-limit",)),  # noqa: E501
    Case("kg-build-missing-text", ("kg", "build", "--text", f"{W}/missing.jsonl", "--model", "hf:x", NR), ("missing.jsonl",)),  # noqa: E501
    Case("kg-build-shots-neg", ("kg", "build", "--text", f"{W}/ok.jsonl", "--model", "hf:x", "--shots", "-1", NR), ("--shots",)),  # noqa: E501
    Case("kg-build-tokens-0", ("kg", "build", "--text", f"{W}/ok.jsonl", "--model", "hf:x", "--max-new-tokens", "0", NR), ("--max-new-tokens",)),  # noqa: E501
    Case("kg-build-batch-0", ("kg", "build", "--text", f"{W}/ok.jsonl", "--model", "hf:x", "--batch-size", "0", NR), ("--batch-size",)),  # noqa: E501
    Case("kg-reference-out-file", ("kg", "reference", "--out", f"{W}/a_file"), ("a_file",)),
    Case("kg-sector-limit-0", ("kg", "sector", "--model", "hf:x", "--limit", "0", NR), ("--limit",)),  # noqa: E501
    Case("kg-sector-shots-neg", ("kg", "sector", "--model", "hf:x", "--shots", "-2", NR), ("--shots",)),  # noqa: E501
    # ---- perf ---------------------------------------------------------------------------------
    *[
        Case(f"perf-infer-{opt[2:]}-{value}", ("perf", "infer", opt, value, NR), (opt,))
        for opt in ("--batch-size", "--workers", "--threads", "--samples-per-query", "--min-queries")  # noqa: E501
        for value in ("0", "-1")
    ],
    *[
        Case(f"perf-infer-{opt[2:]}-{value}", ("perf", "infer", opt, value, NR), (opt,))
        for opt in ("--target-qps", "--latency-bound-ms", "--min-duration")
        for value in ("0", "-1", "nan", "inf")
    ],
    Case("perf-infer-batch-word", ("perf", "infer", "--batch-size", "many", NR), ("--batch-size",)),  # noqa: E501
    Case("perf-infer-data-param", ("perf", "infer", "-m", f"builtin:digits?data={W}/garbage.npz", NR), ("data", "unknown parameter")),  # noqa: E501
    Case("perf-infer-unknown-param", ("perf", "infer", "-m", "builtin:digits?batch=4", NR), ("batch", "unknown parameter")),  # noqa: E501
    Case("perf-infer-npz-garbage", ("perf", "infer", "-m", f"python:numpy:asarray?data={W}/garbage.npz", NR), ("garbage.npz",)),  # noqa: E501
    Case("perf-infer-npz-missing", ("perf", "infer", "-m", f"python:numpy:asarray?data={W}/missing.npz", NR), ("missing.npz",)),  # noqa: E501
    Case("perf-infer-scenario", ("perf", "infer", "-s", "burst", NR), ("burst", "scenario")),
    Case("perf-infer-arrival", ("perf", "infer", "-s", "server", "--arrival", "storm", "--latency-bound-ms", "50", NR), ("storm",)),  # noqa: E501
    Case("perf-infer-device", ("perf", "infer", "--device", "tpu", NR), ("--device", "tpu")),
    Case("perf-infer-resume", ("perf", "infer", "--resume", "nope", NR), ("no run 'nope'",)),
    Case("perf-infer-model", ("perf", "infer", "-m", "builtin:alexnet", NR), ("alexnet",)),
    *[
        Case(f"perf-serve-{opt[2:]}-{value}", ("perf", "serve", "--url", "http://127.0.0.1:9/v1", "-m", "m", opt, value, NR), (why,))  # noqa: E501
        for opt, value, why in [
            ("--request-rate", "0", "request rates must be > 0"),
            ("--request-rate", "-1", "request rates must be > 0"),
            ("--request-rate", "nan", "finite"), ("--request-rate", "inf", "finite"),
            ("--concurrency", "0", "concurrencies must be whole numbers >= 1"),
            ("--num-requests", "0", "num_requests"), ("--burstiness", "0", "burstiness"),
            ("--burstiness", "inf", "burstiness"), ("--warmup", "-1", "warmup"),
            ("--input-len", "0", "input_len"), ("--output-len", "0", "output_len"),
            ("--slo-ttft-ms", "-1", "slo_ttft_ms"), ("--slo-tpot-ms", "nan", "slo_tpot_ms"),
            ("--max-concurrency", "0", "max_concurrency"), ("--api", "grpc", "api"),
        ]
    ],  # fmt: skip
    *[
        Case(f"perf-serve-dataset-{name}", ("perf", "serve", "--url", "http://127.0.0.1:9/v1", "-m", "m", "--dataset", f"{W}/{name}", NR), (name, why))  # noqa: E501
        for name, why in [
            ("latin1.jsonl", "not UTF-8"),
            ("missing.jsonl", ""),
            ("bad.jsonl", ""),
            ("empty.jsonl", ""),
            ("folder", ""),
        ]
    ],
    Case("perf-serve-tokenizer", ("perf", "serve", "--url", "http://127.0.0.1:9/v1", "-m", "m", "--tokenizer", f"{W}/folder", NR), ("folder",)),  # noqa: E501
    *[
        Case(f"perf-train-{opt[2:]}-{value}", ("perf", "train", opt, value, NR), (why,))
        for opt, value, why in [
            ("--steps", "0", "steps"), ("--batch-size", "0", "batch_size"),
            ("--target-accuracy", "2", "target_accuracy"),
            ("--target-accuracy", "nan", "target_accuracy"), ("--repeats", "0", "repeats"),
            ("--workers", "0", "workers[0]"), ("--scaling-steps", "0", "scaling_steps"),
            ("--threads", "-1", "threads"), ("--backend", "mpi", "backend"),
        ]
    ],  # fmt: skip
    # ---- compress / convert --------------------------------------------------------------------
    Case("compress-test-missing", ("compress", "test", "-b", f"{W}/missing.onnx", "-c", f"{W}/missing.onnx"), ("missing.onnx",)),  # noqa: E501
    Case("compress-test-garbage", ("compress", "test", "-b", f"{W}/garbage.bin", "-c", f"{W}/garbage.bin"), ("garbage.bin",)),  # noqa: E501
    *[
        Case(f"compress-test-{opt[2:]}-{value}", ("compress", "test", "-b", f"{W}/missing.onnx", "-c", f"{W}/missing.onnx", opt, value), (opt,))  # noqa: E501
        for opt, value in [
            ("--budget", "2"), ("--budget", "-0.1"), ("--budget", "nan"), ("--repeats", "0"),
            ("--threads", "0"), ("--limit", "0"), ("--batch-sizes", "0"),
            ("--batch-sizes", "a,b"), ("--image-size", "big"),
        ]
    ],  # fmt: skip
    *[
        Case(f"compress-test-data-{name}", ("compress", "test", "-b", "zoo:digits-cnn", "-c", "zoo:digits-cnn", "--data", f"{W}/{name}", "--repeats", "5"), (name, why))  # noqa: E501
        for name, why in [
            ("latin1.jsonl", "not UTF-8"),
            ("empty.jsonl", ""),
            ("bad.jsonl", ""),
            ("garbage.npz", ""),
            ("missing.npz", "does not exist"),
        ]
    ],
    Case("compress-run-recipe", ("compress", "run", "-m", "zoo:digits-cnn", "-r", "zip9"), ("zip9",)),  # noqa: E501
    Case("compress-run-missing", ("compress", "run", "-m", f"{W}/missing.onnx", "-r", "int8-dynamic"), ("missing.onnx",)),  # noqa: E501
    Case("compress-run-limit-0", ("compress", "run", "-m", f"{W}/missing.onnx", "-r", "int8-dynamic", "--limit", "0"), ("--limit",)),  # noqa: E501
    Case("compress-llm-not-hf", ("compress", "llm", "-m", f"{W}/folder", "-r", "int8"), ("--model", "hf:PATH")),  # noqa: E501
    Case("compress-llm-missing", ("compress", "llm", "-m", f"hf:{W}/missing_model", "-r", "int8"), ("missing_model",)),  # noqa: E501
    Case("compress-llm-group-0", ("compress", "llm", "-m", f"hf:{W}/folder", "-r", "int8", "--group-size", "0"), ("--group-size",)),  # noqa: E501
    Case("compress-llm-recipe", ("compress", "llm", "-m", f"hf:{W}/folder", "-r", "int3"), ("int3",)),  # noqa: E501
    Case("convert-model-missing", ("convert", "model", f"{W}/missing.pt"), ("missing.pt",)),
    Case("convert-model-to", ("convert", "model", "zoo:digits-cnn", "--to", "tflite"), ("tflite",)),  # noqa: E501
    Case("convert-model-opset", ("convert", "model", "zoo:digits-cnn", "--opset", "0"), ("--opset",)),  # noqa: E501
    Case("convert-model-level", ("convert", "model", "zoo:digits-cnn", "--level", "turbo"), ("turbo",)),  # noqa: E501
    Case("convert-verify-missing", ("convert", "verify", "-s", "zoo:digits-cnn", "-t", f"{W}/missing.onnx"), ("missing.onnx",)),  # noqa: E501
    *[
        Case(f"convert-verify-{opt[2:]}-{value}", ("convert", "verify", "-s", "zoo:digits-cnn", "-t", f"{W}/missing.onnx", opt, value), (opt,))  # noqa: E501
        for opt, value in [
            ("--rtol", "-1"), ("--rtol", "nan"), ("--atol", "inf"), ("--limit", "0"),
            ("--repeats", "0"), ("--threads", "0"), ("--batch-sizes", "x"),
        ]
    ],  # fmt: skip
    Case("convert-zoo-models", ("convert", "zoo", "--models", "alexnet"), ("alexnet",)),
    # ---- label --------------------------------------------------------------------------------
    *[
        Case(f"label-evaluate-pred-{name}", ("label", "evaluate", "--pred", f"{W}/{name}", "--gold", f"{W}/{name}", NR), (name,))  # noqa: E501
        for name in ("missing.json", "latin1.csv", "garbage.json", "folder", "bad.json", "empty.json")  # noqa: E501
    ],
    Case("label-evaluate-iou", ("label", "evaluate", "--pred", f"{W}/missing.json", "--gold", f"{W}/missing.json", "--iou", "2", NR), ("--iou",)),  # noqa: E501
    Case("label-evaluate-iou-nan", ("label", "evaluate", "--pred", f"{W}/missing.json", "--gold", f"{W}/missing.json", "--iou", "nan", NR), ("--iou",)),  # noqa: E501
    Case("label-evaluate-task", ("label", "evaluate", "--pred", f"{W}/missing.json", "--gold", f"{W}/missing.json", "--task", "ocr", NR), ("ocr",)),  # noqa: E501
    Case("label-effort-missing", ("label", "effort", "--pred", f"{W}/missing.json", "--corrected", f"{W}/missing.json", NR), ("missing.json",)),  # noqa: E501
    Case("label-run-labeler", ("label", "run", "--labeler", "magic", "--images", f"{W}/folder", NR), ("magic",)),  # noqa: E501
    Case("label-run-threads", ("label", "run", "--labeler", "magic", "--images", f"{W}/folder", "--threads", "0", NR), ("--threads",)),  # noqa: E501
    Case("label-convert-missing", ("label", "convert", f"{W}/missing.json", f"{W}/out.json", "--to", "coco"), ("missing.json",)),  # noqa: E501
    Case("label-convert-to", ("label", "convert", f"{W}/missing.json", f"{W}/out.json", "--to", "pascal"), ("pascal",)),  # noqa: E501
    Case("label-synth-n-0", ("label", "synth", f"{W}/synth", "--n", "0"), ("--n",)),
    Case("label-synth-width-0", ("label", "synth", f"{W}/synth", "--width", "0"), ("64x64",)),
    # ---- voice --------------------------------------------------------------------------------
    *[
        Case(f"voice-evaluate-scores-{name}", ("voice", "evaluate", "--scores", f"{W}/{name}", "--keys", f"{W}/{name}"), (name, why))  # noqa: E501
        for name, why in [
            ("missing.txt", "does not exist"),
            ("latin1.txt", "not UTF-8"),
            ("empty.txt", ""),
            ("garbage.bin", ""),
            ("folder", ""),
        ]
    ],
    Case("voice-evaluate-rate-0", ("voice", "evaluate", "--system", "cmd:true", "--audio-dir", f"{W}/folder", "--keys", f"{W}/empty.txt", "--sample-rate", "0"), ("sample_rate",)),  # noqa: E501
    Case("voice-evaluate-asv-rates", ("voice", "evaluate", "--scores", f"{W}/empty.txt", "--asv-rates", "a,b"), ("--asv-rates",)),  # noqa: E501
    Case("voice-evaluate-tdcf", ("voice", "evaluate", "--scores", f"{W}/empty.txt", "--tdcf", "2030"), ("--tdcf",)),  # noqa: E501
    Case("voice-evaluate-add-missing", ("voice", "evaluate-add", "--task", "localisation", "--pred", f"{W}/missing.txt", "--ref", f"{W}/missing.txt"), ("missing.txt",)),  # noqa: E501
    Case("voice-evaluate-add-step", ("voice", "evaluate-add", "--task", "localisation", "--pred", f"{W}/ok.txt", "--ref", f"{W}/ok.txt", "--frame-step", "0"), ("--frame-step",)),  # noqa: E501
    Case("voice-evaluate-add-task", ("voice", "evaluate-add", "--task", "detection", "--pred", f"{W}/ok.txt"), ("detection",)),  # noqa: E501
    Case("voice-build-bonafide-0", ("voice", "build-testset", "-o", f"{W}/vt", "--bonafide", "0"), ("--bonafide",)),  # noqa: E501
    Case("voice-build-per-attack", ("voice", "build-testset", "-o", f"{W}/vt", "--per-attack", "-1"), ("--per-attack",)),  # noqa: E501
    Case("voice-build-attacks", ("voice", "build-testset", "-o", f"{W}/vt", "--attacks", "laser"), ("laser",)),  # noqa: E501
    Case("voice-build-conditions", ("voice", "build-testset", "-o", f"{W}/vt", "--conditions", "underwater"), ("underwater",)),  # noqa: E501
    Case("voice-build-out-file", ("voice", "build-testset", "-o", f"{W}/a_file"), ("a_file",)),
    Case("voice-train-missing", ("voice", "train-baseline", "--data", f"{W}/missing_set", "-o", f"{W}/m.npz"), ("missing_set",)),  # noqa: E501
    Case("voice-train-kind", ("voice", "train-baseline", "--data", f"{W}/folder", "-o", f"{W}/m.npz", "--kind", "svm"), ("svm",)),  # noqa: E501
    Case("voice-train-components", ("voice", "train-baseline", "--data", f"{W}/folder", "-o", f"{W}/m.npz", "--components", "0"), ("--components",)),  # noqa: E501
    Case("voice-train-epochs", ("voice", "train-baseline", "--data", f"{W}/folder", "-o", f"{W}/m.npz", "--kind", "cnn", "--epochs", "0"), ("--epochs",)),  # noqa: E501
]
# fmt: on


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGCE_DB", f"sqlite:///{world.db}")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("PINGCE_TOKEN", raising=False)
    monkeypatch.chdir(world.root)
    args = [world.fmt(a) for a in case.args]
    before_store, before_tree = store_digest(world.db), tree(world.root, world.db)
    code, _, err = invoke(args)
    lines = [line for line in err.splitlines() if line.strip()]
    shown = f"pingce {' '.join(args)}\n--- stderr ---\n{err}"
    assert "Traceback" not in err, shown
    assert code == 2, shown
    assert len(lines) == 1 and lines[0].startswith("error: "), shown
    for needle in case.expect:
        assert world.fmt(needle) in lines[0], f"{needle!r} missing: {shown}"
    assert store_digest(world.db) == before_store, f"the store changed: {shown}"
    assert tree(world.root, world.db) == before_tree, f"files were written: {shown}"
    for path in case.absent:
        assert not Path(world.fmt(path)).exists(), f"{path} was created: {shown}"


def test_the_store_still_reads(world: World) -> None:
    """After the battery the two runs are intact and comparable (McNemar never sees fractions)."""
    code, out, err = invoke(["compare", world.run_a, world.run_b, "--db", str(world.db)])
    assert code == 0, err
    assert "Traceback" not in err
    code, out, err = invoke(["list", "runs", "--db", str(world.db)])
    assert code == 0 and out.count("completed") == 2, err


def test_compare_json_written(world: World, tmp_path: Path) -> None:
    target = tmp_path / "deltas.json"
    args = ["compare", world.run_a, world.run_b, "--json", str(target), "--db", str(world.db)]
    code, _, err = invoke(args)
    assert code == 0, err
    assert {d["metric"] for d in json.loads(target.read_text())} >= {"perf_accuracy"}
