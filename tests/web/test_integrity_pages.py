"""The dashboard over real runs (tiny model on llm/quick, a data-quality run): every completed
run verifies against its digest, and none of its pages carries an integrity warning — the
scores the runs list saved and the scores the run page recomputes agree (issue #14, item 5)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from pingce.core.integrity import verify_run
from pingce.core.reporting import build_report_doc
from pingce.web.app import create_app


def test_real_runs_verify_and_their_pages_carry_no_warning(dash: Any) -> None:
    client = TestClient(create_app(dash.store), base_url="http://127.0.0.1:8765")
    for run_id in (dash.run_a, dash.run_b, dash.data_run):
        row = dash.store.get_run(run_id)
        assert verify_run(dash.store, row).status == "verified", run_id
        doc = build_report_doc(dash.store, row)
        assert doc["integrity"]["warning"] is None, doc["integrity"]
        # The score the runs list shows (saved at completion) is the run page's score.
        assert row.results["overall"]["score"] == doc["overall"]["score"]
        page = client.get(f"/runs/{run_id}")
        assert page.status_code == 200 and "integrity-warning" not in page.text
    # Runs written straight into the store (no completion through pingce) are unsigned.
    attack = dash.store.get_run(dash.attack_run)
    assert verify_run(dash.store, attack).status == "unsigned"
    assert "integrity-warning" not in client.get("/").text
