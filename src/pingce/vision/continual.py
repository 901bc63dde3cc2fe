"""Continual (autonomous) learning: experience streams, the learner protocol, the accuracy
matrix and its metrics, and two reference learners.

Stream (seeded): the dataset is split into a train and a test part per class, then into T
experiences. Class-incremental: the classes, shuffled, are dealt into T groups; experience i
holds the images of group i. Domain-incremental: every experience holds all classes, on a
disjoint share of the images rotated by i * 180/T degrees (a new "domain" per experience).

Protocol (`learner:` subjects): a learner has `learn(x, y)` and `predict(x)`, with x a float32
(N, 3, H, W) batch in [0, 1] and y int class ids; `predict` returns labels (N,) or class scores
(N, C). An optional `setup(n_classes, input_shape, seed)` is called once per stream. Learners:
``learner:naive`` / ``learner:replay`` (built in), ``learner:FILE.py:CLASS`` (a class
instantiated with no arguments per stream), ``learner:http://HOST:PORT`` (POST /setup,
/learn, /predict with JSON bodies {"x": nested list, "y": [...]}, /predict answering
{"labels": [...]}).

Metrics from R[i][j] (accuracy on experience j's test images after learning experience i) and
b[j] (accuracy before any learning), with the definitions of Avalanche
(`avalanche.evaluation.metrics.forgetting_bwt`, `forward_transfer`) and GEM:

- average accuracy  = mean_j R[T-1][j]
- avg. incremental  = mean_i ( mean_{j<=i} R[i][j] )                        (iCaRL)
- forgetting        = mean_{j<T-1} ( R[j][j] - R[T-1][j] )                   (StreamForgetting)
- BWT               = -forgetting                                            (forgetting_to_bwt)
- FWT               = mean_{j>=1} ( R[j-1][j] - b[j] )                       (StreamForwardTransfer)
- plasticity        = mean_j R[j][j]                                         (learning accuracy)
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pingce.core.errors import ModelError, SpecError
from pingce.core.spec import SubjectSpec


@dataclass(frozen=True)
class Experience:
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    classes: tuple[int, ...]


def make_stream(
    x: np.ndarray,
    y: np.ndarray,
    scenario: str,
    n_experiences: int,
    seed: int,
    test_fraction: float = 0.3,
) -> list[Experience]:
    """Split images `x` (N, C, H, W) with labels `y` into `n_experiences` experiences."""
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    train_idx, test_idx = [], []
    for c in classes:
        idx = rng.permutation(np.flatnonzero(y == c))
        k = max(1, int(round(len(idx) * test_fraction)))
        test_idx.append(idx[:k])
        train_idx.append(idx[k:])
    tr, te = np.concatenate(train_idx), np.concatenate(test_idx)
    out = []
    if scenario == "class-incremental":
        if n_experiences > len(classes):
            raise SpecError(
                f"class-incremental: {n_experiences} experiences but only {len(classes)} classes"
            )
        groups = np.array_split(rng.permutation(classes), n_experiences)
        for g in groups:
            a, b = tr[np.isin(y[tr], g)], te[np.isin(y[te], g)]
            out.append(Experience(x[a], y[a], x[b], y[b], tuple(int(c) for c in sorted(g))))
        return out
    if scenario != "domain-incremental":
        raise SpecError(
            f"unknown scenario {scenario!r}; expected class-incremental or domain-incremental"
        )
    from scipy.ndimage import rotate

    tr_parts = np.array_split(rng.permutation(tr), n_experiences)
    te_parts = np.array_split(rng.permutation(te), n_experiences)
    for i, (a, b) in enumerate(zip(tr_parts, te_parts, strict=True)):
        angle = i * 180.0 / n_experiences

        def rot(batch: np.ndarray, angle: float = angle) -> np.ndarray:
            if angle == 0:
                return batch.copy()
            return rotate(
                batch, angle, axes=(2, 3), reshape=False, order=1, mode="constant"
            ).astype(np.float32)

        out.append(Experience(rot(x[a]), y[a], rot(x[b]), y[b], tuple(int(c) for c in classes)))
    return out


def cl_metrics(r: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """The stream's figures from the accuracy matrix `r` (T x T) and the initial accuracies `b`."""
    r = np.asarray(r, dtype=np.float64)
    t = r.shape[0]
    last = r[t - 1]
    forgetting = (
        float(np.mean([r[j, j] - last[j] for j in range(t - 1)])) if t > 1 else float("nan")
    )
    return {
        "cl_average_accuracy": float(last.mean()),
        "cl_avg_incremental_accuracy": float(np.mean([r[i, : i + 1].mean() for i in range(t)])),
        "cl_forgetting": forgetting,
        "cl_bwt": -forgetting,
        "cl_fwt": float(np.mean([r[j - 1, j] - b[j] for j in range(1, t)]))
        if t > 1
        else float("nan"),
        "cl_plasticity": float(np.mean(np.diag(r))),
    }


