"""The server-perf report's shape and values on hand-written records (issue 18: the summary is
built with the report kit; nothing in the document changes).

References, computed by hand: SingleStream latencies of 1, 2, ..., 1000 ms over 2.5 s give a
mean of 500.5 ms, p90 = sorted[floor(0.9 * 1000)] = 901 ms and p99 = 991 ms by MLPerf
loadgen's rank rule (results.cc), and 1000 / 2.5 = 400 samples/s; an Offline run of 1000
samples in 0.5 s gives 2000 samples/s; an accuracy run of 3 correct out of 4 against a
reference of 0.75 passes the gate at 0.99 * 0.75 = 0.7425.
"""

from __future__ import annotations

from typing import Any

import pytest

from pingce.perf.early_stopping import min_queries
from pingce.perf.scenarios import make_config
from pingce.perf.summary import summarize_perf

NO_POWER = {"measured": False, "reason": "not measured in this test"}


def _scenario(task: str, scenario: str, latencies_s: list[float], samples: int, dur: float) -> dict:
    cfg = make_config(scenario, min_duration_s=0.1, min_query_count=1, seed=1234, where="t")
    data: dict[str, Any] = {
        "kind": "scenario",
        "scenario": scenario,
        "arrival": cfg.arrival,
        "config": cfg.to_dict(),
        "latencies_s": latencies_s,
        "sched_error_s": [],
        "samples_per_query": 1,
        "n_samples": samples,
        "duration_s": dur,
        "issued": len(latencies_s),
        "completed": len(latencies_s),
        "stopped_early": "",
        "power": NO_POWER,
    }
    return {"task": task, "sample_id": scenario, "position": 0, "scores": {}, "data": data}


@pytest.fixture(scope="module")
def body() -> dict:
    suite = {
        "standard": "server-perf",
        "name": "t",
        "tasks": [
            {"id": "accuracy", "type": "perf.accuracy", "title": "Accuracy run"},
            {"id": "offline", "type": "perf.scenario", "scenario": "offline"},
            {"id": "single-stream", "type": "scenario", "scenario": "single-stream"},
        ],
    }
    acc = {
        "task": "accuracy",
        "sample_id": "accuracy",
        "position": 0,
        "scores": {"perf_accuracy": 0.75},
        "data": {
            "kind": "accuracy",
            "n": 4,
            "correct": [1.0, 1.0, 1.0, 0.0],
            "accuracy": 0.75,
            "reference_accuracy": 0.75,
        },
    }
    assert min_queries(0.9) <= 1000  # enough queries for the early-stopping p90 estimate
    records = [
        acc,
        _scenario("offline", "offline", [0.5], 1000, 0.5),
        _scenario(
            "single-stream", "single-stream", [(i + 1) / 1000 for i in range(1000)], 1000, 2.5
        ),
    ]
    return summarize_perf(suite, {"options": {}, "settings": {}}, records)


def test_sections_and_task_order(body: dict) -> None:
    assert [s["id"] for s in body["sections"]] == ["conformance", "settings", "latency", "energy"]
    # throughput and latency first, the accuracy run last (rankings use the first task)
    assert [t["id"] for t in body["tasks"]] == ["offline", "single-stream", "accuracy"]
    assert [t["type"] for t in body["tasks"]] == ["scenario", "scenario", "accuracy"]
    assert [t["primary_metric"] for t in body["tasks"]] == [
        "perf_samples_per_s",
        "perf_latency_p90_ms",
        "perf_accuracy",
    ]
    assert body["overall"]["score"] is None and body["dimensions"] == []


def test_values_match_the_hand_computed_figures(body: dict) -> None:
    tasks = {t["id"]: t["metrics"] for t in body["tasks"]}
    assert tasks["offline"]["perf_samples_per_s"]["value"] == pytest.approx(2000.0)
    ss = tasks["single-stream"]
    assert ss["perf_latency_mean_ms"]["value"] == pytest.approx(500.5)
    assert ss["perf_latency_p90_ms"]["value"] == pytest.approx(901.0)
    assert ss["perf_latency_p99_ms"]["value"] == pytest.approx(991.0)
    assert ss["perf_samples_per_s"]["value"] == pytest.approx(400.0)
    assert ss["perf_qps"]["value"] == pytest.approx(400.0)
    # a plain figure carries no CI; a latency percentile carries a bootstrap CI around it
    assert ss["perf_samples_per_s"]["ci_low"] is None
    p90 = ss["perf_latency_p90_ms"]
    assert p90["ci_low"] <= p90["value"] <= p90["ci_high"] and p90["n"] == 1000
    assert tasks["accuracy"]["perf_accuracy"]["value"] == pytest.approx(0.75)


def test_indicators_and_conformance(body: dict) -> None:
    ind = {(i["id"], i["scope"]): i for i in body["indicators"]}
    acc = ind[("perf_accuracy", "accuracy")]
    assert acc["threshold"] == pytest.approx(0.7425) and acc["verdict"] == "pass"
    p90 = ind[("perf_latency_p90_ms", "single-stream")]
    assert p90["verdict"] == "pass" and p90["threshold"] is None
    # repeated metrics read apart by scope; only each task's primary metric has a verdict
    assert {s for (i, s) in ind if i == "perf_samples_per_s"} == {"offline", "single-stream"}
    assert ind[("perf_samples_per_s", "single-stream")]["verdict"] is None
    conf = {row[0]: row for row in body["extra"]["conformance"]}
    assert conf["accuracy"][4:6] == [0.75, "VALID"]
    assert conf["offline"][3:6] == ["perf_samples_per_s", 2000.0, "VALID"]
    assert conf["single-stream"][5] == "VALID"
    section = body["sections"][0]
    assert section["table"]["rows"] == body["extra"]["conformance"]


def test_settings_and_latency_sections(body: dict) -> None:
    settings = next(s for s in body["sections"] if s["id"] == "settings")
    cols = settings["table"]["columns"]
    rows = {r[0]: dict(zip(cols, r, strict=True)) for r in settings["table"]["rows"]}
    assert rows["single-stream"]["duration s"] == 2.5 and rows["single-stream"]["queries"] == 1000
    assert rows["offline"]["division"] == "closed"  # the accuracy gate applies
    latency = next(s for s in body["sections"] if s["id"] == "latency")
    cdf, hist = latency["charts"]
    assert cdf["kind"] == "lines" and len(cdf["series"][0]["x"]) == 200  # CDF_POINTS
    assert cdf["series"][0]["y"][-1] == 1.0
    assert hist["kind"] == "bars" and sum(hist["series"][0]["values"]) == 1000
