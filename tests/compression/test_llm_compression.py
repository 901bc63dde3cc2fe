"""LLM compression through the llm module, on the tiny local Qwen2 model (tests/conftest.py).

References: compression ratios are hand-computed from the checkpoint's linear-layer shapes
(int8: 1 byte per weight plus one bfloat16 scale per output channel; int4: 1/2 byte per weight
plus one bfloat16 scale per group of 32 input columns, the last group of a row possibly
shorter); the bits_per_byte values are recomputed
here from the stored per-document log-likelihoods; McNemar's p-value is checked against
scipy.stats.binomtest on the discordant counts.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


def _hand_ratios(model_dir: Path, bits: int) -> tuple[float, float]:
    """(param-bytes ratio, linear-bytes ratio) from the shapes in config.json."""
    cfg = json.loads((model_dir / "config.json").read_text())
    h, i, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    heads, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = h // heads
    # (out, in, has_bias) per layer: Qwen2 has q/k/v biases
    shapes = [(h, h), (kv * hd, h), (kv * hd, h), (h, h), (i, h), (i, h), (h, i)]
    lin_w = lin_c = 0.0
    for out_f, in_f in shapes:
        scales = 1 if bits == 8 else math.ceil(in_f / 32)
        lin_w += out_f * in_f * 4
        lin_c += out_f * in_f * bits / 8 + out_f * scales * 2
    layers = cfg["num_hidden_layers"]
    lin_w, lin_c = lin_w * layers, lin_c * layers
    # everything else stays float32: embedding (tied head), q/k/v biases, 2 norms per layer, final norm
    other = (v * h + layers * (h + 2 * kv * hd) + layers * 2 * h + h) * 4
    return (lin_w + other) / (lin_c + other), lin_w / lin_c


@pytest.fixture(scope="module")
def docs(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    from pingce.builtin import register
    from pingce.compression.llm import run_llm_compression
    from pingce.core.store import open_store

    register()
    tmp = tmp_path_factory.mktemp("llmcmp")
    store = open_store(f"sqlite:///{tmp / 'db.sqlite'}")
    out = {
        r: run_llm_compression(store, tiny_model_dir, r, tmp / "out", latency_repeats=5)
        for r in ("int8", "int4", "fp16")
    }
    out["_store"] = store
    return out


def test_reports_validate_and_load_through_hf(docs: dict, tiny_model_dir: Path) -> None:
    from pingce.core.report.render import validate_report

    for r in ("int8", "int4", "fp16"):
        doc = docs[r]
        validate_report(doc)
        cmp = doc["extra"]["compression"]
        subject = doc["run"]["subject"]
        assert subject.startswith("hf:")
        if r == "fp16":
            assert subject.endswith(f"/{r}") and "execution_path" in cmp
        else:  # int8/int4 variants run (evaluation and latency) on the integer kernels
            assert subject.endswith(f"/{r}?weight_only=kernels&device=cpu")
            assert cmp["execution_path"] == "kernels"
            assert any("weight-only CPU kernels" in n for n in doc["notes"])
        assert cmp["decode_latency_ms"]["compressed"]["n"] == 5
        assert cmp["n_mc"] > 0 and cmp["n_docs"] > 0
        ids = {i["id"] for i in doc["indicators"]}
        assert "cmp_llm_mc_top1_agreement" in ids and "cmp_llm_bits_per_byte_rel_change" in ids
        assert cmp["latency_ms"]["baseline"]["n"] == 5


def test_bits_per_byte_int8_close_int4_worse(docs: dict) -> None:
    i8, i4 = docs["int8"]["extra"]["compression"], docs["int4"]["extra"]["compression"]
    assert i8["bits_per_byte_baseline"] == pytest.approx(i4["bits_per_byte_baseline"])
    assert abs(i8["bits_per_byte_rel_change"]) < 0.005
    assert abs(i4["bits_per_byte_delta"]) >= abs(i8["bits_per_byte_delta"])
    fp16 = docs["fp16"]["extra"]["compression"]
    assert abs(fp16["bits_per_byte_rel_change"]) < 0.005


def test_bits_per_byte_recomputed_from_records(docs: dict) -> None:
    """Corpus bits_per_byte = -sum log p / (sum bytes * ln 2), and equals the llm run's own value."""
    from pingce.core.run import summarize_run
    from pingce.core.store import records_as_dicts

    store = docs["_store"]
    cmp = docs["int4"]["extra"]["compression"]
    recs = records_as_dicts(store.records(cmp["compressed_run"], "perplexity"))
    texts = [r["data"]["prompt"] for r in recs]
    lp = sum(r["data"]["logprob"] for r in recs)
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    assert cmp["bits_per_byte_compressed"] == pytest.approx(-lp / (nbytes * math.log(2)))
    summary = summarize_run(store, store.get_run(cmp["compressed_run"]))
    ppl = next(t for t in summary["tasks"] if t["id"] == "perplexity")
    assert ppl["metrics"]["bits_per_byte"]["value"] == pytest.approx(
        cmp["bits_per_byte_compressed"]
    )


