"""The contract an auto-labeler meets, and how a spec string names one.

Specs: ``shapes`` (classical shape detector), ``ocr`` (RapidOCR text regions),
``reference`` (both), ``onnx:DETECTOR.yaml`` (any ONNX detector described by a YAML file),
``http://HOST:PORT`` (a Label Studio ML backend).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pingce.core.errors import SpecError
from pingce.labeling.model import Annotation


class Labeler(Protocol):
    name: str
    kind: str  # "detection" or "classification"

    def categories(self) -> list[str]: ...

    def fingerprint(self) -> dict[str, Any]:
        """What identifies this labeler's output (model hashes, settings)."""
        ...

    def label(self, key: str, path: Path, rgb: np.ndarray) -> list[Annotation]:
        """Labels for one image (`key` its file name, `rgb` its decoded (H, W, 3) pixels)."""
        ...


class CombinedLabeler:
    """Several labelers on the same image; their annotations concatenated."""

    kind = "detection"

    def __init__(self, name: str, parts: list[Labeler]) -> None:
        self.name = name
        self.parts = parts

    def categories(self) -> list[str]:
        return [c for p in self.parts for c in p.categories()]

    def fingerprint(self) -> dict[str, Any]:
        return {p.name: p.fingerprint() for p in self.parts}

    def label(self, key: str, path: Path, rgb: np.ndarray) -> list[Annotation]:
        return [a for p in self.parts for a in p.label(key, path, rgb)]


def resolve_labeler(spec: str, options: dict[str, Any] | None = None) -> Labeler:
    """A labeler from its spec string (see module docstring)."""
    options = options or {}
    if spec == "shapes":
        from pingce.labeling.labelers.shapes import ShapeDetector

        return ShapeDetector()
    if spec in ("ocr", "reference"):
        from pingce.labeling.labelers.ocr import OcrLabeler

        ocr = OcrLabeler(threads=int(options.get("threads") or 2))
        if spec == "ocr":
            return ocr
        from pingce.labeling.labelers.shapes import ShapeDetector

        return CombinedLabeler("reference", [ShapeDetector(), ocr])
    if spec.startswith("onnx:"):
        from pingce.labeling.labelers.onnx_detector import OnnxDetector

        return OnnxDetector.from_yaml(Path(spec[5:]))
    if spec.startswith(("http://", "https://")):
        from pingce.labeling.labelers.http_backend import LabelStudioBackend

        return LabelStudioBackend(spec, timeout_s=float(options.get("timeout_s") or 30))
    raise SpecError(
        f"unknown labeler {spec!r}",
        hint="use shapes, ocr, reference, onnx:DETECTOR.yaml or http://HOST:PORT (Label Studio ML backend)",
    )
