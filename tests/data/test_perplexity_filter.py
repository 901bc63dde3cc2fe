"""`perplexity_filter`: per-document perplexity through the llm backends, thresholds, pipeline.

Reference for the numbers: an independent computation with plain transformers on the same tiny
model folder — the tokenizer's ids with the model's prefix token (EOS; the model has no BOS) in
front, one forward pass, log_softmax, gather of each next token's log-probability, and
PPL = exp(-Σ logprob / tokens). The texts are shorter than the model's 1024-token window, so
the backend's rolling windows reduce to that single pass.
"""

from __future__ import annotations

import functools
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pingce.core.errors import SpecError
from pingce.data.document import Document
from pingce.data.generator import read_jsonl
from pingce.data.operators.base import build_operator
from pingce.data.pipeline import run_pipeline
from pingce.data.pipeline_spec import load_pipeline

pytest.importorskip("torch")
pytest.importorskip("transformers")

# In-distribution prose (the demo model's training corpus), then text it never saw.
TEXTS = [
    "Water moves around our planet in a never-ending cycle. Heat from the sun warms lakes, "
    "rivers and the sea, and some of the water evaporates into the air as invisible vapour.",
    "A good morning routine does not need to be complicated.",
    "zqxj vbnm wrtp kkkk qqzx plmn ytrw xcvb jjjj hgfd",
    "7#k@!Q ~~^^ 0x3F ]]][[ %%$ ;;;; ¤¤ ¶¶ ××",
    "天气很好，我们去公园散步吧。",
]


@functools.lru_cache(maxsize=1)
def _reference_model(model_dir: Path) -> tuple[object, object]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    return tok, AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()


def reference_perplexity(model_dir: Path, text: str) -> float:
    import torch

    tok, model = _reference_model(model_dir)
    ids = tok.encode(text)
    prefix = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    inp = torch.tensor([[prefix, *ids]])
    with torch.no_grad():
        logits = model(input_ids=inp).logits[0, :-1].float()
    logprobs = torch.log_softmax(logits, dim=-1).gather(1, torch.tensor(ids)[:, None])
    return math.exp(-float(logprobs.sum()) / len(ids))


def _op(model_dir: Path, **params: object):
    return build_operator(
        "perplexity_filter",
        {"model": f"hf:{model_dir}", "device": "cpu", "dtype": "float32", **params},
        "test",
    )


def _docs(texts: list[str]) -> list[Document]:
    return [Document(id=str(i), parts=[("text", t)]) for i, t in enumerate(texts)]


def test_perplexity_matches_transformers_and_thresholds(tiny_model_dir: Path) -> None:
    ref = [reference_perplexity(tiny_model_dir, t) for t in TEXTS]
    op = _op(tiny_model_dir)
    kept, removed = op.process(_docs(TEXTS + ["", "   "]))
    assert not removed  # no thresholds: annotate only
    got = [d.meta["perplexity"] for d in kept]
    for g, r in zip(got[: len(TEXTS)], ref, strict=True):
        assert g == pytest.approx(r, rel=1e-4)
    assert got[len(TEXTS) :] == [None, None]  # empty documents are not scored, and kept
    assert ref[0] < ref[2] and ref[1] < ref[3]  # seen prose scores lower than gibberish

    # Thresholds between the measured values remove exactly the documents outside them.
    hi = sorted(ref)[-2]  # only the highest is above
    lo = sorted(ref)[1]  # only the lowest is below
    op = _op(tiny_model_dir, max_perplexity=hi + 1e-3, min_perplexity=lo - 1e-3)
    kept, removed = op.process(_docs(TEXTS))
    assert {d.id: r for d, r in removed} == {
        str(ref.index(max(ref))): "perplexity_above_max",
        str(ref.index(min(ref))): "perplexity_below_min",
    }
    assert op.stats.removed == {"perplexity_above_max": 1, "perplexity_below_min": 1}
    assert op.stats.kept == len(TEXTS) - 2

    # max_chars: only the first N characters are scored.
    long = TEXTS[0] + " " + TEXTS[2] * 5
    op = _op(tiny_model_dir, max_chars=len(TEXTS[0]))
    kept, _ = op.process(_docs([long]))
    assert kept[0].meta["perplexity"] == pytest.approx(ref[0], rel=1e-4)