def test_mcnemar_and_agreement_against_scipy(docs: dict) -> None:
    from scipy.stats import binomtest

    from pingce.core.store import records_as_dicts

    store = docs["_store"]
    cmp = docs["int4"]["extra"]["compression"]
    b = {
        r["sample_id"]: r
        for r in records_as_dicts(store.records(cmp["baseline_run"], "knowledge-mc"))
    }
    c = {
        r["sample_id"]: r
        for r in records_as_dicts(store.records(cmp["compressed_run"], "knowledge-mc"))
    }
    b01 = sum(1 for k in b if not b[k]["scores"]["acc"] and c[k]["scores"]["acc"])
    b10 = sum(1 for k in b if b[k]["scores"]["acc"] and not c[k]["scores"]["acc"])
    expected = 1.0 if b01 + b10 == 0 else binomtest(b01, b01 + b10, 0.5).pvalue
    assert cmp["mc_mcnemar"]["p_value"] == pytest.approx(expected)
    # top-1 agreement: same argmax of the per-choice log-likelihoods
    same = [
        max(range(len(v["data"]["loglikelihoods"])), key=v["data"]["loglikelihoods"].__getitem__)
        == max(
            range(len(c[k]["data"]["loglikelihoods"])),
            key=c[k]["data"]["loglikelihoods"].__getitem__,
        )
        for k, v in b.items()
    ]
    assert cmp["mc_top1_agreement"] == pytest.approx(sum(same) / len(same))


def test_ratios_hand_computed(docs: dict, tiny_model_dir: Path) -> None:
    for r, bits in (("int8", 8), ("int4", 4)):
        cmp = docs[r]["extra"]["compression"]
        model_ratio, linear_ratio = _hand_ratios(tiny_model_dir, bits)
        assert cmp["ratio_quantised_linear_bytes"] == pytest.approx(linear_ratio)
        assert cmp["ratio_quantised_param_bytes"] == pytest.approx(model_ratio)
        # dequantised storage: the saved folder is as big as the baseline
        assert cmp["ratio_file_bytes_as_saved"] == pytest.approx(1.0, rel=0.01)
    fp16 = docs["fp16"]["extra"]["compression"]
    assert fp16["ratio_quantised_param_bytes"] == pytest.approx(2.0)
    assert fp16["ratio_file_bytes_as_saved"] == pytest.approx(2.0, rel=0.01)


def test_cli_llm_bad_input_and_run(tiny_model_dir: Path, tmp_path: Path) -> None:
    from pingce.cli import app
    from pingce.core.errors import PingceError

    runner = CliRunner()
    res = runner.invoke(
        app, ["compress", "llm", "--model", "hf:" + str(tmp_path), "--recipe", "int8"]
    )
    assert isinstance(res.exception, PingceError) and "config.json" in res.exception.one_line()
    res = runner.invoke(
        app, ["compress", "llm", "--model", f"hf:{tiny_model_dir}", "--recipe", "int3"]
    )
    assert isinstance(res.exception, PingceError) and "int3" in res.exception.one_line()
    res = runner.invoke(
        app,
        [
            "compress",
            "llm",
            "--model",
            f"hf:{tiny_model_dir}",
            "--recipe",
            "bf16",
            "--out-dir",
            str(tmp_path / "c"),
            "--report-dir",
            str(tmp_path / "r"),
            "--repeats",
            "5",
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "c" / "bf16" / "pingce-compression.json").is_file()
    reports = list((tmp_path / "r").glob("*-compression/report.json"))
    assert len(reports) == 1
    doc = json.loads(reports[0].read_text())
    assert doc["extra"]["compression"]["recipe"] == "bf16"
