"""Text regions and transcriptions by RapidOCR (PP-OCRv4 detection and recognition models,
run by ONNX Runtime; the models ship inside the rapidocr-onnxruntime wheel, so this works
offline). Each detected line becomes a ``text`` box (the axis-aligned hull of the detector's
quadrilateral) with its transcription and recognition confidence as the score."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from pingce.core.errors import SpecError
from pingce.labeling.model import Annotation


class OcrLabeler:
    name = "ocr"
    kind = "detection"

    def __init__(
        self, threads: int = 2, det_limit_side_len: int = 736, unclip_ratio: float = 1.0
    ) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError:
            raise SpecError(
                "the ocr labeler needs rapidocr-onnxruntime",
                hint="pip install rapidocr-onnxruntime (it ships its PP-OCR models)",
            ) from None
        self.threads = threads
        self.det_limit_side_len = det_limit_side_len
        # 1.0 keeps boxes near the ink (PP-OCR pads them by 1.6x by default, which halves the
        # IoU with a tight text-line box).
        self.unclip_ratio = unclip_ratio
        # limit_type "max": downscale only images larger than the limit; the default ("min")
        # upscales every small image to 736 px and makes detection several times slower.
        self.engine = RapidOCR(
            det_limit_side_len=det_limit_side_len,
            det_limit_type="max",
            use_cls=False,
            intra_op_num_threads=threads,
            inter_op_num_threads=1,
        )

    def categories(self) -> list[str]:
        return ["text"]

    def fingerprint(self) -> dict[str, Any]:
        import rapidocr_onnxruntime

        models = Path(rapidocr_onnxruntime.__file__).parent / "models"
        digest = hashlib.sha256()
        for f in sorted(models.glob("*.onnx")):
            digest.update(f.name.encode())
            digest.update(str(f.stat().st_size).encode())
        return {
            "labeler": "ocr",
            "models": digest.hexdigest()[:16],
            "det_limit_side_len": self.det_limit_side_len,
            "unclip_ratio": self.unclip_ratio,
        }

    def label(self, key: str, path: Path, rgb: np.ndarray) -> list[Annotation]:
        # RapidOCR takes OpenCV's BGR channel order for arrays.
        result, _ = self.engine(
            np.ascontiguousarray(rgb[..., ::-1]), use_cls=False, unclip_ratio=self.unclip_ratio
        )
        out = []
        for quad, text, score in result or []:
            xs = [p[0] for p in quad]
            ys = [p[1] for p in quad]
            x0, y0 = max(0.0, min(xs)), max(0.0, min(ys))
            bbox = (float(x0), float(y0), float(max(xs) - x0), float(max(ys) - y0))
            out.append(Annotation(key, "text", bbox, round(float(score), 4), text=str(text)))
        return out
