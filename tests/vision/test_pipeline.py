"""The vision standard end to end: suites run through `execute_run` on real models (TorchScript,
ONNX, torch.export, eager, an HTTP server and a pipe process started here), figures checked
against scikit-learn on the stored records and against the model's own outputs."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from sklearn import metrics as skm

from pingce.core.errors import SpecError
from pingce.core.report.validation import validate_report
from pingce.core.reporting import build_report_doc
from pingce.core.run import RunRequest, execute_run
from pingce.core.store import open_store, records_as_dicts

LIMIT = 240


def _suite(tmp_path: Path, tasks: list[dict[str, Any]], name: str = "t") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"standard": "vision", "name": name, "tasks": tasks}))
    return str(path)


def _run(suite: str, subject: str, **options: Any) -> tuple[str, dict[str, Any]]:
    store = open_store()
    run_id = execute_run(
        store,
        RunRequest(suite=suite, subject=subject, options={"seed": 1234, **options}),
        show_progress=False,
    )
    doc = build_report_doc(store, store.get_run(run_id))
    validate_report(doc)
    return run_id, doc


def _metrics(doc: dict[str, Any], task: str) -> dict[str, float]:
    t = next(t for t in doc["tasks"] if t["id"] == task)
    return {k: v["value"] for k, v in t["metrics"].items()}


CLS_TASK = {
    "id": "digits",
    "type": "vision.classification",
    "dataset": "builtin:digits",
    "image_size": [32, 32],
    "limit": LIMIT,
    "batch_size": 50,
}


def test_classification_formats_agree_with_the_models_own_outputs(
    tmp_path: Path, digits_models: dict[str, Path], digits_arrays: Any
) -> None:
    """Top-1/top-5/macro-F1 from the report equal scikit-learn's on the reference model's
    logits for the same images; TorchScript, ONNX, torch.export and eager give the same."""
    _, y = digits_arrays
    logits = np.load(digits_models["logits"])[:LIMIT]
    y = y[:LIMIT]
    expected_top1 = skm.accuracy_score(y, logits.argmax(1))
    expected_top5 = skm.top_k_accuracy_score(y, logits, k=5, labels=range(10))
    suite = _suite(
        tmp_path,
        [{**CLS_TASK, "requirements": {"vision_top1": ">= 0.5", "vision_ece": "<= 0.0001"}}],
    )
    subjects = [
        f"torchscript:{digits_models['torchscript']}",
        f"onnx:{digits_models['onnx']}",
        f"pt2:{digits_models['pt2']}",
        f"torch:{digits_models['eager']}:build",
    ]
    for subject in subjects:
        _, doc = _run(suite, subject)
        m = _metrics(doc, "digits")
        assert m["vision_top1"] == pytest.approx(expected_top1), subject
        assert m["vision_top5"] == pytest.approx(expected_top5), subject
        assert m["vision_macro_f1"] == pytest.approx(
            skm.f1_score(y, logits.argmax(1), average="macro"), abs=1e-9
        )
        req = next(s for s in doc["sections"] if s["id"] == "requirements")
        verdicts = {r[1]: r[4] for r in req["table"]["rows"]}
        assert verdicts["vision_top1"] == ("PASS" if expected_top1 >= 0.5 else "FAIL")
        assert verdicts["vision_ece"] == "FAIL"  # a trained model is not calibrated to 1e-4
        ind = {i["id"]: i for i in doc["indicators"]}
        assert ind["vision_ece"]["verdict"] == "fail" and ind["vision_ece"]["threshold"] == 0.0001
        cm = next(s for s in doc["sections"] if s["id"] == "digits-confusion")["charts"][0][
            "values"
        ]
        np.testing.assert_array_equal(
            cm, skm.confusion_matrix(y, logits.argmax(1), labels=range(10))
        )


class _ModelHandler(BaseHTTPRequestHandler):
    model: Any = None

    def do_POST(self) -> None:
        import torch

        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        x = torch.tensor(body["inputs"], dtype=torch.float32).reshape(body["shape"])
        with torch.inference_mode():
            out = {"logits": self.model(x).tolist()}
        data = json.dumps({"outputs": out}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


PIPE_SERVER = """
import io, struct, sys
import numpy as np, torch
m = torch.jit.load(sys.argv[1])
inp, out = sys.stdin.buffer, sys.stdout.buffer
while True:
    head = inp.read(8)
    if len(head) < 8:
        break
    x = np.load(io.BytesIO(inp.read(struct.unpack('<Q', head)[0])))
    with torch.inference_mode():
        y = m(torch.from_numpy(x)).numpy()
    buf = io.BytesIO()
    np.savez(buf, logits=y)
    data = buf.getvalue()
    out.write(struct.pack('<Q', len(data)) + data)
    out.flush()
