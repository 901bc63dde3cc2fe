"""Subjects of the labeling standard: labels another tool produced, or an auto-labeler
pingce runs on the images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pingce.core.errors import DataError, SpecError
from pingce.core.fingerprint import path_digest
from pingce.core.spec import SubjectSpec
from pingce.labeling.formats import read_labels
from pingce.labeling.model import LabelSet


class LabelsSubject:
    """Labels someone else produced, read from a file or folder."""

    def __init__(self, spec: SubjectSpec) -> None:
        self.path = Path(spec.target)
        if not self.path.exists():
            raise DataError(f"predicted labels {self.path} do not exist")
        self.format = spec.params.get("format", "auto")
        self.which = spec.params.get("which", "predictions")
        if self.which not in ("predictions", "annotations"):
            raise SpecError(f"subject {spec.raw!r}: which must be predictions or annotations")
        self.digest = path_digest(self.path)
        self.labeler = None

    def fingerprint(self) -> dict[str, Any]:
        return {"labels": self.digest, "format": self.format, "which": self.which}

    def settings(self) -> dict[str, Any]:
        return {"pred": str(self.path), "pred_format": self.format}

    def read(self, images: Path | None, reference: LabelSet) -> LabelSet:
        return read_labels(
            self.path, self.format, images_dir=images, reference=reference, which=self.which
        )


class LabelerSubject:
    """An auto-labeler that pingce runs on every image."""

    def __init__(self, spec: SubjectSpec, options: dict[str, Any]) -> None:
        from pingce.labeling.labelers.base import resolve_labeler

        target = spec.raw.split(":", 1)[1]
        self.labeler = resolve_labeler(target, options)
        self._fp = self.labeler.fingerprint()

    def fingerprint(self) -> dict[str, Any]:
        return self._fp

    def settings(self) -> dict[str, Any]:
        return {"labeler": self.labeler.name}
