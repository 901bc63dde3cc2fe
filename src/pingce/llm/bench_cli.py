"""`pingce bench ...`: helpers around the built-in benchmarks (C-Eval's submission file)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from pingce.core.cli_kit import Db
from pingce.core.errors import SpecError
from pingce.llm.task_types import short_type

app = typer.Typer(help="Built-in benchmark helpers (submission files).", no_args_is_help=True)


def ceval_submission(suite: dict[str, Any], records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """C-Eval's official submission JSON: {subject: {question id: "A"|"B"|"C"|"D"}}.

    Takes the predictions of every `ceval` task on the test split.
    """
    from pingce.llm.failures import partition_failed

    tasks = {
        t["id"]
        for t in suite["tasks"]
        if short_type(t["type"]) == "ceval" and (t.get("dataset") or {}).get("split") == "test"
    }
    if not tasks:
        raise SpecError(
            "the run has no ceval task on the test split", hint="set dataset.split: test"
        )
    ok, failed = partition_failed(records)
    if failed:
        raise SpecError(f"{len(failed)} C-Eval samples failed", hint="resume the run first")
    out: dict[str, dict[str, str]] = {}
    for rec in sorted(ok, key=lambda r: r["position"]):
        if rec["task"] not in tasks:
            continue
        subject, _, qid = rec["sample_id"].partition("/")
        out.setdefault(subject, {})[qid] = "ABCD"[int(rec["data"]["extracted"])]
    return out


@app.command("ceval-submission")
def ceval_submission_cmd(
    run_id: Annotated[
        str, typer.Argument(help="A run whose suite has a ceval task on the test split.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the JSON file.")] = Path(
        "ceval_submission.json"
    ),
    db: Db = None,
) -> None:
    """Write C-Eval's official submission JSON from a run's test-split predictions."""
    from pingce.core.cli_kit import open_db
    from pingce.core.store import records_as_dicts

    store = open_db(db, create=False)
    row = store.get_run(run_id)
    data = ceval_submission(row.config["suite_spec"], records_as_dicts(store.records(row.id)))
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    typer.echo(
        f"wrote {sum(len(v) for v in data.values())} answers in {len(data)} subjects to {out}"
    )