"""


def test_http_and_pipe_systems_give_the_in_process_result(
    tmp_path: Path, digits_models: dict[str, Path], digits_arrays: Any
) -> None:
    torch = pytest.importorskip("torch")
    _, y = digits_arrays
    expected = skm.accuracy_score(y[:LIMIT], np.load(digits_models["logits"])[:LIMIT].argmax(1))
    suite = _suite(tmp_path, [CLS_TASK])
    _ModelHandler.model = torch.jit.load(str(digits_models["torchscript"]))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ModelHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _, doc = _run(suite, f"http://127.0.0.1:{server.server_address[1]}/predict")
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert _metrics(doc, "digits")["vision_top1"] == pytest.approx(expected)
    script = tmp_path / "pipe_server.py"
    script.write_text(PIPE_SERVER)
    _, doc = _run(suite, f"pipe:{sys.executable} {script} {digits_models['torchscript']}")
    assert _metrics(doc, "digits")["vision_top1"] == pytest.approx(expected)


def test_defects_report_matches_sklearn_on_stored_records(tmp_path: Path) -> None:
    """Image and pixel AUROC equal scikit-learn's roc_auc_score on the stored scores and maps;
    resuming recomputes nothing."""
    from pingce.vision.defects import aupro
    from pingce.vision.quality import unpack_map, unpack_mask

    run_id, doc = _run("vision/defects", "reference:defects?train=builtin:defects")
    store = open_store()
    recs = records_as_dicts(store.records(run_id))
    labels = [r["data"]["label"] for r in recs]
    scores = [r["data"]["score"] for r in recs]
    maps = [unpack_map(r["data"]["map"], 64) for r in recs]
    masks = [unpack_mask(r["data"]["mask"], 64) for r in recs]
    m = _metrics(doc, "surface-defects")
    assert m["vision_image_auroc"] == pytest.approx(skm.roc_auc_score(labels, scores))
    pix = skm.roc_auc_score(
        np.concatenate([k.ravel() for k in masks]), np.concatenate([a.ravel() for a in maps])
    )
    assert m["vision_pixel_auroc"] == pytest.approx(pix)
    assert m["vision_aupro"] == pytest.approx(aupro(masks, maps))
    assert sum(labels) == 12 and len(labels) == 18  # 6 good, 4 each of scratch, spot, crack
    assert all(
        k.any() == bool(lab) for k, lab in zip(masks, labels, strict=True)
    )  # a mask per defect
    assert m["vision_image_auroc"] > 0.8  # the reference detector finds the synthetic defects
    assert {s["id"] for s in doc["sections"]} >= {
        "requirements",
        "surface-defects-by-type",
        "surface-defects-pro",
    }
    before = store.count_records(run_id)
    assert execute_run(store, resume=run_id, show_progress=False) == run_id
    assert store.count_records(run_id) == before


def test_continual_replay_forgets_less_than_naive_fine_tuning(tmp_path: Path) -> None:
    from pingce.vision.continual import cl_metrics

    suite = _suite(
        tmp_path,
        [
            {
                "id": "ci",
                "type": "vision.continual",
                "scenario": "class-incremental",
                "n_experiences": 5,
                "seeds": [0, 1],
                "limit": 900,
            }
        ],
    )
    figures = {}
    for learner in ("naive", "replay"):
        run_id, doc = _run(suite, f"learner:{learner}")
        figures[learner] = _metrics(doc, "ci")
        recs = records_as_dicts(open_store().records(run_id))
        per_seed = [
            cl_metrics(np.array(r["data"]["matrix"]), np.array(r["data"]["initial"])) for r in recs
        ]
        assert figures[learner]["cl_forgetting"] == pytest.approx(
            np.mean([s["cl_forgetting"] for s in per_seed])
        )
        assert len(recs) == 2 and np.array(recs[0]["data"]["matrix"]).shape == (5, 5)
    assert figures["naive"]["cl_forgetting"] > 0.5  # catastrophic forgetting
    assert figures["replay"]["cl_forgetting"] < figures["naive"]["cl_forgetting"] - 0.3
    assert figures["replay"]["cl_average_accuracy"] > figures["naive"]["cl_average_accuracy"] + 0.3


def test_continual_learner_plugin_and_domain_stream(tmp_path: Path) -> None:
    """A user's learner class (always predicting class 0) on a domain-incremental stream: its
    accuracy matrix is the share of class 0 in each experience's test set."""
    (tmp_path / "mine.py").write_text(
        "import numpy as np\n\nclass Zero:\n    def learn(self, x, y):\n        pass\n\n"
        "    def predict(self, x):\n        return np.zeros(len(x), dtype=int)\n"
    )
    suite = _suite(
        tmp_path,
        [
            {
                "id": "di",
                "type": "vision.continual",
                "scenario": "domain-incremental",
                "n_experiences": 3,
                "limit": 300,
            }
        ],
    )
    run_id, doc = _run(suite, f"learner:{tmp_path / 'mine.py'}:Zero")
    rec = records_as_dicts(open_store().records(run_id))[0]
    assert _metrics(doc, "di")["cl_forgetting"] == pytest.approx(0.0)
    assert _metrics(doc, "di")["cl_bwt"] == pytest.approx(0.0)
    r = np.array(rec["data"]["matrix"])
    assert np.allclose(r, r[0]) and 0 < r[0, 0] < 0.3  # constant: nothing is learned


