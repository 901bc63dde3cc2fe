"""`pingce run --model-arg KEY=VALUE`: the served-model options of llm-served.md from the CLI.

Reference: the fault-injecting OpenAI-compatible server counts every attempt per prompt, so
`max_retries` is checked by the attempts the server saw (1 + max_retries), not by pingce's
own bookkeeping.
"""

from __future__ import annotations

import json
from pathlib import Path

from pingce.core.store import open_store

PROMPTS = ["[[500x2]] <<a1>>", "[[always500]] <<a2>>", "plain <<a3>>"]


def _suite(tmp_path: Path) -> Path:
    data = tmp_path / "d.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": f"s{i}", "q": p, "answer": p.split("<<")[1][:-2]}) + "\n"
            for i, p in enumerate(PROMPTS)
        ),
        encoding="utf-8",
    )
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "standard: llm\nname: args\ntasks:\n  - id: gen\n    type: generative\n"
        f"    dataset: {{path: {data}}}\n    prompt: '{{{{ q }}}}'\n"
        "    generation: {max_new_tokens: 8, until: []}\n",
        encoding="utf-8",
    )
    return suite


def test_model_args_reach_the_client(fault_server, tmp_path: Path, pingce_cli) -> None:
    db = f"sqlite:///{tmp_path / 'args.db'}"
    model = f"openai://127.0.0.1:{fault_server.port}/v1?model=fault-model"
    args = ["max_retries=1", "backoff_base_s=0.05", "backoff_max_s=0.1"]
    args += ["adaptive=false", "request_cache=false", "timeout_s=5"]
    cmd = ["run", "--suite", str(_suite(tmp_path)), "--model", model, "--db", db, "--no-report"]
    cmd += [x for a in args for x in ("--model-arg", a)]
    proc = pingce_cli(cmd, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "2 samples failed" in proc.stderr and "Traceback" not in proc.stderr
    attempts = fault_server.get("/stats")["attempts"]
    # 1 + max_retries: the default (6) would have reached the third attempt of [[500x2]]
    assert attempts[PROMPTS[0]] == 2 and attempts[PROMPTS[1]] == 2
    assert attempts[PROMPTS[2]] == 1
    store = open_store(db)
    options = store.list_runs()[0].config["options"]
    assert options["max_retries"] == 1 and options["request_cache"] is False
    assert options["adaptive"] is False and options["backoff_base_s"] == 0.05
    store.close()


def test_model_arg_errors_are_one_line(tmp_path: Path, pingce_cli) -> None:
    suite = _suite(tmp_path)
    served = "openai://127.0.0.1:9/v1?model=m"
    for model, arg, expect in (
        (served, "max_retry=1", "unknown served-model option 'max_retry'"),
        (served, "max_retries=two", "expected an integer"),
        (served, "adaptive=maybe", "must be true or false"),
        (served, "timeout_s=-1", "must be positive"),
        (served, "novalue", "is not KEY=VALUE"),
        ("hf:./nope", "max_retries=1", "is not a served model"),
    ):
        proc = pingce_cli(
            ["run", "--suite", str(suite), "--model", model, "--model-arg", arg, "--no-report"],
            cwd=tmp_path,
        )
        assert proc.returncode == 2, (arg, proc.stderr)
        assert expect in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.count("error:") == 1


def test_resume_may_change_only_client_settings(tmp_path: Path, pingce_cli) -> None:
    proc = pingce_cli(
        ["run", "--resume", "no-such-run", "--model-arg", "endpoint=chat", "--no-report"],
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "--model-arg endpoint cannot change when resuming" in proc.stderr
