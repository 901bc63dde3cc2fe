"""Text from models is always storable and renderable (issue #14, item 6).

A real OpenAI-compatible server on 127.0.0.1 (fault_server.py) answers with a lone UTF-16
surrogate (JSON "\\ud800"), a NUL and bytes that are not UTF-8. The run completes, the record
keeps the text with U+FFFD in their place and `text_repaired: true`, and `pingce report` works,
also on a store written before text was repaired (a lone surrogate put into a record).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pingce.backends.api_client import loads
from pingce.backends.base import repair_text
from pingce.core.run import RunRequest, execute_run
from pingce.core.store import open_store, records_as_dicts

PROMPTS = {
    "plain": "plain <<fine>>",
    "surrogate": "[[surrogate]] <<odd>>",
    "badutf8": "[[badutf8]] <<raw>>",
}
UNSTORABLE = {"\x00", *(chr(c) for c in range(0xD800, 0xE000))}


def test_repair_text_replaces_nul_and_lone_surrogates_only() -> None:
    assert repair_text("a\ud800b\x00c\udfff") == ("a\ufffdb\ufffdc\ufffd", True)
    assert repair_text("汉字 😀 \ufffd") == ("汉字 😀 \ufffd", False)  # paired and valid: kept


def test_loads_keeps_invalid_utf8_as_surrogates_for_repair() -> None:
    data = loads(b'{"text": "ok \xff\xfe"}')
    text, changed = repair_text(data["text"])
    assert changed and text == "ok \ufffd\ufffd"


def _suite(folder: Path) -> Path:
    data = folder / "odd.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": k, "q": p, "answer": p.split("<<")[1][:-2]}) + "\n"
            for k, p in PROMPTS.items()
        ),
        encoding="utf-8",
    )
    suite = folder / "odd.yaml"
    suite.write_text(
        "standard: llm\nname: odd-text\ntitle: odd text\ntasks:\n"
        "  - id: gen\n    type: generative\n    dimension: generation\n"
        "    dataset: {path: odd.jsonl}\n"
        '    prompt: "{{ q }}"\n    target: answer\n'
        "    generation: {max_new_tokens: 8, until: []}\n    metrics: [exact_match]\n",
        encoding="utf-8",
    )
    return suite


def _check_records(records: list[dict[str, Any]]) -> None:
    by_id = {r["sample_id"]: r for r in records}
    assert set(by_id) == set(PROMPTS)
    assert by_id["plain"]["data"]["output"] == "fine"
    assert "text_repaired" not in by_id["plain"]["data"]
    assert by_id["surrogate"]["data"]["output"] == "odd\ufffd and \ufffd"
    assert by_id["badutf8"]["data"]["output"] == "raw\ufffd\ufffd"
    for key in ("surrogate", "badutf8"):
        assert by_id[key]["data"]["text_repaired"] is True
    for rec in records:
        assert not UNSTORABLE & set(rec["data"]["output"])


@pytest.mark.parametrize("stream", [False, True])
def test_generative_run_completes_with_repaired_text(fault_server, tmp_path, stream) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'odd.db'}")
    subject = f"openai://127.0.0.1:{fault_server.port}/v1?model=fault-model"
    run_id = execute_run(
        store,
        RunRequest(
            suite=str(_suite(tmp_path)),
            subject=subject,
            options={"stream": stream, "request_cache": False, "max_retries": 0},
        ),
        show_progress=False,
    )
    assert store.get_run(run_id).status == "completed"
    _check_records(records_as_dicts(store.records(run_id)))


def test_report_works_on_new_and_old_stores(fault_server, tmp_path, pingce_cli) -> None:
    db = tmp_path / "odd.db"
    subject = f"openai://127.0.0.1:{fault_server.port}/v1?model=fault-model"
    run = pingce_cli(
        ["run", "--suite", str(_suite(tmp_path)), "--model", subject, "--db", str(db), "-q"],
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    store = open_store(f"sqlite:///{db}")
    (row,) = store.list_runs()
    assert row.status == "completed"
    _check_records(records_as_dicts(store.records(row.id)))
    html = (tmp_path / "reports" / row.id / "report.html").read_text(encoding="utf-8")
    assert "odd\ufffd and \ufffd" in html

    # A store written before the repair existed: a lone surrogate and a NUL in a record.
    with sqlite3.connect(db) as con:
        con.execute(
            "UPDATE records SET data = json_set(data, '$.output', json('\"x\\ud800\\u0000y\"'))"
            " WHERE sample_id = 'plain'"
        )
    old = store.records(row.id)
    assert any("\ud800" in r.data["output"] for r in old)
    out = tmp_path / "again"
    report = pingce_cli(["report", row.id, "--db", str(db), "--out", str(out)], cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    for name in ("report.html", "report.md", "report.json"):
        (out / name).read_text(encoding="utf-8")  # valid UTF-8
    json.loads((out / "report.json").read_text(encoding="utf-8"))
    # The dashboard renders the same run: pages and exports, no 500.
    from starlette.testclient import TestClient

    from pingce.web.app import create_app

    client = TestClient(create_app(store), base_url="http://127.0.0.1:8765")
    for path in ("/", f"/runs/{row.id}", f"/runs/{row.id}/samples", f"/runs/{row.id}/export/html"):
        page = client.get(path)
        assert page.status_code == 200, path
