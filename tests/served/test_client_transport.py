"""Both transports under `ApiClient` (httptools, the default, and aiohttp), against real local servers (fault_server.py).

References: `pingce.core.request_cache.request_key` for the request key computed per request
(it must be the same sha256); the server's own answer text for streamed events longer than
aiohttp's default 128 KiB line limit; a port with nothing listening for connection errors; and the
bytes of a pickled backend for the API key (it must not travel to Ray actors).
"""

from __future__ import annotations

import pickle
import socket
from importlib.util import find_spec

import pytest

from pingce.backends.base import GenerationParams, GenerationRequest
from pingce.backends.failures import RequestsFailed
from pingce.backends.openai import open_openai
from pingce.core.request_cache import request_key
from pingce.core.spec import parse_subject

TRANSPORTS = ["httptools", "aiohttp"] if find_spec("httptools") else ["aiohttp"]


def test_request_key_is_request_cache_key() -> None:
    lm = open_openai(parse_subject("openai://127.0.0.1:9/v1?model=m"), {})
    bodies = [
        {"model": "m", "prompt": "héllo", "max_tokens": 4, "temperature": 0.0, "seed": 1},
        {"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": ["\n"],
         "temperature": 0.7, "top_p": 0.9, "stream": True, "stream_options": {"a": 1}},
        {"model": "m", "prompt": [1, 2, 3], "echo": True, "logprobs": 1, "max_tokens": 1},
    ]  # fmt: skip
    for body in bodies:
        for repeat in (0, 3):
            keyed = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
            expected = request_key(lm.fingerprint(), "/completions", keyed, repeat)
            assert lm._key("/completions", body, repeat) == expected
    lm.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_stream_events_longer_than_aiohttp_line_limit(fault_server, transport) -> None:
    lm = open_openai(
        parse_subject(f"openai://127.0.0.1:{fault_server.port}/v1?model=m"),
        {"stream": True, "request_cache": False, "http_transport": transport},
    )
    assert lm.client.transport == transport
    [gen] = lm.generate([GenerationRequest("[[bigevent]] <<two words>>",
                                           GenerationParams(max_new_tokens=4))])  # fmt: skip
    assert gen.text == "two words"
    assert gen.ttft_s is not None and len(gen.token_times_s) == 2
    lm.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_connection_refused_is_a_failed_request_with_reason(transport) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens here
    lm = open_openai(
        parse_subject(f"openai://127.0.0.1:{port}/v1?model=m"),
        {"stream": False, "max_retries": 1, "backoff_base_s": 0.01, "request_cache": False,
         "http_transport": transport},
    )  # fmt: skip
    with pytest.raises(RequestsFailed) as err:
        lm.generate([GenerationRequest("hi", GenerationParams(max_new_tokens=2))])
    [reason] = err.value.reasons.values()
    assert reason.startswith("connection failed") and "2 attempts" in reason
    lm.close()


def test_pickled_backend_reopens_without_carrying_the_key(monkeypatch, fault_server) -> None:
    secret = "sk-never-travels-1234567890"
    monkeypatch.setenv("PINGCE_TEST_KEY", secret)
    lm = open_openai(
        parse_subject(f"openai://127.0.0.1:{fault_server.port}/v1?model=m"),
        {"api_key_env": "PINGCE_TEST_KEY", "concurrency": 3, "stream": False},
    )
    blob = pickle.dumps(lm)
    assert secret.encode() not in blob
    copy = pickle.loads(blob)
    assert copy.fingerprint() == lm.fingerprint() and copy.settings() == lm.settings()
    [gen] = copy.generate([GenerationRequest("<<ok>>", GenerationParams(max_new_tokens=2))])
    assert gen.text == "ok"
    assert fault_server.get("/stats")["auth"] == f"Bearer {secret}"  # read from the env again
    copy.close()
    lm.close()