def test_suite_and_subject_mistakes_are_spec_errors(
    tmp_path: Path, digits_models: dict[str, Path]
) -> None:
    bad = _suite(tmp_path, [{**CLS_TASK, "image_sise": [3, 3]}], "bad")
    with pytest.raises(
        SpecError, match=r"tasks\.digits: image_sise: unknown field \(did you mean 'image_size'\?\)"
    ):
        _run(bad, f"onnx:{digits_models['onnx']}")
    req = _suite(tmp_path, [{**CLS_TASK, "requirements": {"vision_top1": "about 0.9"}}], "req")
    with pytest.raises(SpecError, match="expected '>= NUMBER' or '<= NUMBER'"):
        _run(req, f"onnx:{digits_models['onnx']}")
    ok = _suite(tmp_path, [CLS_TASK], "ok")
    with pytest.raises(SpecError, match="needs a learner"):
        _run(
            _suite(tmp_path, [{"id": "c", "type": "vision.continual"}], "cl"),
            f"onnx:{digits_models['onnx']}",
        )
    with pytest.raises(SpecError, match="unknown scheme 'hf'"):
        _run(ok, "hf:./model")
    from pingce.core.errors import ModelError

    with pytest.raises(
        ModelError, match=r"ONNX Runtime failed on a batch of shape \[50, 3, 40, 40\]"
    ):
        _run(
            _suite(tmp_path, [{**CLS_TASK, "image_size": [40, 40]}], "size"),
            f"onnx:{digits_models['onnx']}",
        )
    with pytest.raises(
        ModelError,
        match=r"the torch model failed on a batch of shape \[50, 3, 40, 40\]: RuntimeError",
    ):
        _run(
            _suite(tmp_path, [{**CLS_TASK, "image_size": [40, 40]}], "size"),
            f"torchscript:{digits_models['torchscript']}",
        )
    (tmp_path / "crash.py").write_text(
        "class Crash:\n    def learn(self, x, y):\n        raise KeyError('boom')\n\n    def predict(self, x):\n        return [0] * len(x)\n"
    )
    with pytest.raises(ModelError, match=r"the learner's learn\(\) raised KeyError: 'boom'"):
        _run(
            _suite(
                tmp_path,
                [{"id": "c", "type": "vision.continual", "n_experiences": 2, "limit": 100}],
                "crash",
            ),
            f"learner:{tmp_path / 'crash.py'}:Crash",
        )
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="ONNX Runtime cannot load"):
        _run(ok, f"onnx:{tmp_path / 'bad.onnx'}")
    with pytest.raises(ModelError, match="not a TorchScript archive"):
        _run(ok, f"torchscript:{tmp_path / 'bad.onnx'}")

    with pytest.raises(
        ModelError, match="gives 10 class scores per image; the task has 12 classes"
    ):
        _run(
            _suite(tmp_path, [{**CLS_TASK, "class_names": [str(i) for i in range(12)]}], "cls12"),
            f"onnx:{digits_models['onnx']}",
        )