def test_served_model_through_the_openai_backend(tiny_model_dir: Path) -> None:
    # A real HTTP server on 127.0.0.1 (tests/served/logprob_server.py: plain transformers,
    # vLLM's echo+logprobs format) behind the openai backend gives the same perplexities.
    import socket
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = Path(__file__).resolve().parents[1] / "served" / "logprob_server.py"
    env = {k: v for k, v in os.environ.items() if k != "LOGPROB_SERVER_KEY"}
    proc = subprocess.Popen(
        [sys.executable, str(server), str(tiny_model_dir), str(port)],
        env={**env, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        spec = f"openai://127.0.0.1:{port}/v1?model=tiny&tokenizer={tiny_model_dir}"
        op = build_operator("perplexity_filter", {"model": spec}, "test")
        kept, _ = op.process(_docs(TEXTS[:3]))
        for doc, text in zip(kept, TEXTS[:3], strict=True):
            want = reference_perplexity(tiny_model_dir, text)
            assert doc.meta["perplexity"] == pytest.approx(want, rel=1e-4)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_operator_pickles_without_a_model(tiny_model_dir: Path) -> None:
    import pickle

    op = _op(tiny_model_dir)
    op.process(_docs(TEXTS[:1]))  # opens the backend in this process
    assert len(pickle.dumps(op)) < 10_000  # the loaded model is not part of the operator


def test_pipeline_end_to_end_via_cli(tiny_model_dir: Path, tmp_path: Path) -> None:
    ref = [reference_perplexity(tiny_model_dir, t) for t in TEXTS]
    raw = tmp_path / "raw"
    raw.mkdir()
    for shard in range(2):  # two shards and two workers: the model loads in spawned workers
        rows = [{"id": f"{shard}-{i}", "text": t} for i, t in enumerate(TEXTS)]
        (raw / f"s{shard}.jsonl").write_text(
            "\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8"
        )
    threshold = sorted(ref)[2] + 1e-3  # the two highest-perplexity texts go
    spec = {
        "input": {"path": "raw"},
        "output": {"path": "out", "format": "jsonl"},
        "workers": 2,
        "operators": [
            {
                "perplexity_filter": {
                    "model": f"hf:{tiny_model_dir}",
                    "max_perplexity": threshold,
                    "device": "cpu",
                    "batch_size": 4,
                }
            }
        ],
    }
    pipe = tmp_path / "pipe.yaml"
    pipe.write_text(yaml.safe_dump(spec), encoding="utf-8")
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "pingce.cli", "data", "process", str(pipe), "-q"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stats = json.loads((tmp_path / "out" / "stats.json").read_text(encoding="utf-8"))
    step = stats["funnel"][0]
    assert step["operator"] == "perplexity_filter"
    assert step["docs_in"] == 2 * len(TEXTS)
    assert step["removed_by_reason"] == {"perplexity_above_max": 4}
    out = [r for p in sorted((tmp_path / "out").glob("part-*.jsonl")) for r in read_jsonl(p)]
    expected = {t for t, r in zip(TEXTS, ref, strict=True) if r <= threshold}
    assert {r["text"] for r in out} == expected and len(out) == 2 * len(expected)
    for r in out:
        want = ref[TEXTS.index(r["text"])]
        assert r["pingce"]["perplexity"] == pytest.approx(want, rel=1e-4)
    audit = [r for p in (tmp_path / "out" / "audit").glob("removed-*") for r in read_jsonl(p)]
    assert {r["reason"] for r in audit} == {"perplexity_above_max"} and len(audit) == 4

    # The quality report of the processed folder shows the annotated perplexities.
    from pingce.core.reporting import build_report_doc
    from pingce.core.store import open_store
    from pingce.data.cli import evaluate_dataset

    store = open_store(None)
    run_id = evaluate_dataset(store, str(tmp_path / "out"), show_progress=False)
    doc = build_report_doc(store, store.get_run(run_id))
    section = next(s for s in doc["sections"] if s["id"] == "perplexity")
    assert sum(section["charts"][0]["series"][0]["values"]) == len(out) == doc["extra"]["documents"]
    assert any(s["id"] == "funnel" for s in doc["sections"])


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("no-scheme-here", "has no scheme"),
        ("vllm:foo", "expected hf:PATH_OR_ID or openai://"),
        ("hf:./no/such/folder", "not a Hugging Face model folder"),
    ],
)
def test_bad_model_spec_is_one_line_error_naming_the_param(
    tmp_path: Path, model: str, message: str
) -> None:
    spec = {
        "input": {"path": "in.jsonl"},
        "output": {"path": "out"},
        "operators": [{"perplexity_filter": {"model": model, "max_perplexity": 100}}],
    }
    pipe = tmp_path / "pipe.yaml"
    pipe.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(SpecError) as exc:
        load_pipeline(pipe)
    line = exc.value.one_line()
    assert "\n" not in line
    assert f"{pipe}: operators.perplexity_filter: model:" in line and message in line


def test_bad_thresholds_and_settings(tiny_model_dir: Path) -> None:
    with pytest.raises(SpecError, match="min_perplexity 50.0 is above max_perplexity 10.0"):
        _op(tiny_model_dir, min_perplexity=50, max_perplexity=10)
    with pytest.raises(SpecError, match="test: device: .*'tpu' is not one of"):
        _op(tiny_model_dir, device="tpu")
    with pytest.raises(SpecError, match="test: max_perplexity: "):
        _op(tiny_model_dir, max_perplexity=-1)


def test_run_pipeline_in_process_reports_load_failure_with_operator(tmp_path: Path) -> None:
    # A folder that passes the check (config.json present) but holds no model: the load error
    # surfaces on the first batch as one line naming the operator's model parameter.
    bad = tmp_path / "broken-model"
    bad.mkdir()
    (bad / "config.json").write_text("{}", encoding="utf-8")
    (tmp_path / "in.jsonl").write_text('{"text": "hello world"}\n', encoding="utf-8")
    spec = {
        "input": {"path": "in.jsonl"},
        "output": {"path": "out"},
        "operators": [{"perplexity_filter": {"model": f"hf:{bad}", "device": "cpu"}}],
    }
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    from pingce.core.errors import ModelError

    with pytest.raises(ModelError, match=r"operators\.perplexity_filter: model: cannot load model"):
        run_pipeline(load_pipeline(tmp_path / "p.yaml"), show_progress=False)
