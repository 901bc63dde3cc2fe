"""An OpenAI-compatible test server that injects faults, driven by tags in the prompt.

The answer to a prompt is the text between `<<` and `>>` in it. Tags (per prompt, counted
over attempts): `[[429xN]]` answers 429 with `Retry-After: 1` for the first N attempts,
`[[500xN]]` 500, `[[slowxN]]` sleeps 3 s (past the client's timeout), `[[truncxN]]` cuts the
stream (or the body) short, `[[badjsonxN]]` sends malformed JSON, `[[always500]]` and
`[[always400]]` fail until POST /control {"heal": true}. `[[judge]]` prompts are answered as a
judge (see `judge_answer`). With `--capacity K`, requests beyond K in flight get 429.
`[[bigevent]]` pads every streamed event to over 200 KB (one line longer than aiohttp's
128 KiB `readline` limit). `[[surrogate]]` appends a lone UTF-16 surrogate and a NUL to the
answer (as JSON escapes), `[[badutf8]]` two bytes that are not UTF-8. GET /stats also lists each request's
`reasoning_effort` field.

Usage: python fault_server.py PORT [--capacity K] [--delay S]. GET /stats: per-prompt
attempts and successes; GET /stats/peak: most requests seen in flight at once.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PORT = int(sys.argv[1])
CAPACITY = int(sys.argv[sys.argv.index("--capacity") + 1]) if "--capacity" in sys.argv else 0
DELAY = float(sys.argv[sys.argv.index("--delay") + 1]) if "--delay" in sys.argv else 0.0
LOCK = threading.Lock()
ATTEMPTS: dict[str, int] = defaultdict(int)
SUCCESSES: dict[str, int] = defaultdict(int)
STATE = {"healed": False, "in_flight": 0, "peak": 0, "rejected": 0, "auth": None}
EFFORTS: list[Any] = []  # each generation request's `reasoning_effort` (None when absent)


# Replaced by two bytes that are not UTF-8 in every body sent.
BAD_UTF8_MARK = "@@bad-utf8@@"


def _encode(obj: Any) -> bytes:
    return json.dumps(obj).encode().replace(BAD_UTF8_MARK.encode(), b"\xff\xfe")


def judge_answer(prompt: str, model: str) -> str:
    """A deterministic 'judge': scores by answer length; picks the longer answer in pairs.

    Single: the answer between <answer> tags scores min(10, len) out of 10 (model "harsh":
    2 less, at least 1), except answers containing 'garbage', which get an unparseable reply.
    Pairwise: the longer of the answers tagged <A>...</A> and <B>...</B> wins; equal lengths
    tie; model "biased-a" always prefers the first position.
    """
    if "<A>" in prompt and model == "biased-a":
        return "Final verdict: [[A]]"
    if "<A>" in prompt:
        a = re.search(r"<A>(.*?)</A>", prompt, re.S).group(1)  # type: ignore[union-attr]
        b = re.search(r"<B>(.*?)</B>", prompt, re.S).group(1)  # type: ignore[union-attr]
        verdict = "A" if len(a) > len(b) else "B" if len(b) > len(a) else "C"
        return f"Both answers were considered. Final verdict: [[{verdict}]]"
    ans = re.search(r"<answer>(.*?)</answer>", prompt, re.S).group(1)  # type: ignore[union-attr]
    if "garbage" in ans:
        return "I cannot decide."
    score = min(10, len(ans.strip()))
    if model == "harsh":
        score = max(1, score - 2)
    return f"The answer is adequate. Rating: [[{score}]]"


def plan(prompt: str, model: str = "") -> tuple[str | None, str]:
    """(fault to inject for this attempt or None, answer text)."""
    with LOCK:
        ATTEMPTS[prompt] += 1
        n = ATTEMPTS[prompt]
    fault = None
    for kind, count in re.findall(r"\[\[(429|500|slow|trunc|badjson)x(\d+)\]\]", prompt):
        if n <= int(count):
            fault = kind
    if not STATE["healed"]:
        for kind in ("always500", "always400"):
            if f"[[{kind}]]" in prompt:
                fault = kind
    if "[[judge]]" in prompt:
        return fault, judge_answer(prompt, model)
    m = re.search(r"<<(.*?)>>", prompt, re.S)
    text = m.group(1) if m else "?"
    if "[[surrogate]]" in prompt:  # JSON "\ud800" (a lone surrogate) and "\u0000" (NUL)
        text += "\ud800 and \x00"
    if "[[badutf8]]" in prompt:  # bytes that are not UTF-8 (see BAD_UTF8)
        text += BAD_UTF8_MARK
    return fault, text


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        body = obj if isinstance(obj, bytes) else _encode(obj)
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.endswith("/stats/peak"):
            self._send(200, {"peak": STATE["peak"], "rejected": STATE["rejected"]})
        elif self.path.endswith("/stats"):
            self._send(
                200,
                {
                    "attempts": ATTEMPTS,
                    "successes": SUCCESSES,
                    "auth": STATE["auth"],
                    "reasoning_effort": EFFORTS,
                },
            )
        else:
            self._send(200, {"data": [{"id": "fault-model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        STATE["auth"] = self.headers.get("authorization")
        if self.path.endswith("/control"):
            STATE["healed"] = bool(body.get("heal"))
            self._send(200, {"ok": True})
            return
        with LOCK:
            STATE["in_flight"] += 1
            busy = CAPACITY and STATE["in_flight"] > CAPACITY
            STATE["peak"] = max(STATE["peak"], STATE["in_flight"])
            if busy:
                STATE["rejected"] += 1
        try:
            if busy:
                self._send(429, {"error": {"message": "too busy"}}, {"retry-after": "0"})
                return
            time.sleep(DELAY)
            self._answer(body)
        finally:
            with LOCK:
                STATE["in_flight"] -= 1

    def _answer(self, body: dict[str, Any]) -> None:
        chat = "messages" in body
        prompt = body["messages"][-1]["content"] if chat else body["prompt"]
        with LOCK:
            EFFORTS.append(body.get("reasoning_effort"))
        fault, text = plan(prompt, str(body.get("model", "")))
        if fault == "429":
            self._send(429, {"error": {"message": "rate limited"}}, {"retry-after": "1"})
            return
        if fault in ("500", "always500"):
            self._send(500, {"error": {"message": "internal error"}})
            return
        if fault == "always400":
            self._send(400, {"error": {"message": "prompt rejected by policy"}})
            return
        if fault == "slow":
            time.sleep(3.0)
        if fault == "badjson":
            self._send(200, b'{"choices": [{"text": "broken')
            return
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split())}
        if body.get("stream"):
            self._stream(prompt, text, chat, usage, truncate=fault == "trunc")
        elif fault == "trunc":  # promise more bytes than sent, then close
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", "500")
            self.end_headers()
            self.wfile.write(b'{"choices": [')
            self.wfile.flush()
            self.close_connection = True
        else:
            choice = (
                {"index": 0, "message": {"role": "assistant", "content": text}}
                if chat
                else {"index": 0, "text": text}
            )
            choice["finish_reason"] = "stop"
            self._send(200, {"choices": [choice], "usage": usage})
            with LOCK:
                SUCCESSES[prompt] += 1

    def _stream(
        self, prompt: str, text: str, chat: bool, usage: dict[str, int], truncate: bool
    ) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

        pad = "x" * 200_000 if "[[bigevent]]" in prompt else ""

        def event(obj: Any) -> None:
            if pad:
                obj = {**obj, "pad": pad}
            data = b"data: " + _encode(obj) + b"\n\n"
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        pieces = re.findall(r"\S+\s*|\s+", text) or [""]
        for i, piece in enumerate(pieces):
            delta = {"delta": {"content": piece}} if chat else {"text": piece}
            event({"choices": [{"index": 0, **delta, "finish_reason": None}]})
            if truncate and i == 0:
                self.close_connection = True
                return  # no terminating chunk: the client sees a cut stream
            time.sleep(0.002)
        last = {"delta": {}} if chat else {"text": ""}
        event({"choices": [{"index": 0, **last, "finish_reason": "stop"}], "usage": usage})
        data = b"data: [DONE]\n\n"
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n")
        self.wfile.flush()
        with LOCK:
            SUCCESSES[prompt] += 1


ThreadingHTTPServer.daemon_threads = True
server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print("ready", flush=True)
server.serve_forever()