def test_hf_saved_dataset_and_imagefolder_give_the_same_top1(
    tmp_path: Path, digits_models: dict[str, Path], digits_arrays: Any
) -> None:
    """The first 60 digits written as an ImageFolder (PNG files) and as a Hugging Face dataset
    saved to disk: the same top-1 as the model's own logits on them."""
    datasets = pytest.importorskip("datasets")
    from PIL import Image

    from pingce.vision.datasets import digits

    _, samples = digits()
    samples = samples[:60]
    for s in samples:
        folder = tmp_path / "folder" / s.kind if s.kind else tmp_path / "folder" / str(s.label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(s.array).save(folder / f"{s.id.split('/')[-1]}.png")
    feats = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=[str(i) for i in range(10)])}
    )
    ds = datasets.Dataset.from_dict(
        {"image": [Image.fromarray(s.array) for s in samples], "label": [s.label for s in samples]},
        features=feats,
    )
    datasets.DatasetDict({"test": ds}).save_to_disk(str(tmp_path / "hf"))
    _, y = digits_arrays
    expected = skm.accuracy_score(y[:60], np.load(digits_models["logits"])[:60].argmax(1))
    for name, dataset in (
        ("hf", f"hf:{tmp_path / 'hf'}?split=test"),
        ("folder", str(tmp_path / "folder")),
    ):
        suite = _suite(tmp_path, [{**CLS_TASK, "dataset": dataset, "limit": None}], name)
        _, doc = _run(suite, f"onnx:{digits_models['onnx']}")
        assert _metrics(doc, "digits")["vision_top1"] == pytest.approx(expected), name
        assert doc["tasks"][0]["n_samples"] == 60


def test_a_silent_or_dead_pipe_process_is_a_model_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every wait on a pipe process is bounded: silence past the timeout, or an exit, is one
    ModelError, never a hang."""
    from pingce.core.errors import ModelError
    from pingce.core.spec import parse_subject
    from pingce.vision import runtime

    monkeypatch.setattr(runtime, "PIPE_TIMEOUT_S", 1.0)
    silent = tmp_path / "silent.py"
    silent.write_text("import sys, time\nsys.stdin.buffer.read(8)\ntime.sleep(30)\n")
    model = runtime.open_model(parse_subject(f"pipe:{sys.executable} {silent}"), {})
    with pytest.raises(ModelError, match="gave no answer within 1 s"):
        model.predict(np.zeros((1, 3, 4, 4), dtype=np.float32))
    model.proc.kill()
    model.proc.wait(timeout=10)
    dead = tmp_path / "dead.py"
    dead.write_text("import sys\nsys.stdin.buffer.read(8)\n")
    model = runtime.open_model(parse_subject(f"pipe:{sys.executable} {dead}"), {})
    with pytest.raises(ModelError, match="closed its output"):
        model.predict(np.zeros((1, 3, 4, 4), dtype=np.float32))
    model.close()


def test_run_options_limit_and_threads_as_pingce_run_passes_them() -> None:
    """`pingce run` passes threads=None and --limit: the limit caps a task that sets none."""
    _, doc = _run(
        "vision/defects", "reference:defects?train=builtin:defects", limit=8, threads=None
    )
    assert doc["tasks"][0]["n_samples"] == 8
    assert doc["run"]["config"]["options"] == {"seed": 1234, "limit": 8, "threads": None}
