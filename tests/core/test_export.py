"""`pingce export RUN --records`: every record of a run, in JSON Lines, CSV and Parquet.

References: the records written into a real SQLite store by the test itself; the files are
read back with the standard library's json/csv and with pyarrow.parquet, independently of the
writer.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pingce.core.store import open_store

N = 2503  # more than one streaming batch (1000) and not a multiple of it


@pytest.fixture()
def run_db(tmp_path: Path) -> tuple[str, str]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url)
    store.create_run(
        id="run-export-1",
        standard="llm",
        suite="s",
        subject="x",
        subject_fingerprint={},
        config={},
        config_hash="h",
        environment={},
        status="completed",
    )
    recs = []
    for i in range(N):
        task = "big" if i < 2400 else "small"
        recs.append(
            {
                "task": task,
                "key": f"k{i}",
                "sample_id": f"{task}-{i}",
                "position": i,
                "scores": {"acc": float(i % 2), "pair": [1, i % 2]}
                | ({"flag": True} if i % 3 == 0 else {}),
                "data": {"prompt": f'问题 {i}, "quoted"\nline', "output": "巴黎"},
            }
        )
    store.add_records("run-export-1", recs)
    store.close()
    return url, "run-export-1"


def _cli(pingce_cli, tmp_path: Path, url: str, *args: str):
    return pingce_cli(["export", *args, "--db", url], cwd=tmp_path)


def test_export_every_record_in_three_formats(run_db, tmp_path: Path, pingce_cli) -> None:
    url, run_id = run_db
    out = tmp_path / "r.jsonl"
    proc = _cli(pingce_cli, tmp_path, url, run_id, "--records", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"{N} records" in proc.stdout
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == N
    by_id = {r["sample_id"]: r for r in lines}
    assert by_id["big-7"]["scores"] == {"acc": 1.0, "pair": [1, 1]}
    assert by_id["small-2401"]["data"]["output"] == "巴黎"
    assert not list(tmp_path.glob(".r.jsonl.tmp*"))

    csv_path = tmp_path / "r.csv"
    proc = _cli(pingce_cli, tmp_path, url, run_id, "--records", "-f", "csv", "-o", str(csv_path))
    assert proc.returncode == 0, proc.stderr
    with csv_path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == N
    # scalar scores get columns; a list-valued score stays in the JSON column only
    assert "score.acc" in rows[0] and "score.flag" in rows[0] and "score.pair" not in rows[0]
    row = next(r for r in rows if r["sample_id"] == "big-3")
    assert float(row["score.acc"]) == 1.0 and float(row["score.flag"]) == 1.0
    assert next(r for r in rows if r["sample_id"] == "big-4")["score.flag"] == ""
    assert json.loads(row["data"])["prompt"] == '问题 3, "quoted"\nline'

    pq = pytest.importorskip("pyarrow.parquet")
    pq_path = tmp_path / "r.parquet"
    proc = _cli(pingce_cli, tmp_path, url, run_id, "--records", "-f", "parquet", "-o", str(pq_path))
    assert proc.returncode == 0, proc.stderr
    table = pq.read_table(pq_path)
    assert table.num_rows == N
    assert sum(table.column("score.acc").to_pylist()) == sum(i % 2 for i in range(N))
    assert table.column("task").to_pylist().count("small") == N - 2400


def test_export_refuses_to_overwrite_and_bad_options(run_db, tmp_path: Path, pingce_cli) -> None:
    url, run_id = run_db
    out = tmp_path / "mine.jsonl"
    out.write_text("not pingce's\n", encoding="utf-8")
    proc = _cli(pingce_cli, tmp_path, url, run_id, "--records", "-o", str(out))
    assert proc.returncode == 2
    assert "already exists" in proc.stderr and "--overwrite" in proc.stderr
    assert out.read_text(encoding="utf-8") == "not pingce's\n"
    proc = _cli(pingce_cli, tmp_path, url, run_id, "--records", "-o", str(out), "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == N
    for args, expect in (
        ([run_id], "say what to export"),
        ([run_id, "--records", "-f", "xlsx"], "--format must be one of"),
        (["no-such-run", "--records"], "no run"),
        ([run_id, "--records", "-o", str(tmp_path / "missing" / "x.csv")], "does not exist"),
    ):
        proc = _cli(pingce_cli, tmp_path, url, *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert expect in proc.stderr and "Traceback" not in proc.stderr
    # the default file name is the run id, in the working folder
    proc = _cli(pingce_cli, tmp_path, url, run_id, "--records", "-f", "csv")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / f"{run_id}.records.csv").is_file()


def test_html_report_says_which_samples_it_kept() -> None:
    from pingce.core.report.html import _samples_cut

    doc = {
        "run": {"id": "r1"},
        "extra": {"samples_kept": {"a": {"kept": 100, "total": 400}, "b": {"kept": 3, "total": 3}}},
    }
    text = _samples_cut(doc)
    assert "a 100 of 400" in text and "b 3" not in text
    assert "pingce export r1 --records" in text
    assert _samples_cut({"run": {"id": "r1"}, "extra": {}}) == ""
