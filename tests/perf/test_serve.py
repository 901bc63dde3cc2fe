"""`pingce perf serve` against a local fixture server with scripted token timings.

The metric formulas are checked exactly on hand-written timings and on the timestamps an
end-to-end run recorded; those timestamps are checked against the fixture's script (100 ms to
the first token, then a token every 30 ms) as floors only, so a busy machine cannot fail them.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pingce.core.errors import PingceError
from pingce.core.run import RunRequest, execute_run
from pingce.core.spec import suite_from_dict
from pingce.core.store import open_store
from pingce.perf.serve.load import Endpoint, Prompt, run_level, synthetic_prompts
from pingce.perf.serve.metrics import level_summary, request_metrics

FIRST_S, GAP_S, TOKENS = 0.100, 0.030, 5


def test_formulas_on_hand_written_timings() -> None:
    # Request sent at 0, chunks at 0.1, 0.13, 0.16, 0.19, 0.22, stream ends at 0.23.
    rt = {
        "start": 0.0,
        "chunk_times": [0.1, 0.13, 0.16, 0.19, 0.22],
        "end": 0.23,
        "usage_output_tokens": 5,
        "error": "",
    }
    m = request_metrics(rt)
    assert m["ttft_ms"] == pytest.approx(100.0)
    assert m["e2e_ms"] == pytest.approx(230.0)
    assert m["tpot_ms"] == pytest.approx((230.0 - 100.0) / 4)  # 32.5
    assert m["itl_ms"] == pytest.approx([30.0] * 4)
    one = {
        "start": 1.0,
        "chunk_times": [1.05],
        "end": 1.06,
        "usage_output_tokens": None,
        "error": "",
    }
    assert request_metrics(one)["tpot_ms"] is None  # one token: TPOT undefined
    failed = {
        "start": 0.5,
        "chunk_times": [],
        "end": 2.0,
        "usage_output_tokens": None,
        "error": "HTTP 500: boom",
    }
    s = level_summary([rt, one, failed], slo_ttft_ms=60.0, slo_tpot_ms=None)
    # Window: first send 0.0 to last end 2.0 = 2 s. 2 completed, 6 tokens, 1 meets TTFT <= 60.
    assert s["window_s"] == pytest.approx(2.0)
    assert s["request_throughput"] == pytest.approx(1.0)
    assert s["output_token_throughput"] == pytest.approx(3.0)
    assert s["goodput"] == pytest.approx(0.5)
    assert s["failed"] == 1 and s["errors"] == ["HTTP 500: boom"]
    # Percentiles by the loadgen rank rule over TTFTs [50, 100]: p50 = sorted[1] = 100.
    assert s["ttft_ms"]["p50"] == pytest.approx(100.0) and s["ttft_ms"]["p99"] == pytest.approx(
        100.0
    )
    assert s["itl_ms"]["n"] == 4


class _Script(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.bodies.append(body)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        n = min(TOKENS, int(body.get("max_tokens", TOKENS)))

        def send(obj: object) -> None:
            data = f"data: {obj if isinstance(obj, str) else json.dumps(obj)}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        t0 = time.perf_counter()
        for i in range(n):
            due = t0 + FIRST_S + i * GAP_S
            time.sleep(max(0.0, due - time.perf_counter()))
            send({"choices": [{"index": 0, "text": f" tok{i}"}]})
        send({"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": n}})
        send("[DONE]")
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fixture_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Script)
    server.bodies = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_streaming_metrics_match_the_script(fixture_server) -> None:
    """No assertion on how fast the machine is (that belongs in benchmarks/): the recorded
    timestamps obey the script's floors, and every figure is the formula applied to them."""
    server, url = fixture_server
    ep = Endpoint(url, "m", ignore_eos=True)
    prompts = [Prompt("hello", 16, None)] * 4
    reqs = run_level(ep, prompts, "concurrency", 2, warmup=1)
    assert len(reqs) == 4 and len(server.bodies) == 5  # warm-up sent, not measured
    assert server.bodies[0]["ignore_eos"] is True and server.bodies[0]["stream"] is True
    # The script is a floor: the server sends chunk i no earlier than FIRST_S + i * GAP_S after
    # it got the request, so the client, which stamps `start` before sending, sees each chunk
    # at least that long after `start`, however busy the machine (a client that stamped every
    # chunk on the first arrival would break the floor for i >= 1).
    for r in reqs:
        assert not r["error"] and len(r["chunk_times"]) == TOKENS
        assert r["chunk_times"] == sorted(r["chunk_times"]) and r["chunk_times"][-1] <= r["end"]
        for i, c in enumerate(r["chunk_times"]):
            assert c - r["start"] >= FIRST_S + i * GAP_S
    s = level_summary(reqs)
    # Reference: the module docstring's formulas, recomputed here from the recorded timestamps.
    ttft = [(r["chunk_times"][0] - r["start"]) * 1000 for r in reqs]
    e2e = [(r["end"] - r["start"]) * 1000 for r in reqs]
    tpot = [(e - t) / (TOKENS - 1) for e, t in zip(e2e, ttft, strict=True)]
    itl = [
        (b - a) * 1000
        for r in reqs
        for a, b in zip(r["chunk_times"], r["chunk_times"][1:], strict=False)
    ]
    for key, values in (("ttft_ms", ttft), ("e2e_ms", e2e), ("tpot_ms", tpot), ("itl_ms", itl)):
        assert s[key]["n"] == len(values)
        assert s[key]["mean"] == pytest.approx(sum(values) / len(values), rel=1e-12)
        assert (s[key]["min"], s[key]["max"]) == (min(values), max(values))
    assert s["ttft_ms"]["min"] >= FIRST_S * 1000
    assert s["e2e_ms"]["min"] >= (FIRST_S + (TOKENS - 1) * GAP_S) * 1000
    assert s["output_tokens"] == 4 * TOKENS  # the usage chunk's completion_tokens
    window = max(r["end"] for r in reqs) - min(r["start"] for r in reqs)
    assert s["window_s"] == pytest.approx(window, rel=1e-12)
    # 2 clients x 2 rounds in sequence: at least twice one scripted request
    assert window >= 2 * (FIRST_S + (TOKENS - 1) * GAP_S)
    assert s["request_throughput"] == pytest.approx(4 / window, rel=1e-12)
    assert s["output_token_throughput"] == pytest.approx(4 * TOKENS / window, rel=1e-12)


