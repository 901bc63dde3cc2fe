"""A classical detector for pingce's synthetic shapes (OpenCV contours, no learning).

Shapes are saturated colours on a low-saturation background: threshold HSV saturation and
value, take external contours, and classify each by its polygon approximation and how much of
its bounding box it fills (triangle ~0.5, circle ~0.785, square ~1). The box is OpenCV's
``boundingRect`` (pixel extent, the same convention as the generator's gold boxes); the score
is how close the fill ratio is to the chosen class's ideal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pingce.labeling.model import Annotation

IDEAL_FILL = {"triangle": 0.5, "circle": np.pi / 4, "square": 1.0}
VERSION = "1"


class ShapeDetector:
    name = "shapes"
    kind = "detection"

    def __init__(self, min_saturation: int = 110, min_value: int = 60, min_area: int = 40) -> None:
        self.min_saturation = min_saturation
        self.min_value = min_value
        self.min_area = min_area

    def categories(self) -> list[str]:
        return list(IDEAL_FILL)

    def fingerprint(self) -> dict[str, Any]:
        import cv2

        return {
            "labeler": "shapes",
            "version": VERSION,
            "opencv": cv2.__version__,
            "min_saturation": self.min_saturation,
            "min_value": self.min_value,
            "min_area": self.min_area,
        }

    def label(self, key: str, path: Path, rgb: np.ndarray) -> list[Annotation]:
        import cv2

        hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
        mask = ((hsv[..., 1] >= self.min_saturation) & (hsv[..., 2] >= self.min_value)).astype(
            np.uint8
        )
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        out = []
        for c in contours:
            x, y, w, h = cv2.boundingRect(c)
            filled = int(mask[y : y + h, x : x + w].sum())
            if filled < self.min_area:
                continue
            fill = filled / float(w * h)
            approx = cv2.approxPolyDP(c, 0.04 * cv2.arcLength(c, True), True)
            if len(approx) == 3 or fill < 0.64:
                label = "triangle"
            elif len(approx) == 4 and fill > 0.9:
                label = "square"
            else:
                label = "circle"
            score = max(0.0, 1.0 - abs(fill - IDEAL_FILL[label]) * 2)
            out.append(
                Annotation(key, label, (float(x), float(y), float(w), float(h)), round(score, 4))
            )
        return out
