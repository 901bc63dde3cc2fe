"""The shape of a conversion report built by the report kit, pinned on the digits CNN and its
ONNX export.

References: both models run here directly (torch, and ONNX Runtime through the shared session
factory) with numpy computing top-1 agreement and max abs error; scikit-learn's accuracy_score
for the accuracies; `pingce.core.stats.estimate` with the run's seed for a CI.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("sklearn")

from sklearn.metrics import accuracy_score  # noqa: E402

from pingce.conversion.suite import verify_suite  # noqa: E402
from pingce.core.registry import load_plugins  # noqa: E402
from pingce.core.reporting import build_report_doc  # noqa: E402
from pingce.core.run import RunRequest, execute_run  # noqa: E402
from pingce.core.spec import suite_from_dict  # noqa: E402
from pingce.core.store import open_store  # noqa: E402

N = 24


def test_report_shape_and_values(digits_onnx: Path, tmp_path: Path) -> None:
    from pingce.core.stats import estimate
    from pingce.models.loaded import load_model
    from pingce.models.onnx_runtime import ort_session
    from pingce.models.zoo import digits_split

    load_plugins()
    store = open_store(os.environ["PINGCE_DB"])
    suite = verify_suite(limit=N, batch_sizes=[1, 2], perf_batches=[1], repeats=5)
    options = {"source": "zoo:digits-cnn", "data": "zoo:digits", "threads": 1, "seed": 3}
    run_id = execute_run(
        store,
        RunRequest(
            suite=suite_from_dict(suite, "test", tmp_path),
            subject=f"onnx:{digits_onnx}",
            options=options,
        ),
        show_progress=False,
    )
    doc = build_report_doc(store, store.get_run(run_id))

    assert [(t["id"], t["type"]) for t in doc["tasks"]] == [
        ("checks", "conversion.checks"),
        ("numerics", "conversion.numerics"),
        ("shapes", "conversion.shapes"),
        ("layers", "conversion.divergence"),
        ("performance", "conversion.performance"),
    ]
    assert [s["id"] for s in doc["sections"]] == [
        "checks-operators",
        "numerics-outputs",
        "shapes-shapes",
        "layers-layers",
        "performance-latency",
    ]
    assert doc["extra"]["verdict"]["pass"] is True
    assert doc["overall"]["score"] == 1.0
    assert doc["notes"][0].startswith("Verdict: PASS")
    assert set(doc["run"]["config"]["options"]) == set(options)

    _, _, x_te, y_te = digits_split()
    x = x_te[:N]
    # one thread each, as the run used (float sums in the same order)
    ref = load_model("zoo:digits-cnn", threads=1).run({"x": x})[0]
    (conv,) = ort_session(digits_onnx, threads=1).run(None, {"x": x})
    metrics = doc["tasks"][1]["metrics"]
    assert metrics["conv_top1_agreement"]["value"] == float(
        np.mean(ref.argmax(1) == conv.argmax(1))
    )
    # float32 rounding differs with the batches the run formed: the same magnitude, not bits
    assert metrics["conv_max_abs_err"]["value"] == pytest.approx(
        float(np.abs(ref - conv).max()), rel=0.5
    )
    want = accuracy_score(y_te[:N], ref.argmax(1))
    assert metrics["conv_accuracy_source"]["value"] == pytest.approx(want, abs=1e-12)
    hits = (ref.argmax(1) == y_te[:N]).astype(int).tolist()
    est = estimate(hits, n_resamples=1000, seed=3)  # the run's seed drives the CI
    assert metrics["conv_accuracy_source"]["ci_low"] == pytest.approx(est.ci_low)
    assert metrics["conv_accuracy_source"]["ci_high"] == pytest.approx(est.ci_high)

    ind = {i["id"]: i for i in doc["indicators"]}
    for name in ("conv_allclose_rate", "conv_checker_pass", "conv_shape_pass_rate"):
        assert (ind[name]["threshold"], ind[name]["verdict"]) == (1.0, "pass"), name
    assert ind["conv_rmse"]["threshold"] is None and ind["conv_rmse"]["verdict"] is None
    outputs = doc["sections"][1]["table"]
    row = dict(zip(outputs["columns"], outputs["rows"][0], strict=True))
    assert row["max abs err"] == float(f"{metrics['conv_max_abs_err']['value']:.4g}")
