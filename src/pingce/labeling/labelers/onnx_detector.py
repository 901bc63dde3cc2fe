"""Any ONNX object detector, described by a small YAML file, as an auto-labeler.

Example (paths relative to the YAML)::

    model: detector.onnx
    classes: [circle, square, triangle]   # index = the model's label id
    input:
      name: image          # default: the model's first input
      size: [192, 256]     # [height, width] to resize to; omit to feed the image as it is
      layout: NCHW         # or NHWC
      dtype: float32       # or uint8
      channels: RGB        # or BGR
      scale: 0.00392156862745098   # pixels * scale, then (x - mean) / std per channel
      mean: [0, 0, 0]
      std: [1, 1, 1]
    outputs:
      boxes: boxes         # [N, 4] (a leading batch axis of 1 is dropped)
      scores: scores       # [N]; optional
      labels: labels       # [N] class index; optional when there is one class
      box_format: xyxy     # xyxy, xywh or cxcywh
      normalized: false    # true: coordinates are fractions of the model input size
    score_threshold: 0.25

Boxes are mapped from the model input size back to the image's own size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field

from pingce.core.errors import SpecError
from pingce.core.fingerprint import file_sha256
from pingce.core.spec import validate_params
from pingce.labeling.model import Annotation


class InputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    size: tuple[int, int] | None = None
    layout: Literal["NCHW", "NHWC"] = "NCHW"
    dtype: Literal["float32", "uint8"] = "float32"
    channels: Literal["RGB", "BGR"] = "RGB"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)


class OutputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    boxes: str
    scores: str | None = None
    labels: str | None = None
    box_format: Literal["xyxy", "xywh", "cxcywh"] = "xyxy"
    normalized: bool = False


class DetectorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str
    classes: list[str] = Field(min_length=1)
    input: InputSpec = InputSpec()
    outputs: OutputSpec
    score_threshold: float = 0.0
    threads: int = 1


class OnnxDetector:
    kind = "detection"

    def __init__(self, spec: DetectorSpec, base_dir: Path, source: str = "") -> None:
        from pingce.models.onnx_runtime import SessionError, ort_session

        self.spec = spec
        self.path = (base_dir / spec.model).resolve()
        if not self.path.is_file():
            raise SpecError(f"{source}: model: {self.path} does not exist")
        self.name = f"onnx:{self.path.name}"
        try:  # the one ONNX Runtime session factory (pingce.models)
            self.session = ort_session(self.path, threads=spec.threads, inter_op_threads=None)
        except SessionError as exc:
            raise SpecError(f"{source}: cannot load {self.path}: {exc.reason}") from None
        self.input_name = spec.input.name or self.session.get_inputs()[0].name
        names = {o.name for o in self.session.get_outputs()}
        for field_name in ("boxes", "scores", "labels"):
            out = getattr(spec.outputs, field_name)
            if out is not None and out not in names:
                raise SpecError(
                    f"{source}: outputs.{field_name}: the model has no output {out!r}",
                    hint=f"outputs: {sorted(names)}",
                )
        self.digest = file_sha256(self.path)

    @classmethod
    def from_yaml(cls, path: Path) -> OnnxDetector:
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SpecError(f"detector description {path} does not exist") from None
        except yaml.YAMLError as exc:
            raise SpecError(f"{path}: malformed YAML ({exc})") from None
        spec = validate_params(DetectorSpec, raw or {}, str(path))
        return cls(spec, path.parent, str(path))

    def categories(self) -> list[str]:
        return list(self.spec.classes)

    def fingerprint(self) -> dict[str, Any]:
        return {
            "labeler": "onnx",
            "model_sha256": self.digest,
            "spec": self.spec.model_dump(mode="json"),
        }

    def _prepare(self, rgb: np.ndarray) -> tuple[np.ndarray, float, float]:
        s = self.spec.input
        h, w = rgb.shape[:2]
        img = rgb
        if s.size is not None and (h, w) != tuple(s.size):
            from PIL import Image

            img = np.asarray(Image.fromarray(rgb).resize((s.size[1], s.size[0]), Image.BILINEAR))
        ih, iw = img.shape[:2]
        if s.channels == "BGR":
            img = img[..., ::-1]
        if s.dtype == "uint8":
            x = img.astype(np.uint8)
        else:
            x = (img.astype(np.float32) * s.scale - np.asarray(s.mean, np.float32)) / np.asarray(
                s.std, np.float32
            )
        x = x[None]
        if s.layout == "NCHW":
            x = x.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(x), w / iw, h / ih

    def label(self, key: str, path: Path, rgb: np.ndarray) -> list[Annotation]:
        o = self.spec.outputs
        x, sx, sy = self._prepare(rgb)
        names = [n for n in (o.boxes, o.scores, o.labels) if n]
        result = dict(zip(names, self.session.run(names, {self.input_name: x}), strict=True))
        boxes = np.asarray(result[o.boxes], dtype=np.float64).reshape(-1, 4)
        n = len(boxes)
        scores = np.asarray(result[o.scores]).reshape(-1) if o.scores else np.ones(n)
        labels = (
            np.asarray(result[o.labels]).reshape(-1).astype(int) if o.labels else np.zeros(n, int)
        )
        ih, iw = x.shape[2:4] if self.spec.input.layout == "NCHW" else x.shape[1:3]
        if o.normalized:
            boxes = boxes * np.asarray([iw, ih, iw, ih])
        if o.box_format == "xyxy":
            boxes = np.c_[boxes[:, :2], boxes[:, 2:] - boxes[:, :2]]
        elif o.box_format == "cxcywh":
            boxes = np.c_[boxes[:, :2] - boxes[:, 2:] / 2, boxes[:, 2:]]
        boxes = boxes * np.asarray([sx, sy, sx, sy])
        out = []
        for b, s, c in zip(boxes, scores, labels, strict=True):
            if float(s) < self.spec.score_threshold:
                continue
            label = self.spec.classes[c] if 0 <= c < len(self.spec.classes) else f"class_{c}"
            out.append(Annotation(key, label, tuple(float(v) for v in b), float(s)))  # type: ignore[arg-type]
        return out
