"""`pingce perf serve` against a real `transformers serve` of the tiny local model.

The fixture-server tests in tests/perf check every formula against scripted timings; this one
checks the whole command against a real serving stack. References: the server's own usage
counts (prompt tokens must equal the requested --input-len, which pingce builds through the
model's tokenizer), and the report's figures recomputed here with `statistics` from the raw
per-request timings stored in the results store (TTFT = first chunk - start; E2E = end -
start; TPOT = (E2E - TTFT) / (output tokens - 1); throughput = completed / window).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from pingce.core.report.render import validate_report
from pingce.core.store import open_store

INPUT_LEN, OUTPUT_LEN, N = 16, 6, 4


@pytest.mark.slow
def test_perf_serve_against_transformers_serve(
    tserve, tiny_model_dir: Path, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    cmd = [
        sys.executable, "-m", "pingce.cli", "perf", "serve",
        "--url", tserve.url, "--model", str(tiny_model_dir),
        "--concurrency", "1", "--concurrency", "2",
        "--num-requests", str(N), "--warmup", "1",
        "--input-len", str(INPUT_LEN), "--output-len", str(OUTPUT_LEN),
        "--tokenizer", str(tiny_model_dir),
        "--slo-ttft-ms", "60000", "--slo-tpot-ms", "60000",
        "--db", db, "--report-dir", str(tmp_path / "reports"), "-q",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    store = open_store(db)
    (run,) = store.list_runs()
    assert run.status == "completed"
    doc = json.loads((tmp_path / "reports" / run.id / "report.json").read_text(encoding="utf-8"))
    validate_report(doc)
    tasks = {t["id"]: t["metrics"] for t in doc["tasks"]}
    assert set(tasks) == {"serve@concurrency=1", "serve@concurrency=2"}

    for rec in store.records(run.id):
        level = rec.data
        reqs = level["requests"]
        assert len(reqs) == N and all(r["error"] == "" for r in reqs)
        ttft, e2e, tpot = [], [], []
        for r in reqs:
            # Exact prompt length, as counted by the server's own tokenizer.
            assert r["prompt_tokens"] == INPUT_LEN
            assert 1 <= r["usage_output_tokens"] <= OUTPUT_LEN
            chunks = r["chunk_times"]
            assert r["start"] <= chunks[0] <= chunks[-1] <= r["end"]
            ttft.append((chunks[0] - r["start"]) * 1000)
            e2e.append((r["end"] - r["start"]) * 1000)
            if r["usage_output_tokens"] > 1:
                tpot.append((e2e[-1] - ttft[-1]) / (r["usage_output_tokens"] - 1))
        window = max(r["end"] for r in reqs) - min(r["start"] for r in reqs)
        m = tasks[f"serve@concurrency={int(level['value'])}"]
        assert m["serve_ttft_ms"]["value"] == pytest.approx(statistics.mean(ttft))
        assert m["serve_e2e_ms"]["value"] == pytest.approx(statistics.mean(e2e))
        assert m["serve_tpot_ms"]["value"] == pytest.approx(statistics.mean(tpot))
        assert m["serve_request_throughput"]["value"] == pytest.approx(N / window)
        out_tokens = sum(r["usage_output_tokens"] for r in reqs)
        assert m["serve_output_token_throughput"]["value"] == pytest.approx(out_tokens / window)
        # Generous SLOs: every request is good, so goodput equals request throughput.
        assert m["serve_goodput"]["value"] == pytest.approx(N / window)
