"""Fault handling against a real local HTTP server that injects faults (fault_server.py).

Every sample either completes or is stored as failed with its reason; nothing is lost or
counted twice (the server counts answers per prompt); resuming completes exactly the failed
samples. Hand-computed references: the server's answer to each prompt is the text between
<< and >>, so every completed sample scores exact_match 1.
"""

from __future__ import annotations

import json
import time
from email.utils import formatdate
from importlib.util import find_spec
from pathlib import Path

import pytest

from pingce.backends.api_client import AdaptiveLimiter, RateBudget, retry_after_seconds
from pingce.backends.base import GenerationParams, GenerationRequest
from pingce.backends.openai import open_openai
from pingce.core.errors import ModelError
from pingce.core.run import RunRequest, execute_run, summarize_run
from pingce.core.spec import parse_subject, suite_from_dict
from pingce.core.store import open_store, records_as_dicts

PROMPTS = [
    "plain <<a0>>",
    "[[429x1]] <<a1>>",
    "[[500x2]] <<a2>>",
    "[[slowx1]] <<a3>>",
    "[[truncx1]] <<a4>>",
    "[[badjsonx1]] <<a5>>",
    "[[always500]] <<a6>>",
    "[[always400]] <<a7>>",
    "plain <<a8>>",
    "plain <<a9>>",
]
# The default and the fallback carry the same behaviour (httptools is optional).
TRANSPORTS = ["httptools", "aiohttp"] if find_spec("httptools") else ["aiohttp"]
FAST = {"timeout_s": 1.0, "max_retries": 2, "backoff_base_s": 0.05, "backoff_max_s": 0.2}


def _suite(tmp_path: Path):
    data = tmp_path / "faults.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": f"s{i}", "q": p, "answer": p.split("<<")[1][:-2]}) + "\n"
            for i, p in enumerate(PROMPTS)
        ),
        encoding="utf-8",
    )
    spec = {
        "standard": "llm",
        "name": "faults",
        "tasks": [
            {
                "id": "gen",
                "type": "generative",
                "dataset": {"path": str(data)},
                "prompt": "{{ q }}",
                "target": "answer",
                "generation": {"max_new_tokens": 8, "until": []},
            }
        ],
    }
    return suite_from_dict(spec, "faults", tmp_path)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("stream", [True, False])
def test_faults_recover_or_fail_with_reason_and_resume_redoes_exactly_those(
    fault_server, tmp_path, stream, transport, monkeypatch
) -> None:
    monkeypatch.setenv("PINGCE_HTTP_TRANSPORT", transport)
    store = open_store(f"sqlite:///{tmp_path / 'faults.db'}")
    subject = f"openai://127.0.0.1:{fault_server.port}/v1?model=fault-model"
    options = {**FAST, "concurrency": 4, "stream": stream}
    started = time.monotonic()
    with pytest.raises(ModelError, match="2 samples failed after retries"):
        execute_run(
            store, RunRequest(suite=_suite(tmp_path), subject=subject, options=options),
            show_progress=False,
        )  # fmt: skip
    assert time.monotonic() - started >= 1.0  # the 429's Retry-After: 1 was honoured
    run = store.list_runs()[0]
    assert run.status == "failed" and "--resume" in (run.error or "")
    recs = {r["sample_id"]: r for r in records_as_dicts(store.records(run.id))}
    assert len(recs) == len(PROMPTS)
    failed = {k for k, r in recs.items() if r["data"].get("failed")}
    assert failed == {"s6", "s7"}
    assert "HTTP 500" in recs["s6"]["data"]["error"] and "3 attempts" in recs["s6"]["data"]["error"]
    assert "prompt rejected by policy" in recs["s7"]["data"]["error"]
    for k, r in recs.items():
        if k not in failed:
            assert r["scores"]["exact_match"] == 1.0, (k, r["data"])
    stats = fault_server.get("/stats")
    assert stats["attempts"][PROMPTS[1]] == 2  # one 429, then success
    assert stats["attempts"][PROMPTS[2]] == 3  # two 500s, then success
    assert stats["attempts"][PROMPTS[6]] == 3  # 1 + max_retries
    assert stats["attempts"][PROMPTS[7]] == 1  # 400 is not retried
    results = summarize_run(store, run)
    assert results["tasks"][0]["n_samples"] == len(PROMPTS) - 2
    assert any("2 samples failed" in n for n in results["notes"])
    assert results["extra"]["failures"]["failed_samples"] == 2

    fault_server.post("/control", {"heal": True})
    execute_run(store, resume=run.id, show_progress=False)
    assert store.get_run(run.id).status == "completed"
    recs = records_as_dicts(store.records(run.id))
    assert len(recs) == len(PROMPTS) and not any(r["data"].get("failed") for r in recs)
    assert all(r["scores"]["exact_match"] == 1.0 for r in recs)
    successes = fault_server.get("/stats")["successes"]
    assert {p: successes.get(p) for p in PROMPTS} == {p: 1 for p in PROMPTS}  # none twice
    store.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("fault_server", [["--capacity", "4", "--delay", "0.05"]], indirect=True)
