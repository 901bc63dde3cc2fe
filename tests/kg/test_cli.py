"""`pingce kg ...` end to end: the demo predictions, a graph check, errors, the demo step."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pingce.kg.ontology import DATA_DIR


def _app():  # type: ignore[no-untyped-def]
    from pingce.cli import app

    return app


def test_evaluate_writes_a_valid_report(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(_app(), ["kg", "evaluate", "--pred", str(DATA_DIR / "steel-demo-predictions.jsonl"), "--subset",
                                 "--report-dir", str(tmp_path / "rep"), "-q"])  # fmt: skip
    assert res.exit_code == 0, res.output
    report = next((tmp_path / "rep").rglob("report.json"))
    doc = json.loads(report.read_text(encoding="utf-8"))
    metrics = doc["tasks"][0]["metrics"]
    assert doc["standard"]["id"] == "kg" and 0.7 < metrics["kg_triple_f1"]["value"] < 0.9
    assert (
        metrics["kg_triple_f1"]["ci_low"]
        <= metrics["kg_triple_f1"]["value"]
        <= metrics["kg_triple_f1"]["ci_high"]
    )
    ids = {s["id"] for s in doc["sections"]}
    assert {
        "extraction-matching",
        "extraction-relations",
        "extraction-entities",
        "extraction-conformance",
    } <= ids
    assert (report.parent / "report.html").is_file()


def test_quality_on_the_reference_graph(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        _app(), ["kg", "quality", str(DATA_DIR / "steel-reference-kg.ttl"), "--no-report", "-q"]
    )
    assert res.exit_code == 0, res.output
    assert "shacl" in res.output and "competency" in res.output


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    from pingce.core.errors import PingceError

    bad = tmp_path / "p.jsonl"
    bad.write_text('{"id": "en-01", "triples": [["only", "two"]]}\n', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", "from pingce.cli import main; main()", "kg", "evaluate", "--pred", str(bad), "--no-report"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (
        proc.returncode == 2
        and "p.jsonl:1: triples[0]" in proc.stderr
        and "Traceback" not in proc.stderr
    )
    assert len(proc.stderr.strip().splitlines()) <= 2  # one line (the console may wrap it)
    res = CliRunner().invoke(
        _app(), ["kg", "quality", str(tmp_path / "missing.ttl"), "--no-report"]
    )
    assert isinstance(res.exception, PingceError) and "does not exist" in str(res.exception)


def test_reference_copies_the_material(tmp_path: Path) -> None:
    res = CliRunner().invoke(_app(), ["kg", "reference", "--out", str(tmp_path / "steel")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "steel" / "steel.ttl").is_file() and (
        tmp_path / "steel" / "steel-gold.jsonl"
    ).is_file()


def test_demo_step(tmp_path: Path) -> None:
    from rich.console import Console

    from pingce.core.demo import DemoContext
    from pingce.core.registry import demos
    from pingce.core.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    ctx = DemoContext(store=store, report_dir=tmp_path, console=Console(quiet=True), quiet=True)
    run_id = demos.get("70-kg")(ctx)
    assert store.get_run(run_id).status == "completed"
