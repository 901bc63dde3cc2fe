"""`pingce steel ...` end to end, and its user errors as one `error:` line with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner


def _app():  # type: ignore[no-untyped-def]
    from pingce.cli import app

    return app


def _pingce(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from pingce.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_generate_writes_and_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "heats.parquet"
    res = CliRunner().invoke(
        _app(),
        [
            "steel",
            "generate",
            "--out",
            str(out),
            "--heats",
            "50",
            "--series",
            str(tmp_path / "s.csv"),
            "--series-heats",
            "2",
        ],
    )
    assert res.exit_code == 0, res.output
    frame = pd.read_parquet(out)
    assert frame["heat_id"].nunique() == 50 and "endpoint_temp_c" in frame
    assert pd.read_csv(tmp_path / "s.csv")["heat_id"].nunique() == 2
    clean = tmp_path / "clean.csv"
    res = CliRunner().invoke(
        _app(),
        ["steel", "generate", "--out", str(clean), "--heats", "300", "--seed", "1", "--clean"],
    )
    assert res.exit_code == 0, res.output
    frame_clean = pd.read_csv(clean)
    assert (
        frame_clean["heat_id"].is_unique and len(frame_clean) == 300
    )  # seed 1 injects 4 otherwise
    assert "tap_temp_c" not in frame_clean and not frame_clean.isna().any().any()
    before = out.read_bytes()
    proc = _pingce("steel", "generate", "--out", str(out))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "already exists" in lines[0]
    assert out.read_bytes() == before


def test_evaluate_a_trusted_pickle_writes_a_report(tmp_path: Path, linear_pickle: Path) -> None:
    data = tmp_path / "heats.csv"
    res = CliRunner().invoke(
        _app(), ["steel", "generate", "--out", str(data), "--heats", "200", "--seed", "4"]
    )
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(
        _app(),
        [
            "steel",
            "evaluate",
            "--model",
            f"pickle:{linear_pickle}",
            "--trust-pickle",
            "--data",
            str(data),
            "--tolerance",
            "temp=12,20",
            "--no-importance",
            "--report-dir",
            str(tmp_path / "rep"),
            "-q",
            "--db",
            str(tmp_path / "s.db"),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(next((tmp_path / "rep").rglob("report.json")).read_text(encoding="utf-8"))
    rows = next(s for s in doc["sections"] if s["id"] == "endpoint-hit-rates")["table"]["rows"]
    assert [r[1] for r in rows][:2] == ["±12 °C", "±20 °C"]
    assert [t["id"] for t in doc["tasks"]] == ["endpoint"]


def test_check_a_heat_table(tmp_path: Path) -> None:
    data = tmp_path / "heats.csv"
    assert (
        CliRunner()
        .invoke(_app(), ["steel", "generate", "--out", str(data), "--heats", "120"])
        .exit_code
        == 0
    )
    res = CliRunner().invoke(
        _app(),
        [
            "steel",
            "check",
            "--heats",
            str(data),
            "--no-report",
            "-q",
            "--db",
            str(tmp_path / "s.db"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "leakage" in res.output and "timeseries" not in res.output  # no series given


def test_user_errors_are_one_line(tmp_path: Path, linear_pickle: Path) -> None:
    (tmp_path / "ser.csv").write_text("heat_id,t_s,x\nh,1,2\n", encoding="utf-8")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    cases = [
        (
            [
                "steel",
                "check",
                "--heats",
                "generated",
                "--series",
                str(tmp_path / "ser.csv"),
                "--no-report",
            ],
            "ser.csv: no reference sensor column",
        ),
        (
            ["steel", "check", "--heats", str(tmp_path / "empty.csv"), "--no-report"],
            "cannot be read",
        ),
        (
            ["steel", "evaluate", "--model", f"pickle:{linear_pickle}", "--no-report"],
            "--trust-pickle",
        ),
        (
            [
                "steel",
                "evaluate",
                "--model",
                f"pickle:{linear_pickle}",
                "--tolerance",
                "temp=abc",
                "--no-report",
            ],
            "--tolerance",
        ),
        (["steel", "evaluate", "--model", "onnx:/nope.onnx", "--no-report"], "does not exist"),
        (
            ["steel", "check", "--heats", str(tmp_path / "none.csv"), "--no-report"],
            "does not exist",
        ),
        (
            ["steel", "check", "--heats", "generated", "--units", "hm_temp_c", "--no-report"],
            "--units",
        ),
        (["steel", "generate", "--out", str(tmp_path / "x.txt")], ".csv or .parquet"),
    ]
    for args, needle in cases:
        proc = _pingce(*args, *(["--db", str(tmp_path / "s.db")] if args[1] != "generate" else []))
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], (
            args,
            proc.stderr,
        )


def test_list_suites_shows_the_steel_family_together() -> None:
    res = CliRunner().invoke(_app(), ["list", "suites"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    names = [line.split("│")[1].strip() for line in res.output.splitlines() if line.startswith("│")]
    names = [n for n in names if n]
    family = [
        "kg/steel-extraction",
        "kg/steel-quality",
        "llm/sector/steel",
        "steel/bof-endpoint",
        "steel/process-data",
    ]
    start = names.index(family[0])
    assert names[start : start + len(family)] == family
