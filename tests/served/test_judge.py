"""LLM-as-judge: agreement statistics, judgement parsing, and judged runs over HTTP.

References: scikit-learn's `cohen_kappa_score` and the `krippendorff` package for the
agreement statistics; hand-computed expectations for parsing and for the judged runs, whose
judges are real HTTP servers (fault_server.py) with a known deterministic grading rule
(rating = answer length, capped at 10; the "harsh" judge gives 2 less; pairwise prefers the
longer answer; the "biased-a" judge always says the first position).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pingce.core.run import RunRequest, execute_run
from pingce.core.spec import suite_from_dict
from pingce.core.store import open_store, records_as_dicts
from pingce.llm.agreement import cohen_kappa, krippendorff_alpha
from pingce.llm.judge import TEMPLATES, pairwise_outcome, parse_rating, parse_verdict

krippendorff = pytest.importorskip("krippendorff")
sk_metrics = pytest.importorskip("sklearn.metrics")


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_matches_sklearn(weights) -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        a = rng.integers(1, 6, size=40)
        b = np.where(rng.random(40) < 0.6, a, rng.integers(1, 6, size=40))
        ours = cohen_kappa(list(a), list(b), weights)
        ref = sk_metrics.cohen_kappa_score(a, b, weights=weights)
        assert ours == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_krippendorff_alpha_matches_package(level) -> None:
    rng = np.random.default_rng(5)
    for _ in range(10):
        truth = rng.integers(1, 6, size=30).astype(float)
        data = np.array([np.where(rng.random(30) < 0.7, truth, rng.integers(1, 6, size=30))
                         for _ in range(4)], dtype=float)  # fmt: skip
        data[rng.random(data.shape) < 0.15] = np.nan  # missing ratings
        ours = krippendorff_alpha(data.tolist(), level)  # type: ignore[arg-type]
        ref = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        assert ours == pytest.approx(ref, abs=1e-9)


def test_parsing_and_position_swap_by_hand() -> None:
    assert parse_rating("Good. Rating: [[7]]", 1, 10) == 7.0
    assert parse_rating("Rating: 4", 1, 10) == 4.0
    assert parse_rating("[[3]] then revised: [[8]]", 1, 10) == 8.0  # the last one counts
    assert parse_rating("Rating: [[11]]", 1, 10) is None  # off the scale: unparseable
    assert parse_rating("no idea", 1, 10) is None
    assert parse_verdict("... [[B]]") == "B" and parse_verdict("B is better") is None
    assert pairwise_outcome("A", "B") == 1.0  # subject first: A; subject second: B -> win
    assert pairwise_outcome("B", "A") == 0.0
    assert pairwise_outcome("A", "A") == 0.5  # position bias -> tie
    assert pairwise_outcome("C", "C") == 0.5
    assert pairwise_outcome("A", None) is None


ANSWERS = ["ok", "fine answer", "a much longer answer here", "garbage", "mid size"]
BASELINES = ["longer baseline", "short", "short", "x", "mid siz!"]


def _suite(tmp_path, server, mode, judges, metrics):
    rows = [
        {"id": f"q{i}", "question": f"<<{a}>>", "baseline": b, "reference": "ref"}
        for i, (a, b) in enumerate(zip(ANSWERS, BASELINES, strict=True))
    ]
    path = tmp_path / "judged.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    url = f"openai://127.0.0.1:{server.port}/v1?model="
    task = {
        "id": "judged",
        "type": "judged",
        "dataset": {"path": str(path)},
        "prompt": "{{ question }}",
        "mode": mode,
        "target": "reference",
        "judges": [{"model": url + j, "options": {"stream": False}} for j in judges],
        "generation": {"max_new_tokens": 16, "until": []},
        "metrics": metrics,
    }
    if mode == "pairwise":
        task["baseline"] = "baseline"
    return suite_from_dict(
        {"standard": "llm", "name": "judged", "tasks": [task]}, "judged", tmp_path
    )


def test_single_mode_two_judges_with_agreement(fault_server, tmp_path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'j.db'}")
    suite = _suite(tmp_path, fault_server, "single", ["plain", "harsh"],
                   ["judge_score", "judge_unparsed", "judge_kappa", "judge_alpha"])  # fmt: skip
    run = execute_run(
        store,
        RunRequest(suite=suite, subject=f"openai://127.0.0.1:{fault_server.port}/v1?model=s"),
        show_progress=False,
    )
    recs = records_as_dicts(store.records(run))
    plain = [None if "garbage" in a else min(10, len(a)) for a in ANSWERS]
    harsh = [None if r is None else max(1, r - 2) for r in plain]
    for rec, p, h in zip(recs, plain, harsh, strict=True):
        if p is None:
            assert rec["scores"]["judge_score"] is None  # unparseable: left out, not 0
            assert rec["scores"]["judge_unparsed"] == 1.0
        else:
            assert rec["scores"]["judge_score"] == pytest.approx(((p - 1) / 9 + (h - 1) / 9) / 2)
            assert rec["scores"]["judge_unparsed"] == 0.0
    results = store.get_run(run).results
    task = results["tasks"][0]["metrics"]
    ok = [(p, h) for p, h in zip(plain, harsh, strict=True) if p is not None]
    expected = np.mean([((p - 1) / 9 + (h - 1) / 9) / 2 for p, h in ok])
    assert task["judge_score"]["value"] == pytest.approx(expected)
    assert task["judge_unparsed"]["value"] == pytest.approx(1 / len(ANSWERS))
    norm = [[(p - 1) / 9 for p, _ in ok], [(h - 1) / 9 for _, h in ok]]
    assert task["judge_kappa"]["value"] == pytest.approx(
        sk_metrics.cohen_kappa_score([str(v) for v in norm[0]], [str(v) for v in norm[1]])
    )
    ref_alpha = krippendorff.alpha(
        reliability_data=np.array(
            [
                [math.nan if p is None else (p - 1) / 9 for p in plain],
                [math.nan if h is None else (h - 1) / 9 for h in harsh],
            ]  # fmt: skip
        ),
        level_of_measurement="interval",
    )
    assert task["judge_alpha"]["value"] == pytest.approx(ref_alpha)
    settings = store.get_run(run).config["settings"]["tasks"]["judged"]
    assert settings["judge_template_sha256"] == TEMPLATES["single@v1"].sha256
    store.close()


def test_pairwise_mode_swaps_positions(fault_server, tmp_path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'p.db'}")
    suite = _suite(tmp_path, fault_server, "pairwise", ["plain", "biased-a"],
                   ["judge_win_rate", "judge_unparsed"])  # fmt: skip
    run = execute_run(
        store,
        RunRequest(suite=suite, subject=f"openai://127.0.0.1:{fault_server.port}/v1?model=s"),
        show_progress=False,
    )
    recs = records_as_dicts(store.records(run))
    for rec, a, b in zip(recs, ANSWERS, BASELINES, strict=True):
        fair = 1.0 if len(a) > len(b) else 0.0 if len(a) < len(b) else 0.5
        values = [j["value"] for j in rec["data"]["judgements"]]
        assert values == [fair, 0.5]  # the biased judge's preference cancels to a tie
        assert rec["scores"]["judge_win_rate"] == pytest.approx((fair + 0.5) / 2)
    store.close()
