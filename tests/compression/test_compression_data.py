"""Compression on ImageFolder images and on a text-classification task.

References: the NPZ path of the same pixel arrays (ImageFolder must give identical inputs,
labels and accuracies), numpy recomputation of accuracy drop and top-1 agreement from the
two models' own logits, and hand-written JSONL/ImageFolder error cases.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")

from pingce.core.errors import DataError  # noqa: E402


def _run(tmp_path: Path, baseline: str, variants: dict[str, str], data: str) -> dict[str, Any]:
    from pingce.compression.suite import compression_suite
    from pingce.core.registry import load_plugins
    from pingce.core.reporting import build_report_doc
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.spec import suite_from_dict
    from pingce.core.store import open_store

    load_plugins()
    suite = compression_suite(list(variants), batch_sizes=[1], repeats=5)
    store = open_store(os.environ["PINGCE_DB"])
    run_id = execute_run(
        store,
        RunRequest(
            suite=suite_from_dict(suite, "t", tmp_path),
            subject=baseline,
            options={"variants": variants, "data": data, "threads": 1},
        ),
        show_progress=False,
    )
    return build_report_doc(store, store.get_run(run_id))


def _metric(doc: dict[str, Any], task_suffix: str, name: str) -> float:
    for task in doc["tasks"]:
        if task["id"].endswith(task_suffix) and name in task["metrics"]:
            return task["metrics"][name]["value"]
    raise AssertionError(f"{task_suffix}/{name} not in report")


def _digits_folder(root: Path, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """The first n held-out digits as 8-bit grayscale PNGs in ROOT/<digit>/; returns the pixel
    arrays as the loader should see them (uint8 / 255) and the labels."""
    from pingce.models.zoo import digits_split

    _, _, x, y = digits_split()
    x, y = x[:n], y[:n]
    pix = np.round(x[:, 0] * 255).astype(np.uint8)
    for i, (img, label) in enumerate(zip(pix, y, strict=True)):
        d = root / f"{label}"
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img, mode="L").save(d / f"{i:04d}.png")
    # ImageFolder order: class folders sorted, files sorted within each
    order = np.argsort(y, kind="stable")
    return (pix[order].astype(np.float32) / 255.0)[:, None], y[order]


def test_image_folder_matches_npz(tmp_path: Path) -> None:
    from pingce.compression.compressors import compress, parse_recipes
    from pingce.compression.data import load_eval_data
    from pingce.models.datasets import load_data
    from pingce.models.loaded import load_model

    x, y = _digits_folder(tmp_path / "imgs")
    np.savez(tmp_path / "same.npz", x=x, labels=y)
    base = load_model("zoo:digits-cnn")
    folder = load_eval_data(str(tmp_path / "imgs"), base)
    npz = load_data(str(tmp_path / "same.npz"), ["x"])
    assert np.array_equal(folder.inputs["x"], npz.inputs["x"])
    assert np.array_equal(folder.labels, npz.labels)
    p = compress(base, parse_recipes("int8-dynamic")[0], folder, tmp_path / "out")
    variants = {"int8-dynamic": f"torchscript:{p}"}
    d_folder = _run(tmp_path, "zoo:digits-cnn", variants, str(tmp_path / "imgs"))
    d_npz = _run(tmp_path, "zoo:digits-cnn", variants, str(tmp_path / "same.npz"))
    for name in ("cmp_accuracy_baseline", "cmp_accuracy_compressed", "cmp_top1_agreement"):
        assert _metric(d_folder, ".accuracy", name) == _metric(d_npz, ".accuracy", name)
    assert _metric(d_folder, ".accuracy", "cmp_accuracy_baseline") > 0.8
    # resize + RGB -> grayscale: 16x16 RGB images made of 2x2 blocks of the same grey come
    # back (bilinear with antialiasing, which blends neighbours) close to the 8x8 originals
    rgb = tmp_path / "rgb"
    for i, (img, label) in enumerate(zip(x[:, 0], y, strict=True)):
        big = np.kron(np.round(img * 255).astype(np.uint8), np.ones((2, 2), np.uint8))
        (rgb / f"{label}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.stack([big] * 3, -1), mode="RGB").save(rgb / f"{label}" / f"{i:04d}.png")
    resized = load_eval_data(str(rgb), base)
    assert resized.inputs["x"].shape == x.shape
    assert np.corrcoef(resized.inputs["x"].ravel(), x.ravel())[0, 1] > 0.9
    const = tmp_path / "const" / "0"
    const.mkdir(parents=True)
    Image.new("RGB", (13, 5), (200, 200, 200)).save(const / "a.png")
    from pingce.compression.data import load_image_folder

    with pytest.raises(DataError, match="1 class folders but the model has 10"):
        load_image_folder(const.parent, base, (8, 8))


def test_image_folder_errors(tmp_path: Path) -> None:
    from pingce.compression.data import load_eval_data, parse_image_size
    from pingce.models.loaded import load_model

    base = load_model("zoo:digits-cnn")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no class subfolders"):
        load_eval_data(str(tmp_path / "empty"), base)
    bad = tmp_path / "bad" / "0"
    bad.mkdir(parents=True)
    (bad / "notes.txt").write_text("hi")
    with pytest.raises(DataError, match="not an image file"):
        load_eval_data(str(tmp_path / "bad"), base)
    few = tmp_path / "few"
    for c in ("a", "b", "c"):
        (few / c).mkdir(parents=True)
        Image.fromarray(np.zeros((8, 8), np.uint8), mode="L").save(few / c / "x.png")
    with pytest.raises(DataError, match="3 class folders but the model has 10 outputs"):
        load_eval_data(str(few), base)
    assert parse_image_size("28x32") == (28, 32)
    with pytest.raises(DataError, match="HxW"):
        parse_image_size("28")


def test_text_classification_int8_and_fp16(tmp_path: Path) -> None:
    from pingce.compression.compressors import compress, parse_recipes
    from pingce.compression.data import load_eval_data
    from pingce.compression.text import TOPICS, load_model_ref, topic_corpus

    texts, labels = topic_corpus(80, 7)
    jsonl = tmp_path / "topics.jsonl"
    with jsonl.open("w", encoding="utf-8") as fh:
        for i, (t, lab) in enumerate(zip(texts, labels, strict=True)):
            # labels as names and as ids both work
            fh.write(json.dumps({"text": t, "label": TOPICS[lab] if i % 2 else int(lab)}) + "\n")
    base = load_model_ref("zoo:text-topic")
    data = load_eval_data(str(jsonl), base)
    assert data.inputs["tokens"].shape[0] == 80
    variants = {}
    for r in parse_recipes("int8-dynamic,fp16"):
        p = compress(base, r, data, tmp_path / "out")
        variants[r.label] = f"torchscript:{p}"
    doc = _run(tmp_path, "zoo:text-topic", variants, str(jsonl))
    # reference: recompute from the models' own logits with numpy
    x = torch.from_numpy(data.inputs["tokens"])
    b = base.module(x).detach().numpy()
    acc_b = float(np.mean(b.argmax(1) == labels))
    assert acc_b > 0.9  # the trained classifier works on unseen sentences
    for label, ref in variants.items():
        comp = load_model_ref(ref)
        c = comp.module(x).detach().float().numpy()
        acc_c = float(np.mean(c.argmax(1) == labels))
        agree = float(np.mean(b.argmax(1) == c.argmax(1)))
        slug = label
        assert _metric(doc, f"{slug}.accuracy", "cmp_accuracy_baseline") == pytest.approx(acc_b)
        assert _metric(doc, f"{slug}.accuracy", "cmp_accuracy_drop") == pytest.approx(acc_b - acc_c)
        assert _metric(doc, f"{slug}.accuracy", "cmp_top1_agreement") == pytest.approx(agree)
        assert _metric(doc, f"{slug}.size", "cmp_ratio_params") > 0


def test_jsonl_errors(tmp_path: Path) -> None:
    from pingce.compression.data import load_eval_data
    from pingce.compression.text import load_model_ref

    base = load_model_ref("zoo:text-topic")
    f = tmp_path / "d.jsonl"
    f.write_text('{"text": "rain", "label": "cooking"}\n')
    with pytest.raises(DataError, match=r"d.jsonl:1: 'label'"):
        load_eval_data(str(f), base)
    f.write_text('{"text": "rain", "label": 9}\n')
    with pytest.raises(DataError, match="model has 4 outputs"):
        load_eval_data(str(f), base)
    f.write_text("not json\n")
    with pytest.raises(DataError, match="not a JSON object"):
        load_eval_data(str(f), base)
