"""Loglikelihood over HTTP agrees with the local hf backend on the same tiny model.

Reference: pingce's hf backend (itself checked against lm-evaluation-harness in
tests/llm/test_lmeval_parity.py) on the same model files, against a real HTTP server
(logprob_server.py) that computes logprobs with plain transformers and answers in vLLM's
/v1/completions echo+logprobs format. The API key the server requires must never reach the
store, the reports or the console.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pingce.backends.hf import HFCausalLM
from pingce.backends.openai import open_openai
from pingce.core.run import RunRequest, execute_run
from pingce.core.spec import builtin_suites_dir, parse_subject, suite_from_dict
from pingce.core.store import open_store, records_as_dicts

TOL = 1e-4
PAIRS = [
    ("Question: Which season comes after winter?\nAnswer:", " spring"),
    ("Question: Which season comes after winter?\nAnswer:", " the hottest part of summer"),
    ("The water in a kettle boils when it reaches ", "100 degrees"),  # trailing space
    ("问题：中国的首都是哪里？\n答案：", "北京"),
    ("Mixed 中文 and English:", " 好的 ok"),
]
TEXTS = [
    "The cat sat on the mat and looked at the bird outside the window for a long time.",
    "天气很好，我们去公园散步吧。",
]


@pytest.fixture(scope="module")
def hf(tiny_model_dir: Path) -> HFCausalLM:
    return HFCausalLM(str(tiny_model_dir), device="cpu", dtype="float32", batch_size=4)


def _served(server, monkeypatch, tokenizer: Path | None = None, **options):
    monkeypatch.setenv("PINGCE_TEST_KEY", server.key)
    spec = f"openai://127.0.0.1:{server.port}/v1?model=tiny"
    if tokenizer is not None:
        spec += f"&tokenizer={tokenizer}"
    return open_openai(
        parse_subject(spec), {"api_key_env": "PINGCE_TEST_KEY", "concurrency": 4, **options}
    )


def test_loglikelihood_matches_hf_token_and_text_modes(
    logprob_server, tiny_model_dir, hf, monkeypatch
) -> None:
    ref = hf.loglikelihood(PAIRS)
    for tokenizer in (tiny_model_dir, None):  # token ids, then text split by text_offset
        lm = _served(logprob_server, monkeypatch, tokenizer)
        got = lm.loglikelihood(PAIRS)
        for r, g in zip(ref, got, strict=True):
            assert g.logprob == pytest.approx(r.logprob, abs=TOL)
            assert g.n_tokens == r.n_tokens
            assert g.is_greedy == r.is_greedy
        lm.close()


def test_rolling_loglikelihood_matches_hf_windows(
    logprob_server, tiny_model_dir, hf, monkeypatch
) -> None:
    lm = _served(logprob_server, monkeypatch, tiny_model_dir, max_length=16)
    monkeypatch.setattr(hf, "max_length", 16)
    ref = hf.loglikelihood_rolling(TEXTS)  # 16-token windows: several per text
    got = lm.loglikelihood_rolling(TEXTS)
    for r, g in zip(ref, got, strict=True):
        assert g.n_tokens == r.n_tokens
        assert g.logprob == pytest.approx(r.logprob, abs=TOL)
    lm.close()


def test_rolling_without_tokenizer_names_the_limitation(logprob_server, monkeypatch) -> None:
    from pingce.core.errors import ModelError

    lm = _served(logprob_server, monkeypatch)
    with pytest.raises(ModelError, match="needs a local tokenizer"):
        lm.loglikelihood_rolling(TEXTS)
    with pytest.raises(ModelError, match="empty context"):
        lm.loglikelihood([("", "hello")])
    lm.close()


def _logprob_suite():
    """llm/quick's multiple-choice and perplexity tasks (the server answers no generation)."""
    base = builtin_suites_dir() / "llm"
    data = yaml.safe_load((base / "quick.yaml").read_text(encoding="utf-8"))
    data["name"] = "served-logprobs"
    data["tasks"] = [t for t in data["tasks"] if t["type"] in ("multiple_choice", "perplexity")]
    return suite_from_dict(data, "served-logprobs", base)


def test_pipeline_run_equals_hf_and_keeps_the_key_out_of_every_artifact(
    logprob_server, tiny_model_dir, tmp_path, monkeypatch, capfd
) -> None:
    from pingce.core.cli_kit import finish_run

    monkeypatch.setenv("PINGCE_TEST_KEY", logprob_server.key)
    db = tmp_path / "store.db"
    store = open_store(f"sqlite:///{db}")
    common = {"seed": 1234, "limit": 4}
    served = f"openai://127.0.0.1:{logprob_server.port}/v1?model=tiny&tokenizer={tiny_model_dir}"
    run_served = execute_run(
        store,
        RunRequest(
            suite=_logprob_suite(),
            subject=served,
            options={**common, "api_key_env": "PINGCE_TEST_KEY", "concurrency": 3},
        ),
        show_progress=True,
    )
    run_hf = execute_run(
        store,
        RunRequest(
            suite=_logprob_suite(),
            subject=f"hf:{tiny_model_dir}",
            options={**common, "device": "cpu", "dtype": "float32", "batch_size": 4},
        ),
        show_progress=False,
    )
    a = {(r["task"], r["sample_id"]): r for r in records_as_dicts(store.records(run_served))}
    b = {(r["task"], r["sample_id"]): r for r in records_as_dicts(store.records(run_hf))}
    assert a.keys() == b.keys() and len(a) > 0
    for k in a:
        da, db_ = a[k]["data"], b[k]["data"]
        if "loglikelihoods" in da:
            assert da["loglikelihoods"] == pytest.approx(db_["loglikelihoods"], abs=TOL)
            assert a[k]["scores"] == b[k]["scores"]
        else:
            # A whole-text sum over ~1,000 tokens: allow float32 summation-order noise relative
            # to its size (batch composition differs between the two runs).
            assert da["logprob"] == pytest.approx(db_["logprob"], rel=1e-6, abs=TOL)

    # A second run with other concurrency is answered from the request cache entirely.
    before = logprob_server.get("/stats")["completions"]
    rerun = execute_run(
        store,
        RunRequest(
            suite=_logprob_suite(),
            subject=served,
            options={**common, "api_key_env": "PINGCE_TEST_KEY", "concurrency": 1},
        ),
        show_progress=False,
    )
    assert logprob_server.get("/stats")["completions"] == before
    assert store.get_run(rerun).status == "completed"

    # The variable's NAME is recorded with the run; its value never is.
    assert store.get_run(run_served).config["settings"]["api_key_env"] == "PINGCE_TEST_KEY"
    reports = tmp_path / "reports"
    finish_run(store, run_served, reports)
    store.close()
    captured = capfd.readouterr()
    secret = logprob_server.key.encode()
    assert logprob_server.get("/stats")["unauthorized"] == 0  # the key was sent...
    artifacts = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in artifacts)
    for path in artifacts:  # ...and is in no file: DB, WAL, reports
        assert secret not in path.read_bytes(), path
    assert logprob_server.key not in captured.out + captured.err