def test_serve_pipeline_poisson_sweep_with_slo(fixture_server) -> None:
    from pingce.core.report.render import validate_report
    from pingce.core.reporting import build_report_doc

    _, url = fixture_server
    suite = suite_from_dict(
        {
            "standard": "server-perf",
            "name": "serve-test",
            "tasks": [
                {
                    "id": "serve",
                    "type": "serve",
                    "mode": "poisson",
                    "values": [5.0, 20.0],
                    "num_requests": 6,
                    "warmup": 1,
                    "output_len": 5,
                    "slo_ttft_ms": 1000.0,
                    "slo_tpot_ms": 5.0,
                }
            ],
        },
        "test",
        Path.cwd(),
    )
    store = open_store()
    run_id = execute_run(
        store, RunRequest(suite=suite, subject=f"openai:{url}?model=m"), show_progress=False
    )
    doc = build_report_doc(store, store.get_run(run_id))
    validate_report(doc)
    rows = {t["id"]: t for t in doc["tasks"]}
    assert set(rows) == {"serve@poisson=5", "serve@poisson=20"}
    for t in rows.values():
        assert t["metrics"]["serve_goodput"]["value"] == 0.0  # TPOT 30 ms > the 5 ms SLO
        assert 100.0 <= t["metrics"]["serve_ttft_ms"]["value"] <= 250.0
    assert any(s["id"] == "serve-serve" for s in doc["sections"])


def test_unreachable_endpoint_and_bad_options(tmp_path: Path) -> None:
    ep = Endpoint("http://127.0.0.1:9/v1", "m", timeout_s=2.0)
    with pytest.raises(PingceError, match="cannot connect"):
        run_level(ep, [Prompt("x", 2, None)], "poisson", 10.0, warmup=0)
    with pytest.raises(PingceError, match="values"):
        suite_from_dict(
            {
                "standard": "server-perf",
                "name": "x",
                "tasks": [{"id": "s", "type": "serve", "mode": "concurrency", "values": [1.5]}],
            },
            "t",
            tmp_path,
        )


def test_synthetic_prompts_have_exact_token_counts(tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    prompts = synthetic_prompts(3, 24, 8, str(tiny_model_dir), seed=1)
    # Reference: the tokenizer itself.
    assert [len(tok.encode(p.text, add_special_tokens=False)) for p in prompts] == [24] * 3
    assert all(p.max_tokens == 8 and p.input_tokens == 24 for p in prompts)
