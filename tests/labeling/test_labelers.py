"""The synthetic generator and the auto-labelers: exact boxes from the classical detector, OCR
offline, an ONNX detector described by YAML, and a Label Studio ML backend over HTTP."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pingce.labeling.synthetic import SynthConfig, generate, generate_image


def test_generator_is_deterministic_and_exact() -> None:
    cfg = SynthConfig(n_images=3, seed=11)
    a, b = generate(cfg), generate(cfg)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.rgb, y.rgb)
        assert [(o.label, o.bbox, o.text) for o in x.objects] == [
            (o.label, o.bbox, o.text) for o in y.objects
        ]
    # Image i does not depend on the set size.
    np.testing.assert_array_equal(generate_image(SynthConfig(n_images=9, seed=11), 2).rgb, a[2].rgb)
    # A shape's gold box is the tight box of its mask pixels.
    im = a[0]
    for o in im.objects:
        if o.label == "text":
            continue
        x, y, w, h = o.bbox
        region = im.mask[y : y + h, x : x + w]
        cls = ["background", "circle", "square", "triangle"].index(o.label)
        assert (region == cls).any(axis=0).all() and (region == cls).any(axis=1).all()


def test_shape_detector_recovers_exact_boxes() -> None:
    from pingce.labeling.labelers.shapes import ShapeDetector

    det = ShapeDetector()
    for im in generate(SynthConfig(n_images=8, seed=5, text_lines=(0, 1))):
        gold = sorted((o.label, o.bbox) for o in im.objects if o.label != "text")
        pred = sorted(
            (a.label, tuple(int(v) for v in a.bbox))
            for a in det.label(im.key, Path(im.key), im.rgb)
        )  # type: ignore[union-attr]
        assert pred == gold, im.key


def test_ocr_reads_synthetic_text_offline() -> None:
    pytest.importorskip("rapidocr_onnxruntime")
    from pingce.labeling.labelers.ocr import OcrLabeler
    from pingce.labeling.metrics.matching import match_boxes
    from pingce.labeling.metrics.text import cer

    ocr = OcrLabeler(threads=2)
    pairs, n_gold, n_valid = [], 0, 0
    for im in generate(SynthConfig(n_images=4, seed=2, text_lines=(1, 2), max_shapes=1)):
        gold = [o for o in im.objects if o.label == "text"]
        pred = ocr.label(im.key, Path(im.key), im.rgb)
        m = match_boxes(
            [o.label for o in gold],
            [o.bbox for o in gold],
            [a.label for a in pred],
            [a.bbox for a in pred],
        )  # type: ignore[misc]
        n_gold += len(gold)
        n_valid += len(m.valid)
        pairs += [(gold[g].text, pred[p].text) for g, p, _ in m.valid]
    assert n_valid / n_gold >= 0.8
    assert cer(pairs)[0] <= 0.1


def _blob_detector(path: Path) -> None:
    """An ONNX graph that boxes the saturated pixels of the image (one object per image)."""
    import onnx
    from onnx import TensorProto, helper

    big = 1e6
    nodes = [
        helper.make_node("ReduceMax", ["image"], ["mx"], axes=[1], keepdims=1),
        helper.make_node("ReduceMin", ["image"], ["mn"], axes=[1], keepdims=1),
        helper.make_node("Sub", ["mx", "mn"], ["sat"]),
        helper.make_node("Greater", ["sat", "thr"], ["m_bool"]),
        helper.make_node("Cast", ["m_bool"], ["mask"], to=TensorProto.FLOAT),
        helper.make_node("Shape", ["image"], ["shape"]),
        helper.make_node("Gather", ["shape", "i2"], ["h_i"], axis=0),
        helper.make_node("Gather", ["shape", "i3"], ["w_i"], axis=0),
        helper.make_node("Cast", ["h_i"], ["h_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["w_i"], ["w_f"], to=TensorProto.FLOAT),
        helper.make_node("Range", ["zero", "w_f", "one"], ["xr"]),
        helper.make_node("Range", ["zero", "h_f", "one"], ["yr"]),
        helper.make_node("Reshape", ["xr", "xshape"], ["xs"]),
        helper.make_node("Reshape", ["yr", "yshape"], ["ys"]),
    ]
    for axis in ("x", "y"):
        nodes += [
            helper.make_node("Mul", ["mask", f"{axis}s"], [f"{axis}m"]),
            helper.make_node("ReduceMax", [f"{axis}m"], [f"{axis}max0"], keepdims=0),
            helper.make_node("Add", [f"{axis}max0", "one"], [f"{axis}max"]),
            helper.make_node("Sub", ["big", f"{axis}s"], [f"{axis}inv"]),
            helper.make_node("Mul", ["mask", f"{axis}inv"], [f"{axis}invm"]),
            helper.make_node("ReduceMax", [f"{axis}invm"], [f"{axis}invmax"], keepdims=0),
            helper.make_node("Sub", ["big", f"{axis}invmax"], [f"{axis}min"]),
        ]
    nodes += [
        helper.make_node("Concat", ["xmin", "ymin", "xmax", "ymax"], ["flat"], axis=0),
        helper.make_node("Reshape", ["flat", "bshape"], ["boxes"]),
        helper.make_node("ReduceMax", ["mask"], ["s0"], keepdims=0),
        helper.make_node("Reshape", ["s0", "one_shape"], ["scores"]),
    ]
    consts = [
        helper.make_tensor("thr", TensorProto.FLOAT, [], [0.3]),
        helper.make_tensor("i2", TensorProto.INT64, [], [2]),
        helper.make_tensor("i3", TensorProto.INT64, [], [3]),
        helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
        helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
        helper.make_tensor("big", TensorProto.FLOAT, [], [big]),
        helper.make_tensor("xshape", TensorProto.INT64, [4], [1, 1, 1, -1]),
        helper.make_tensor("yshape", TensorProto.INT64, [4], [1, 1, -1, 1]),
        helper.make_tensor("bshape", TensorProto.INT64, [2], [1, 4]),
        helper.make_tensor("one_shape", TensorProto.INT64, [1], [1]),
    ]
    # ReduceMax without axes over everything returns a scalar; make min/max 1-D for Concat.
    fixed = []
    for n in nodes:
        fixed.append(n)
        if n.output[0] in ("xmin", "ymin", "xmax", "ymax"):
            fixed[-1] = helper.make_node(n.op_type, list(n.input), [n.output[0] + "_s"])
            fixed.append(
                helper.make_node("Reshape", [n.output[0] + "_s", "one_shape"], [n.output[0]])
            )
    graph = helper.make_graph(
        fixed,
        "blob",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [
            helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, 4]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1]),
        ],
        initializer=consts,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


def test_onnx_detector_from_yaml(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from pingce.labeling.labelers.base import resolve_labeler

    _blob_detector(tmp_path / "blob.onnx")
    (tmp_path / "det.yaml").write_text(
        "model: blob.onnx\nclasses: [shape]\ninput: {layout: NCHW, scale: 0.00392156862745098}\n"
        "outputs: {boxes: boxes, scores: scores, box_format: xyxy}\nscore_threshold: 0.5\n"
    )
    det = resolve_labeler(f"onnx:{tmp_path / 'det.yaml'}")
    for im in generate(
        SynthConfig(n_images=4, seed=9, min_shapes=1, max_shapes=1, text_lines=(0, 0))
    ):
        (a,) = det.label(im.key, Path(im.key), im.rgb)
        assert a.label == "shape"
        assert tuple(int(v) for v in a.bbox) == im.objects[0].bbox  # type: ignore[union-attr]
    from pingce.core.errors import SpecError

    (tmp_path / "bad.yaml").write_text(
        "model: blob.onnx\nclasses: [shape]\noutputs: {boxes: nope}\n"
    )
    with pytest.raises(SpecError, match="no output 'nope'"):
        resolve_labeler(f"onnx:{tmp_path / 'bad.yaml'}")


class _ShapesBackend(BaseHTTPRequestHandler):
    """A Label Studio ML backend (the /health and /predict endpoints) around the shape detector."""

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, body: Any, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self._send({"status": "UP", "model_class": "ShapesBackend"})

    def do_POST(self) -> None:  # noqa: N802
        from pingce.labeling.images import load_rgb
        from pingce.labeling.labelers.shapes import ShapeDetector

        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        results = []
        for task in req["tasks"]:
            rgb = load_rgb(Path(task["data"]["image"]))
            h, w = rgb.shape[:2]
            regions = [
                {
                    "id": f"r{i}",
                    "from_name": "label",
                    "to_name": "image",
                    "type": "rectanglelabels",
                    "original_width": w,
                    "original_height": h,
                    "score": a.score,
                    "value": {
                        "x": a.bbox[0] * 100 / w,
                        "y": a.bbox[1] * 100 / h,
                        "width": a.bbox[2] * 100 / w,
                        "height": a.bbox[3] * 100 / h,
                        "rotation": 0,
                        "rectanglelabels": [a.label],
                    },
                }
                for i, a in enumerate(ShapeDetector().label("", Path(), rgb))
            ]  # type: ignore[index]
            results.append({"result": regions, "score": 0.9, "model_version": "shapes-1"})
        self._send({"results": results})


def test_label_studio_ml_backend_over_http(tmp_path: Path) -> None:
    import os

    from pingce.core.store import open_store
    from pingce.labeling.cli import evaluate_labels
    from pingce.labeling.synthetic import write_synthetic

    paths = write_synthetic(tmp_path, SynthConfig(n_images=4, seed=4, text_lines=(0, 0)))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ShapesBackend)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        store = open_store(os.environ["PINGCE_DB"])
        run_id = evaluate_labels(
            store,
            f"labeler:{url}",
            str(paths["detection"]),
            "detection",
            images=paths["images"],
            show_progress=False,
        )
    finally:
        server.shutdown()
        server.server_close()
    results = store.get_run(run_id).results
    metrics = results["tasks"][0]["metrics"]
    assert metrics["label_f1"]["value"] == pytest.approx(1.0)
    assert metrics["label_mean_iou"]["value"] == pytest.approx(1.0, abs=1e-3)
    assert metrics["label_images_per_s"]["value"] > 0
