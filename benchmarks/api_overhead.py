"""Client overhead against an OpenAI-compatible server: pingce's openai backend vs lm-eval's
`local-completions`, on the same 2,000-request generation task, in one run.

Benchmark fixture: a local server that answers every /v1/completions request instantly with
a fixed completion (raw asyncio HTTP/1.1 with keep-alive, in its own process), so what is
measured is the client: requests/s it sustains and its CPU time per request. Each tool runs in
a fresh child process at concurrency 64 and 256; both send the same 2,000 distinct prompts
(greedy, 4 new tokens, non-streaming, pingce's request cache off).

    .venv/bin/python benchmarks/api_overhead.py   # writes benchmarks/results/api_overhead.json
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

N_REQUESTS = 2000
CONCURRENCY = (64, 256)
RESULT = Path(__file__).parent / "results" / "api_overhead.json"
ANSWER = json.dumps(
    {
        "id": "cmpl-bench",
        "object": "text_completion",
        "model": "bench",
        "choices": [{"index": 0, "text": " ok", "finish_reason": "length", "logprobs": None}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
    }
).encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(ANSWER)).encode()
    + b"\r\n\r\n"
    + ANSWER
)


# ---- the instant server (benchmark fixture) -----------------------------------------------
class _Instant(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buf[:head_end].lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                length = int(
                    head[at + 15 : head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None]
                )
            if len(self.buf) < head_end + 4 + length:
                return
            self.buf = self.buf[head_end + 4 + length :]
            self.transport.write(RESPONSE)  # type: ignore[attr-defined]


def serve(port: int) -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(
            _Instant, "127.0.0.1", port, backlog=1024
        )
        print("ready", flush=True)
        await server.serve_forever()

    asyncio.run(main())


# ---- the two clients -----------------------------------------------------------------------
def prompts() -> list[str]:
    return [f"Request number {i}: say ok." for i in range(N_REQUESTS)]


def run_pingce(port: int, concurrency: int) -> dict[str, float]:
    from pingce.backends.base import GenerationParams, GenerationRequest
    from pingce.backends.openai import open_openai
    from pingce.core.spec import parse_subject

    lm = open_openai(
        parse_subject(f"openai://127.0.0.1:{port}/v1?model=bench"),
        {"concurrency": concurrency, "stream": False, "request_cache": False, "adaptive": False},
    )
    params = GenerationParams(max_new_tokens=4, until=())
    reqs = [GenerationRequest(p, params) for p in prompts()]
    lm.generate(reqs[:50])  # warm the connection pool
    lm._memo.clear()
    wall, cpu = time.perf_counter(), time.process_time()
    out = lm.generate(reqs)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert len(out) == N_REQUESTS and all(g.text == " ok" for g in out)
    return {"seconds": wall, "cpu_seconds": cpu}


def run_lmeval(port: int, concurrency: int) -> dict[str, float]:
    import logging

    from lm_eval.api.instance import Instance
    from lm_eval.models.openai_completions import LocalCompletionsAPI

    logging.disable(logging.WARNING)
    lm = LocalCompletionsAPI(
        model="bench",
        base_url=f"http://127.0.0.1:{port}/v1/completions",
        tokenizer_backend=None,
        tokenized_requests=False,
        num_concurrent=concurrency,
        max_gen_toks=4,
    )

    def instances(texts: list[str]) -> list[Instance]:
        return [
            Instance(
                "generate_until", {}, (t, {"until": [], "max_gen_toks": 4, "do_sample": False}), i
            )
            for i, t in enumerate(texts)
        ]

    lm.generate_until(instances(prompts()[:50]), disable_tqdm=True)
    reqs = instances(prompts())
    wall, cpu = time.perf_counter(), time.process_time()
    out = lm.generate_until(reqs, disable_tqdm=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert len(out) == N_REQUESTS and all(o == " ok" for o in out)
    return {"seconds": wall, "cpu_seconds": cpu}


def child(tool: str, port: int, concurrency: int) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--client", tool, str(port), str(concurrency)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} at concurrency {concurrency} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    from pingce.core.fingerprint import machine_summary

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)], stdout=subprocess.PIPE
    )
    assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
    try:
        results: dict[str, dict[str, dict[str, float]]] = {"pingce": {}, "lm-eval": {}}
        for c in CONCURRENCY:
            for tool in ("pingce", "lm-eval"):
                r = child(tool, port, c)
                r["requests_per_second"] = N_REQUESTS / r["seconds"]
                r["cpu_ms_per_request"] = 1000.0 * r["cpu_seconds"] / N_REQUESTS
                results[tool][str(c)] = r
                print(f"{tool:8s} concurrency {c:3d}: {r['requests_per_second']:8.1f} req/s, "
                      f"{r['cpu_ms_per_request']:.3f} ms CPU/request", flush=True)  # fmt: skip
    finally:
        server.terminate()
        server.wait()
    ratios = {c: results["pingce"][str(c)]["requests_per_second"]
              / results["lm-eval"][str(c)]["requests_per_second"] for c in CONCURRENCY}  # fmt: skip
    worst = min(ratios.values())
    best_rps = min(results["pingce"][str(c)]["requests_per_second"] for c in CONCURRENCY)
    doc = {
        "name": "api_overhead",
        "machine": machine_summary(),
        "task": f"{N_REQUESTS} distinct greedy completions (4 new tokens), non-streaming, "
        "against an instant local OpenAI-compatible server (benchmark fixture)",
        "anchor": {
            "tool": "lm-eval local-completions",
            "version": version("lm_eval"),
            "seconds": results["lm-eval"][str(CONCURRENCY[0])]["seconds"],
            "by_concurrency": results["lm-eval"],
        },
        "pingce": {
            "seconds": results["pingce"][str(CONCURRENCY[0])]["seconds"],
            "by_concurrency": results["pingce"],
            "http_client": f"httpx2 {version('httpx2')}",
        },
        "ratio": worst,
        "ratio_by_concurrency": {str(c): r for c, r in ratios.items()},
        "target": ">= 1000 requests/s at concurrency 64 and 256, and ratio >= 3 vs lm-eval",
        "parity": best_rps >= 1000 and worst >= 3,
        "notes": "ratio = pingce req/s / lm-eval req/s (worst of the two concurrencies); "
        "server, pingce and lm-eval share the machine's cores; each client runs in a fresh "
        "process after a 50-request warm-up.",
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--client":
        tool, port, conc = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        fn = run_pingce if tool == "pingce" else run_lmeval
        print(json.dumps(fn(port, conc)))
    else:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        main()