class Learner(Protocol):
    def learn(self, x: np.ndarray, y: np.ndarray) -> None: ...

    def predict(self, x: np.ndarray) -> np.ndarray: ...


def _features(x: np.ndarray) -> np.ndarray:
    """Grey level, average-pooled to at most 8 x 8, flattened (the reference learners' input)."""
    g = x.mean(axis=1)
    h, w = g.shape[1:]
    fh, fw = max(1, h // 8), max(1, w // 8)
    g = g[:, : h - h % fh, : w - w % fw].reshape(len(g), h // fh, fh, w // fw, fw).mean(axis=(2, 4))
    return g.reshape(len(g), -1)


class SoftmaxLearner:
    """Multinomial logistic regression trained by mini-batch SGD (numpy, seeded). Naive
    fine-tuning when `buffer_size` is 0; with a buffer, experience replay: a class-balanced
    reservoir of past images is mixed into every experience's training set."""

    def __init__(
        self, buffer_size: int = 0, epochs: int = 15, lr: float = 0.5, batch: int = 32
    ) -> None:
        self.buffer_size, self.epochs, self.lr, self.batch = buffer_size, epochs, lr, batch
        self.w: np.ndarray | None = None
        self.buf_x: np.ndarray | None = None
        self.buf_y: np.ndarray | None = None
        self.rng = np.random.default_rng(0)

    def setup(self, n_classes: int, input_shape: Sequence[int], seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        d = int(_features(np.zeros((1, *input_shape), dtype=np.float32)).shape[1])
        self.w = np.zeros((d + 1, n_classes))

    def _x(self, x: np.ndarray) -> np.ndarray:
        f = _features(x)
        return np.hstack([f, np.ones((len(f), 1))])

    def learn(self, x: np.ndarray, y: np.ndarray) -> None:
        assert self.w is not None, "setup() first"
        fx, fy = self._x(x), np.asarray(y)
        if self.buffer_size and self.buf_x is not None:
            fx, fy = np.vstack([fx, self.buf_x]), np.r_[fy, self.buf_y]
        onehot = np.eye(self.w.shape[1])[fy]
        for _ in range(self.epochs):
            order = self.rng.permutation(len(fx))
            for s in range(0, len(fx), self.batch):
                i = order[s : s + self.batch]
                z = fx[i] @ self.w
                p = np.exp(z - z.max(axis=1, keepdims=True))
                p /= p.sum(axis=1, keepdims=True)
                self.w -= self.lr * fx[i].T @ (p - onehot[i]) / len(i)
        if self.buffer_size:
            self._remember(self._x(x), np.asarray(y))

    def _remember(self, fx: np.ndarray, y: np.ndarray) -> None:
        xs = fx if self.buf_x is None else np.vstack([self.buf_x, fx])
        ys = y if self.buf_y is None else np.r_[self.buf_y, y]
        classes = np.unique(ys)
        per = max(1, self.buffer_size // len(classes))
        keep = np.concatenate(
            [self.rng.permutation(np.flatnonzero(ys == c))[:per] for c in classes]
        )
        self.buf_x, self.buf_y = xs[keep], ys[keep]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (N, C)."""
        assert self.w is not None, "setup() first"
        z = self._x(x) @ self.w
        p = np.exp(z - z.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)


class HttpLearner:
    def __init__(self, url: str) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.client = httpx.Client(timeout=300.0)

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        import httpx

        try:
            resp = self.client.post(self.url + path, json=body)
            resp.raise_for_status()
            return resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ModelError(f"{self.url}{path}: request failed ({exc})") from None

    def setup(self, n_classes: int, input_shape: Sequence[int], seed: int) -> None:
        self._post(
            "/setup", {"n_classes": n_classes, "input_shape": list(input_shape), "seed": seed}
        )

    def learn(self, x: np.ndarray, y: np.ndarray) -> None:
        self._post("/learn", {"x": x.tolist(), "y": np.asarray(y).tolist()})

    def predict(self, x: np.ndarray) -> np.ndarray:
        body = self._post("/predict", {"x": x.tolist()})
        if not isinstance(body, dict) or "labels" not in body:
            raise ModelError(f"{self.url}/predict: the answer has no 'labels'")
        return np.asarray(body["labels"])


class LearnerSubject:
    """`learner:naive`, `learner:replay`, `learner:FILE.py:CLASS` or `learner:http://...`."""

    def __init__(self, spec: SubjectSpec) -> None:
        self.spec = spec
        target = spec.raw.split(":", 1)[1]
        self.target = target
        if target in ("naive", "replay"):
            self._fp: dict[str, Any] = {"learner": target, "version": 1}
        elif target.startswith(("http://", "https://")):
            self._fp = {"learner": target}
        else:
            file, _, cls_name = target.rpartition(":")
            path = Path(file)
            if not file or not cls_name:
                raise SpecError(
                    f"subject {spec.raw!r}: unknown learner",
                    hint="learner:naive, learner:replay, learner:FILE.py:CLASS or learner:http://HOST:PORT",
                )
            if not path.is_file():
                raise ModelError(f"learner file {path} does not exist")
            from pingce.core.fingerprint import file_sha256

            self._fp = {"learner_source": file_sha256(path), "class": cls_name}
            mod_spec = importlib.util.spec_from_file_location(
                f"pingce_user_learner_{self._fp['learner_source'][:8]}", path
            )
            if mod_spec is None or mod_spec.loader is None:
                raise ModelError(f"{path}: not a Python file")
            module = importlib.util.module_from_spec(mod_spec)
            mod_spec.loader.exec_module(module)
            self.cls = getattr(module, cls_name, None)
            if self.cls is None:
                raise ModelError(f"{path}: has no class {cls_name!r}")

    def fingerprint(self) -> dict[str, Any]:
        return self._fp

    def settings(self) -> dict[str, Any]:
        return {"learner": self.target}

    def new(self) -> Any:
        if self.target == "naive":
            return SoftmaxLearner(buffer_size=0)
        if self.target == "replay":
            return SoftmaxLearner(buffer_size=200)
        if self.target.startswith(("http://", "https://")):
            return HttpLearner(self.target)
        return self.cls()


def _call(learner: Any, method: str, *args: Any) -> Any:
    """A learner's method; what it raises (a bug in the user's learner) is one ModelError."""
    try:
        return getattr(learner, method)(*args)
    except ModelError:
        raise
    except Exception as exc:
        text = str(exc).strip().splitlines()
        raise ModelError(
            f"the learner's {method}() raised {type(exc).__name__}: {text[0] if text else ''}"
        ) from None


def _accuracy(learner: Any, x: np.ndarray, y: np.ndarray) -> float:
    pred = np.asarray(_call(learner, "predict", x))
    if pred.ndim == 2:
        pred = pred.argmax(axis=1)
    if pred.shape != y.shape:
        raise ModelError(
            f"the learner predicted {pred.shape[0] if pred.ndim else 0} labels for {len(y)} images"
        )
    return float((pred == y).mean())


def run_stream(
    learner: Any, stream: Sequence[Experience], n_classes: int, seed: int
) -> dict[str, Any]:
    """Learn the experiences in order, evaluating on every experience's test set before any
    learning and after each experience. Returns the record data of one stream."""
    t = len(stream)
    if hasattr(learner, "setup"):
        _call(learner, "setup", n_classes, tuple(stream[0].train_x.shape[1:]), seed)
    initial = [_accuracy(learner, e.test_x, e.test_y) for e in stream]
    r = np.zeros((t, t))
    seconds = []
    for i, e in enumerate(stream):
        start = time.perf_counter()
        _call(learner, "learn", e.train_x, e.train_y)
        seconds.append(time.perf_counter() - start)
        r[i] = [_accuracy(learner, f.test_x, f.test_y) for f in stream]
    return {
        "matrix": r.tolist(),
        "initial": initial,
        "seconds": seconds,
        "classes": [list(e.classes) for e in stream],
        "n_train": [len(e.train_y) for e in stream],
        "n_test": [len(e.test_y) for e in stream],
    }


def _query(
    learner: Any, x: np.ndarray, k: int, strategy: str, rng: np.random.Generator
) -> tuple[np.ndarray, str]:
    """Indices of the `k` pool images to label: `random`, or `margin` (smallest top-1 minus
    top-2 score of the learner's current prediction; random when it predicts only labels)."""
    order = rng.permutation(len(x))
    if strategy == "margin":
        scores = np.asarray(_call(learner, "predict", x[order]))
        if scores.ndim == 2 and scores.shape[1] > 1:
            top = np.sort(scores, axis=1)
            margin = top[:, -1] - top[:, -2]
            return order[np.argsort(margin, kind="stable")[:k]], "margin"
        return order[:k], "random (the learner gives labels, not scores)"
    return order[:k], "random"


def budget_stream(
    learner: Any,
    stream: Sequence[Experience],
    n_classes: int,
    seed: int,
    budget: float,
    strategy: str,
) -> dict[str, Any]:
    """The stream learned with labels for only `budget` of each experience's training images,
    chosen by `strategy` from the experience's pool before it is learned (one query round)."""
    rng = np.random.default_rng(seed + 7919)
    if hasattr(learner, "setup"):
        _call(learner, "setup", n_classes, tuple(stream[0].train_x.shape[1:]), seed)
    labels = 0
    used = "random"
    for e in stream:
        k = max(1, int(round(budget * len(e.train_y))))
        idx, used = _query(learner, e.train_x, k, strategy, rng)
        _call(learner, "learn", e.train_x[idx], e.train_y[idx])
        labels += len(idx)
    final = [_accuracy(learner, e.test_x, e.test_y) for e in stream]
    return {
        "budget": budget,
        "strategy": strategy,
        "used": used,
        "labels": labels,
        "average_accuracy": float(np.mean(final)),
    }


def label_efficiency(
    curves: Sequence[Mapping[str, Any]], full_accuracy: float, strategy: str
) -> float:
    """Mean over budgets of average accuracy with that budget (by `strategy`) divided by the
    average accuracy with every label: the normalised area under the active-learning curve."""
    vals = [c["average_accuracy"] / full_accuracy for c in curves if c["strategy"] == strategy]
    return float(np.mean(vals)) if vals and full_accuracy > 0 else float("nan")


def continual_rows(
    spec: Mapping[str, Any], recs: Sequence[dict[str, Any]], seed: int
) -> tuple[dict[str, Any], list[Any]]:
    """Metric rows (mean over seeds, bootstrap CI over seeds) and the accuracy-matrix section."""
    from pingce.core.report.kit import HeatmapChart, MetricRow, Section, Table, rnd
    from pingce.vision.catalogue import BY_NAME

    rows: dict[str, Any] = {}
    for name in (
        *cl_metrics(np.eye(2), np.zeros(2)),
        "cl_label_efficiency",
        "cl_seconds_per_experience",
    ):
        items = [r["scores"][name] for r in recs if name in r["scores"]]
        items = [v for v in items if v is not None and np.isfinite(v)]
        if items:
            rows[name] = MetricRow.from_items(BY_NAME[name], items, seed=seed)
    mats = np.array([r["data"]["matrix"] for r in recs])
    mean = mats.mean(axis=0)
    t = mean.shape[0]
    labels = [f"exp {j}" for j in range(t)]
    tid = spec["id"]
    data0 = recs[0]["data"]
    section = Section(
        f"{tid}-matrix",
        f"{tid}: accuracy matrix ({spec.get('scenario', 'class-incremental')}, {len(recs)} seed(s))",
        "准确率矩阵",
        text=(
            "Row i: accuracy on every experience's test images after learning experience i (mean over seeds). "
            "Before any learning: "
            + ", ".join(str(rnd(v)) for v in np.mean([r["data"]["initial"] for r in recs], axis=0))
        ),
        table=Table(
            ["experience", "classes", "train images", "test images", "learn s (seed 1)"],
            [
                [
                    j,
                    " ".join(map(str, data0["classes"][j])),
                    data0["n_train"][j],
                    data0["n_test"][j],
                    rnd(data0["seconds"][j]),
                ]
                for j in range(t)
            ],
        ),
        charts=[
            HeatmapChart(
                "accuracy after learning (rows) on experience (columns)",
                labels,
                labels,
                [[rnd(v) for v in row] for row in mean],
            )
        ],
    )
    sections = [section]
    curves = [c for r in recs for c in r["data"].get("budgets") or []]
    if curves:
        from pingce.core.report.kit import LinesChart, LineSeries

        strategies = list(dict.fromkeys(c["strategy"] for c in curves))
        budgets = sorted({c["budget"] for c in curves})
        full = float(np.mean([r["scores"]["cl_average_accuracy"] for r in recs]))
        table, series = [], []
        for st in strategies:
            ys = []
            for b in budgets:
                sel = [c for c in curves if c["strategy"] == st and c["budget"] == b]
                acc = float(np.mean([c["average_accuracy"] for c in sel]))
                ys.append(rnd(acc))
                table.append(
                    [
                        st,
                        b,
                        int(np.mean([c["labels"] for c in sel])),
                        rnd(acc),
                        rnd(acc / full if full else None),
                        sel[0]["used"],
                    ]
                )
            series.append(LineSeries(st, [*budgets, 1.0], [*ys, rnd(full)]))
        sections.append(
            Section(
                f"{tid}-label-budget",
                f"{tid}: accuracy under an annotation budget (active-learning curves)",
                "标注预算下的准确率（主动学习曲线）",
                text=(
                    "Each budget: a new learner learns the same stream with labels for only that share of each experience's "
                    "training images, chosen before the experience is learned (one query round); 'vs all labels' = average "
                    f"accuracy / the stream's average accuracy with every label ({rnd(full)})."
                ),
                table=Table(
                    [
                        "strategy",
                        "budget",
                        "labels used",
                        "average accuracy",
                        "vs all labels",
                        "selection",
                    ],
                    table,
                ),
                charts=[
                    LinesChart(
                        "average accuracy by label budget",
                        series,
                        x_label="share of labels",
                        y_label="average accuracy",
                    )
                ],
            )
        )
    return rows, sections


def stream_scores(data: dict[str, Any]) -> dict[str, float]:
    m = cl_metrics(np.array(data["matrix"]), np.array(data["initial"]))
    m["cl_seconds_per_experience"] = float(np.mean(data["seconds"]))
    curves = data.get("budgets") or []
    if curves:
        m["cl_label_efficiency"] = label_efficiency(
            curves, m["cl_average_accuracy"], curves[0]["strategy"]
        )
    return m
