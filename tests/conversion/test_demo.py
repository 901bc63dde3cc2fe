"""The demo steps of both standards run offline, quickly, and produce valid report files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rich.console import Console

pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("step", ["30-compression", "35-conversion"])
def test_demo_step(step: str, tmp_path: Path) -> None:
    from pingce.core.demo import DemoContext
    from pingce.core.registry import demos
    from pingce.core.report import write_report
    from pingce.core.reporting import build_report_doc
    from pingce.core.store import open_store

    store = open_store(os.environ["PINGCE_DB"])
    ctx = DemoContext(store=store, report_dir=tmp_path, console=Console(quiet=True), quiet=True)
    run_id = demos.get(step)(ctx)
    row = store.get_run(run_id)
    assert row.status == "completed"
    doc = build_report_doc(store, row)
    paths = write_report(doc, tmp_path / run_id)  # validates against the report schema
    assert {p.name for p in paths} == {"report.html", "report.md", "report.json"}
    assert doc["sections"]
