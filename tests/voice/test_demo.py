"""The `50-voice` demo step: the bundled LFCC-GMM scores evaluated through the pipeline."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from pingce.core.demo import DemoContext
from pingce.core.registry import demos
from pingce.core.reporting import build_report_doc
from pingce.core.store import open_store
from pingce.voice import metrics as vm
from pingce.voice.demo import bundle_dir
from pingce.voice.trials import load_trials


def test_voice_demo_step_runs_and_matches_the_bundle(tmp_path: Path) -> None:
    assert "50-voice" in demos.names()
    store = open_store(f"sqlite:///{tmp_path / 'demo.db'}")
    ctx = DemoContext(
        store=store, report_dir=tmp_path / "rep", console=Console(quiet=True), quiet=True
    )
    run_id = demos.get("50-voice")(ctx)
    doc = build_report_doc(store, store.get_run(run_id))
    assert doc["run"]["status"] == "completed"
    ts = load_trials(bundle_dir() / "scores.txt", bundle_dir() / "keys.tsv")
    bona = [t.score for t in ts.trials if t.is_bonafide]
    spoof = [t.score for t in ts.trials if not t.is_bonafide]
    assert doc["tasks"][0]["metrics"]["voice_eer"]["value"] == vm.eer(bona, spoof)[0]
    assert {s["id"] for s in doc["sections"]} >= {"voice-breakdown", "voice-det", "voice-heatmap"}
    langs = {g["value"] for g in doc["extra"]["cm"]["groups"] if g["by"] == "language"}
    assert len(langs) >= 3 and langs <= {"de", "en", "es", "fr", "it"}
