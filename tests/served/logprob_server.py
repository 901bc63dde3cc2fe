"""A small OpenAI-compatible server that computes REAL logprobs with a local model and answers
/v1/completions echo+logprobs requests in vLLM's response format.

`transformers serve` ignores `echo`/`logprobs`, so loglikelihood over HTTP is tested against
this server. It runs the model with plain transformers (one forward pass over the whole
prompt, log-softmax per position), independently of pingce's hf backend.

Usage: python logprob_server.py MODEL_DIR PORT   (expects env LOGPROB_SERVER_KEY optional:
when set, requests must carry `Authorization: Bearer <key>`). GET /stats gives request counts.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

MODEL_DIR, PORT = sys.argv[1], int(sys.argv[2])
KEY = os.environ.get("LOGPROB_SERVER_KEY")
torch.set_num_threads(1)
tok = AutoTokenizer.from_pretrained(MODEL_DIR)
model = AutoModelForCausalLM.from_pretrained(MODEL_DIR, dtype=torch.float32).eval()
LOCK = threading.Lock()
STATS: dict[str, int] = {"completions": 0, "unauthorized": 0}
MAX_LEN = int(getattr(model.config, "max_position_embeddings", 2048))


def score(prompt: Any, max_tokens: int) -> dict[str, Any]:
    if isinstance(prompt, str):
        enc = tok(prompt, return_offsets_mapping=True, add_special_tokens=True)
        ids = list(enc["input_ids"])
        offsets = [a for a, _ in enc["offset_mapping"]]
        text = prompt
    else:
        ids = [int(i) for i in prompt]
        pieces = [tok.decode([i]) for i in ids]
        offsets, at = [], 0
        for p in pieces:
            offsets.append(at)
            at += len(p)
        text = "".join(pieces)
    with LOCK, torch.inference_mode():
        logits = model(input_ids=torch.tensor([ids])).logits[0].float()
        logp = torch.log_softmax(logits, dim=-1)
    tokens = [tok.decode([i]) for i in ids]
    values: list[float | None] = [None]
    top: list[dict[str, float] | None] = [None]
    for pos in range(1, len(ids)):
        row = logp[pos - 1]
        values.append(float(row[ids[pos]]))
        best = int(row.argmax())
        top.append({tok.decode([best]): float(row[best]), tokens[pos]: float(row[ids[pos]])})
    out_text = ""
    if max_tokens > 0:  # greedy next token, as a server appends to an echo
        row = logp[-1]
        nxt = int(row.argmax())
        piece = tok.decode([nxt])
        tokens.append(piece)
        values.append(float(row[nxt]))
        top.append({piece: float(row[nxt])})
        offsets.append(len(text))
        out_text = piece
    return {
        "text": text + out_text,
        "index": 0,
        "finish_reason": "length",
        "logprobs": {
            "tokens": tokens,
            "token_logprobs": values,
            "top_logprobs": top,
            "text_offset": offsets,
        },
        "_usage": (len(ids), 1 if max_tokens > 0 else 0),
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, obj: Any) -> None:
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.endswith("/stats"):
            self._send(200, STATS)
        elif self.path.endswith("/models"):
            self._send(200, {"data": [{"id": "tiny", "max_model_len": MAX_LEN}]})
        else:
            self._send(200, {"status": "ok"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        if KEY and self.headers.get("authorization") != f"Bearer {KEY}":
            STATS["unauthorized"] += 1
            self._send(401, {"error": {"message": "invalid api key"}})
            return
        if not self.path.endswith("/completions") or "chat" in self.path:
            self._send(404, {"error": {"message": "only /v1/completions"}})
            return
        STATS["completions"] += 1
        if not body.get("echo") or body.get("logprobs") is None:
            self._send(400, {"error": {"message": "this test server only scores echo requests"}})
            return
        choice = score(body["prompt"], int(body.get("max_tokens", 0)))
        n_in, n_out = choice.pop("_usage")
        self._send(
            200,
            {
                "id": "cmpl-test",
                "object": "text_completion",
                "model": body.get("model"),
                "choices": [choice],
                "usage": {
                    "prompt_tokens": n_in,
                    "completion_tokens": n_out,
                    "total_tokens": n_in + n_out,
                },
            },
        )


ThreadingHTTPServer.daemon_threads = True
server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print("ready", flush=True)
server.serve_forever()
