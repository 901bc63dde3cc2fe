"""Compression: compressors, size/FLOPs forms, metrics and the test pipeline end to end.

References: hand-computed quantisation codes and MACs of the digits CNN, numpy counts of
non-zero weights, and torch's own FlopCounterMode.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from pingce.compression import metrics as cm  # noqa: E402
from pingce.models.weight_only import (  # noqa: E402
    WeightOnlyLinear,
    pack_int4,
    quantize_weight,
    unpack_int4,
)


def test_weight_only_codes_hand_computed() -> None:
    w = torch.tensor([[1.0, -0.6, 0.25, 0.0], [2.0, 1.2, -2.0, 0.5]])
    codes, scales = quantize_weight(w, bits=8, group_size=0)
    # row scale = max|w| / 127; codes = round(w / scale)
    assert scales[:, 0].tolist() == pytest.approx([1 / 127, 2 / 127])
    assert codes.tolist() == [[127, -76, 32, 0], [127, 76, -127, 32]]
    codes4, scales4 = quantize_weight(w, bits=4, group_size=2)
    assert scales4.flatten().tolist() == pytest.approx([1 / 7, 0.25 / 7, 2 / 7, 2 / 7])
    assert codes4.tolist() == [[7, -4, 7, 0], [7, 4, -7, 2]]
    assert torch.equal(unpack_int4(pack_int4(codes4)), codes4)


def test_weight_only_linear_error_is_within_half_a_step() -> None:
    torch.manual_seed(0)
    lin = torch.nn.Linear(64, 16)
    q = WeightOnlyLinear(lin, bits=4, group_size=32)
    step = q.scales.repeat_interleave(32, dim=1)
    assert torch.all((q.dequantized() - lin.weight).abs() <= step / 2 + 1e-7)
    assert q.codes.dtype == torch.uint8 and q.codes.shape == (16, 32)  # packed two per byte


def test_statistics_hand_computed() -> None:
    items = [[1, 1], [1, 0], [1, 1], [0, 0]]  # baseline 3/4, compressed 2/4
    assert cm.stat_drop(items) == pytest.approx(0.25)
    assert cm.stat_rel_drop(items) == pytest.approx(1 / 3)
    assert cm.stat_sqnr_db([[100.0, 1.0], [0.0, 0.0]]) == pytest.approx(20.0)
    assert math.isinf(cm.stat_sqnr_db([[1.0, 0.0]]))


def test_flops_and_sparsity_forms() -> None:
    from pingce.compression.compressors import compress, parse_recipes
    from pingce.compression.size import flops_report, module_flops, size_report
    from pingce.models.datasets import load_data
    from pingce.models.loaded import load_model

    base = load_model("zoo:digits-cnn")
    data = load_data("zoo:digits", ["x"])
    flops = module_flops(base, data.take(1).inputs)
    # hand count (2 FLOPs per MAC): conv1 8x8x8 outputs x 9 MACs, conv2 16x8x8 x 72, fc 256x10
    assert flops["conv1"] == 2 * 8 * 64 * 9
    assert flops["conv2"] == 2 * 16 * 64 * 72
    assert flops["fc"] == 2 * 2560
    path = compress(
        base,
        parse_recipes("prune-magnitude:amount=0.5")[0],
        data,
        Path(os.environ["PINGCE_CACHE"]) / "c",
    )
    pruned = load_model(f"torchscript:{path}")
    sizes = size_report(pruned)
    weights = [
        p.detach().numpy() for n, p in pruned.module.named_parameters() if n.endswith("weight")
    ]
    total = sum(w.size for w in weights)
    assert sum(np.count_nonzero(w) for w in weights) == pytest.approx(total * 0.5, abs=1)
    base_sizes = size_report(base)
    assert base_sizes["parameters"] == sizes["parameters"]
    assert sizes["gzip_bytes"] < sizes["file_bytes"]
    report = flops_report(base, sizes, data.inputs)
    dens = sizes["densities"]
    expected = sum(flops[m] * (1 - dens[f"{m}.weight"]) for m in ("conv1", "conv2", "fc"))
    assert report["reduction"] == pytest.approx(expected / flops["__total__"])


def test_compress_run_pipeline_and_budget(tmp_path: Path) -> None:
    from pingce.compression.compressors import compress, parse_recipes
    from pingce.compression.suite import compression_suite
    from pingce.core.registry import load_plugins
    from pingce.core.reporting import build_report_doc
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.spec import suite_from_dict
    from pingce.core.store import open_store
    from pingce.models.datasets import load_data
    from pingce.models.loaded import load_model

    load_plugins()
    base = load_model("zoo:digits-cnn")
    data = load_data("zoo:digits", ["x"])
    variants = {}
    for r in parse_recipes("int8-static-ort,prune-magnitude:amount=0.95"):
        p = compress(base, r, data, tmp_path)
        variants[r.label] = str(p) if p.suffix == ".onnx" else f"torchscript:{p}"
    suite = compression_suite(list(variants), batch_sizes=[1, 16], repeats=5)
    store = open_store(os.environ["PINGCE_DB"])
    run_id = execute_run(
        store,
        RunRequest(
            suite=suite_from_dict(suite, "t", tmp_path),
            subject="zoo:digits-cnn",
            options={"variants": variants, "data": "zoo:digits", "threads": 1},
        ),
        show_progress=False,
    )
    doc = build_report_doc(store, store.get_run(run_id))
    verdicts = doc["extra"]["budget_verdicts"]
    # 95% of the weights removed without fine-tuning: far beyond a 1% relative drop
    assert verdicts["prune-magnitude:amount=0.95"] is False
    rows = {r[0]: r for r in doc["sections"][0]["table"]["rows"]}
    assert rows["int8-static-ort"][3] == pytest.approx(1.0, abs=0.05)  # same parameter count
    assert rows["int8-static-ort"][1] > 1.5  # int8 weights: a smaller file
    assert rows["prune-magnitude:amount=0.95"][4] > 10  # non-zero parameter ratio
    lat = next(s for s in doc["sections"] if s["id"] == "latency")
    assert len(lat["table"]["rows"]) == 4
    assert any("significant" in n for n in doc["notes"])


def test_cli_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pingce.cli import main

    # A rejected recipe must leave nothing behind: no default `compressed/` folder in the
    # working directory (a bad parameter used to be found only after the folder was made).
    monkeypatch.chdir(tmp_path)
    for argv, expect in (
        (
            ["compress", "run", "--model", "zoo:digits-cnn", "--recipe", "int3-magic"],
            "unknown compressor",
        ),
        (
            [
                "compress",
                "run",
                "--model",
                "zoo:digits-cnn",
                "--recipe",
                "prune-magnitude:amount=2",
            ],
            "must be in",
        ),
        (
            [
                "compress",
                "run",
                "--model",
                "zoo:digits-cnn",
                "--recipe",
                "prune-channels:amout=0.3",
            ],
            "did you mean 'amount'",
        ),
        (
            ["compress", "test", "--baseline", "zoo:nope", "--compressed", "zoo:digits-cnn"],
            "unknown zoo model",
        ),
    ):
        old = os.sys.argv
        os.sys.argv = ["pingce", *argv]
        try:
            with pytest.raises(SystemExit) as info:
                main()
        finally:
            os.sys.argv = old
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert expect in err and "Traceback" not in err
        assert not (tmp_path / "compressed").exists(), argv
