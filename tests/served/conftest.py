"""Real OpenAI-compatible servers on 127.0.0.1 for the served-model tests.

- `logprob_server`: this folder's logprob_server.py, computing real logprobs with the tiny
  model (vLLM's echo+logprobs format); it requires an API key.
- `fault_server`: this folder's fault_server.py (faults injected by prompt tags), fresh per test.
- `tserve`: `transformers serve` (transformers' serving extra) serving the tiny model folder.

Each server is a subprocess, stopped by its own process id when its fixture ends.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).parent
# How long a server may take to become healthy: only a hang guard (the wait ends as soon as it
# answers), so generous: on a busy machine importing torch and transformers alone took > 90 s.
START_S = 600.0


@dataclass
class Server:
    url: str  # base URL ending in /v1
    port: int
    proc: subprocess.Popen[bytes]
    key: str | None = None

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as resp:
            return json.loads(resp.read())

    def post(self, path: str, body: dict) -> dict:
        req = urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"server exited early ({proc.returncode}): {out[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"server at {url} did not become healthy in {seconds} s")


def _start(cmd: list[str], health: str, seconds: float, env: dict[str, str] | None = None):
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )
    _wait(health, proc, seconds)
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def logprob_server(tiny_model_dir: Path) -> Iterator[Server]:
    port = free_port()
    key = "sk-test-" + secrets.token_hex(16)
    proc = _start(
        [sys.executable, str(HERE / "logprob_server.py"), str(tiny_model_dir), str(port)],
        f"http://127.0.0.1:{port}/health",
        START_S,
        {"LOGPROB_SERVER_KEY": key, "OMP_NUM_THREADS": "1"},
    )
    yield Server(f"http://127.0.0.1:{port}/v1", port, proc, key)
    _stop(proc)


@pytest.fixture
def fault_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    port = free_port()
    extra = getattr(request, "param", [])
    proc = _start(
        [sys.executable, str(HERE / "fault_server.py"), str(port), *extra],
        f"http://127.0.0.1:{port}/v1/models",
        START_S,
    )
    yield Server(f"http://127.0.0.1:{port}/v1", port, proc)
    _stop(proc)


@pytest.fixture(scope="session")
def tserve(tiny_model_dir: Path) -> Iterator[Server]:
    pytest.importorskip("fastapi", reason="transformers serve needs transformers[serving]")
    pytest.importorskip("uvicorn", reason="transformers serve needs transformers[serving]")
    exe = Path(sys.executable).with_name("transformers")
    port = free_port()
    proc = _start(
        [
            str(exe),
            "serve",
            str(tiny_model_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--device",
            "cpu",
            "--dtype",
            "float32",
        ],
        f"http://127.0.0.1:{port}/health",
        START_S,
        {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"},
    )
    yield Server(f"http://127.0.0.1:{port}/v1", port, proc)
    _stop(proc)
