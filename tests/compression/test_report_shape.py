"""The shape of a compression report built by the report kit, pinned on a hand-checkable case:
the digits CNN as its own "compressed" variant (every prediction agrees, nothing is lost).

References: scikit-learn's accuracy_score for the accuracy, `pingce.core.stats.estimate` with
the run's seed for the bootstrap CIs, and hand values for the identical-model case.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("sklearn")

from sklearn.metrics import accuracy_score  # noqa: E402

from pingce.compression.suite import compression_suite  # noqa: E402
from pingce.core.errors import SpecError  # noqa: E402
from pingce.core.registry import load_plugins  # noqa: E402
from pingce.core.reporting import build_report_doc  # noqa: E402
from pingce.core.run import RunRequest, execute_run  # noqa: E402
from pingce.core.spec import suite_from_dict  # noqa: E402
from pingce.core.store import open_store  # noqa: E402

N = 40
OPTIONS = {"variants": {"same": "zoo:digits-cnn"}, "data": "zoo:digits", "threads": 1}


def _run(tmp_path: Path, options: dict, explicit: frozenset[str] = frozenset()) -> dict:
    load_plugins()
    store = open_store(os.environ["PINGCE_DB"])
    suite = compression_suite(["same"], batch_sizes=[1], repeats=5, limit=N)
    run_id = execute_run(
        store,
        RunRequest(
            suite=suite_from_dict(suite, "test", tmp_path),
            subject="zoo:digits-cnn",
            options=options,
            explicit=explicit,
        ),
        show_progress=False,
    )
    return build_report_doc(store, store.get_run(run_id))


def test_report_shape_and_values(tmp_path: Path) -> None:
    from pingce.core.stats import estimate
    from pingce.models.loaded import load_model
    from pingce.models.zoo import digits_split

    doc = _run(tmp_path, {**OPTIONS, "seed": 7})
    assert [t["id"] for t in doc["tasks"]] == ["same.size", "same.accuracy", "same.latency"]
    assert [t["type"] for t in doc["tasks"]] == [
        "compression.size",
        "compression.accuracy",
        "compression.latency",
    ]
    assert {t["dimension"] for t in doc["tasks"]} == {"same"}
    assert [s["id"] for s in doc["sections"]] == ["variants", "latency"]
    assert doc["sections"][0]["charts"][0]["kind"] == "lines"
    assert doc["overall"]["score"] == 1.0
    assert doc["extra"]["budget_verdicts"] == {"same": True}
    # only the compression standard's own options are stored (and hashed)
    assert set(doc["run"]["config"]["options"]) == {"variants", "data", "threads", "seed"}

    acc = doc["tasks"][1]["metrics"]
    _, _, x_te, y_te = digits_split()
    pred = load_model("zoo:digits-cnn").run({"x": x_te[:N]})[0].argmax(axis=1)
    want = accuracy_score(y_te[:N], pred)
    assert acc["cmp_accuracy_baseline"]["value"] == pytest.approx(want, abs=1e-12)
    assert acc["cmp_accuracy_compressed"]["value"] == pytest.approx(want, abs=1e-12)
    assert acc["cmp_top1_agreement"]["value"] == 1.0
    assert acc["cmp_rel_accuracy_drop"]["value"] == 0.0
    assert acc["cmp_cosine"]["value"] == pytest.approx(1.0)
    # the CI comes from the run's seed (7), as core.stats computes it
    hits = [int(p == y) for p, y in zip(pred, y_te[:N], strict=True)]
    est = estimate(hits, n_resamples=1000, seed=7)
    assert acc["cmp_accuracy_baseline"]["ci_low"] == pytest.approx(est.ci_low)
    assert acc["cmp_accuracy_baseline"]["ci_high"] == pytest.approx(est.ci_high)
    assert doc["tasks"][0]["metrics"]["cmp_ratio_params"]["value"] == 1.0

    ind = {i["id"]: i for i in doc["indicators"]}
    rel = ind["cmp_rel_accuracy_drop"]
    assert (rel["threshold"], rel["verdict"], rel["scope"]) == (0.01, "pass", "same.accuracy")
    assert ind["cmp_top1_agreement"]["verdict"] is None
    row = doc["sections"][0]["table"]["rows"][0]
    columns = doc["sections"][0]["table"]["columns"]
    cell = dict(zip(columns, row, strict=True))
    assert cell["variant"] == "same" and cell["budget"] == "pass"
    assert cell["rel drop [95% CI]"] == "0.0000 [0.0000, 0.0000]"
    assert cell["baseline acc"] == float(f"{want:.4g}")


def test_options_of_other_standards_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="num_fewshot do not apply to standard 'compression'"):
        _run(tmp_path, {**OPTIONS, "num_fewshot": 5}, frozenset({"num_fewshot"}))
