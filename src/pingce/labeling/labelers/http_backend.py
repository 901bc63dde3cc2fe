"""Any labeling service speaking Label Studio's ML-backend protocol, as an auto-labeler.

pingce sends ``POST {url}/predict`` with ``{"tasks": [{"id", "data": {"image": REF}}],
"label_config": ..., "project": "pingce", "params": {}}`` and reads the ``results`` list of
the reply (one prediction per task: ``{"result": [regions...], "score", "model_version"}``;
a bare list is accepted from older backends). Regions are Label Studio's, in percent of the
image size. ``REF`` is the image's absolute path, or ``image_url_prefix + file name`` when the
backend reaches the images over HTTP. ``GET {url}/health`` is checked once at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np

from pingce.core.errors import PingceError, SpecError
from pingce.labeling.formats.labelstudio import _read_results
from pingce.labeling.model import Annotation, ImageInfo, LabelSet


class BackendError(PingceError):
    """The labeling service failed or answered something that is not a prediction."""


class LabelStudioBackend:
    kind = "detection"

    def __init__(
        self,
        url: str,
        timeout_s: float = 30.0,
        image_url_prefix: str | None = None,
        labels: list[str] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.name = f"ls-backend:{self.url}"
        self.image_url_prefix = image_url_prefix
        self.labels = labels or []
        self.client = httpx.Client(timeout=timeout_s, trust_env=False)
        try:
            health = self.client.get(f"{self.url}/health")
        except httpx.HTTPError as exc:
            raise SpecError(f"labeling service {self.url} is not reachable ({exc})") from None
        if health.status_code != 200:
            raise SpecError(
                f"labeling service {self.url}/health answered HTTP {health.status_code}"
            )
        info = (
            health.json()
            if health.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        self.model_version = str(info.get("model_version") or info.get("model_class") or "")
        self._seen: list[str] = []
        self._next_id = 1

    def categories(self) -> list[str]:
        return list(self.labels or self._seen)

    def fingerprint(self) -> dict[str, Any]:
        return {"labeler": "ls-backend", "url": self.url, "model_version": self.model_version}

    def _label_config(self) -> str:
        labels = "".join(f'<Label value="{c}"/>' for c in self.labels)
        return (
            '<View><Image name="image" value="$image"/>'
            f'<RectangleLabels name="label" toName="image">{labels}</RectangleLabels></View>'
        )

    def label(self, key: str, path: Path, rgb: np.ndarray) -> list[Annotation]:
        ref = (
            f"{self.image_url_prefix}{key}" if self.image_url_prefix else str(Path(path).resolve())
        )
        task = {"id": self._next_id, "data": {"image": ref}}
        self._next_id += 1
        body = {
            "tasks": [task],
            "label_config": self._label_config(),
            "project": "pingce",
            "params": {},
        }
        try:
            resp = self.client.post(f"{self.url}/predict", json=body)
        except httpx.HTTPError as exc:
            raise BackendError(f"labeling service {self.url}: {exc}") from None
        if resp.status_code != 200:
            raise BackendError(
                f"labeling service {self.url}/predict answered HTTP {resp.status_code}: {resp.text[:200]}"
            )
        try:
            data = resp.json()
        except ValueError:
            raise BackendError(f"labeling service {self.url}/predict did not answer JSON") from None
        results = data.get("results") if isinstance(data, dict) else data
        if not isinstance(results, list):
            raise BackendError(
                f"labeling service {self.url}/predict: no 'results' list in the reply"
            )
        h, w = rgb.shape[:2]
        ls = LabelSet(source=f"{self.url}/predict")
        info = ls.add_image(ImageInfo(key, key, w, h))
        if results:
            _read_results(ls, info, results[0], "predictions")
        for c in ls.categories:
            if c not in self._seen:
                self._seen.append(c)
        if ls.problems:
            raise BackendError(f"labeling service {self.url}: {ls.problems[0].detail}")
        return ls.annotations