def test_adaptive_concurrency_shrinks_under_overload(fault_server, transport) -> None:
    lm = open_openai(
        parse_subject(f"openai://127.0.0.1:{fault_server.port}/v1?model=m"),
        {"concurrency": 16, "stream": False, "max_retries": 20, "backoff_base_s": 0.02,
         "backoff_max_s": 0.1, "request_cache": False, "http_transport": transport},
    )  # fmt: skip
    assert lm.client.transport == transport
    reqs = [
        GenerationRequest(f"item {i} <<r{i}>>", GenerationParams(max_new_tokens=4))
        for i in range(64)
    ]
    gens = lm.generate(reqs)
    assert [g.text for g in gens] == [f"r{i}" for i in range(64)]
    limiter = lm.client.limiter
    assert limiter.shrinks >= 1 and lm.client.stats.overloads >= 1
    assert limiter.limit < 16
    assert fault_server.get("/stats/peak")["rejected"] >= 1
    lm.close()


def test_limiter_halves_once_per_epoch_and_grows_back() -> None:
    lim = AdaptiveLimiter(16)
    epoch = lim.epoch
    lim.on_overload(epoch)
    lim.on_overload(epoch)  # a second 429 from the same burst: no second halving
    assert lim.limit == 8 and lim.shrinks == 1
    lim.on_overload(lim.epoch)
    assert lim.limit == 4
    for _ in range(4):
        lim.on_success()
    assert lim.limit == 5  # +1 after `limit` consecutive successes
    for _ in range(200):
        lim.on_success()
    assert lim.limit == 16  # never above the configured maximum


def test_retry_after_forms() -> None:
    assert retry_after_seconds("3", 300) == 3.0
    assert retry_after_seconds("1000", 300) == 300.0
    assert retry_after_seconds(None, 300) is None
    assert retry_after_seconds("soon", 300) is None
    now = 1_800_000_000.0  # a scripted clock: an HTTP date 5 s after it (whole seconds)
    date = formatdate(now + 5, usegmt=True)
    assert retry_after_seconds(date, 300, now=now) == 5.0
    assert retry_after_seconds(formatdate(now - 5, usegmt=True), 300, now=now) == 0.0
    # the default clock: a busy machine can only shorten the wait, never lengthen it
    left = retry_after_seconds(formatdate(time.time() + 5, usegmt=True), 300)
    assert left is not None and 0.0 <= left <= 5.0


def test_requests_per_minute_budget_paces_requests() -> None:
    """On a scripted clock (each sleep advances it by what was asked), so the pacing is checked
    exactly and no busy machine can change it."""
    import asyncio

    async def take(n: int) -> list[float]:
        now = [0.0]
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)
            now[0] += seconds
            await asyncio.sleep(0)

        budget = RateBudget(600, clock=lambda: now[0], sleep=sleep)  # 10/s, bursts of 2 s
        for _ in range(n):
            await budget.take(1)
        return slept

    assert asyncio.run(take(20)) == []  # the 20-request burst never waits
    slept = asyncio.run(take(30))  # 10 beyond the burst at 10/s: 0.1 s each
    assert slept == pytest.approx([0.1] * 10) and sum(slept) == pytest.approx(1.0)


def test_sampled_requests_are_cached_per_repeat(fault_server, tmp_path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    subject = parse_subject(f"openai://127.0.0.1:{fault_server.port}/v1?model=m")
    sampled = GenerationParams(max_new_tokens=4, temperature=0.8, seed=7)
    reqs = [GenerationRequest("same <<x>>", sampled)] * 3 + [
        GenerationRequest("same <<x>>", GenerationParams(max_new_tokens=4))
    ] * 2
    lm = open_openai(subject, {"concurrency": 2, "stream": False})
    lm.use_store(store)
    lm.generate(reqs)
    attempts = fault_server.get("/stats")["attempts"]["same <<x>>"]
    assert attempts == 4  # three sampled repeats + one greedy request shared by both
    assert lm._cache.count() == 4
    lm.close()
    again = open_openai(subject, {"concurrency": 7, "stream": True})
    again.use_store(store)
    gens = again.generate(reqs)
    assert fault_server.get("/stats")["attempts"]["same <<x>>"] == 4  # all from the cache
    assert all(g.cached for g in gens)
    again.close()
    store.close()
