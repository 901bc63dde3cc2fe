"""What a kg run evaluates: a system's extracted triples or a graph (a model subject comes
from the shared backends)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pingce.core.fingerprint import path_digest
from pingce.core.spec import SubjectSpec


class PredictionsSubject:
    """A system's extracted triples (``triples:PATH``)."""

    def __init__(self, spec: SubjectSpec) -> None:
        from pingce.kg.readers import read_predictions

        self.path = Path(spec.target)
        self.format = spec.params.get("format", "auto")
        self.predictions = read_predictions(self.path, self.format)
        self._digest = path_digest(self.path)

    def fingerprint(self) -> dict[str, Any]:
        return {"predictions": self._digest, "format": self.format}

    def settings(self) -> dict[str, Any]:
        return {
            "predictions": str(self.path),
            "format": self.predictions.format,
            "texts": len(self.predictions.items),
            "triples": self.predictions.n_triples(),
            "pooled_triples": len(self.predictions.pooled),
        }


class GraphSubject:
    """A knowledge graph in an RDF file (``graph:PATH``)."""

    def __init__(self, spec: SubjectSpec) -> None:
        from pingce.kg.quality import load_graph

        self.path = Path(spec.target)
        self.graph = load_graph(self.path)
        self._digest = path_digest(self.path)

    def fingerprint(self) -> dict[str, Any]:
        return {"graph": self._digest}

    def settings(self) -> dict[str, Any]:
        return {"graph": str(self.path), "triples": len(self.graph)}
