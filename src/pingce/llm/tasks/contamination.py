"""Contamination check of a benchmark's items: n-gram overlap with a corpus, min-k% probability.

    - id: mmlu-contamination
      type: contamination
      dimension: safety
      dataset: {path: data/knowledge_mc.jsonl}
      text: "{{ question }} {{ choices | join(' ') }}"   # what of an item is checked
      corpus: [/data/pretrain/part-0001.jsonl.gz, /data/pretrain/web.txt]
      corpus_field: text        # JSONL corpora: the field holding the text
      ngram: 13
      flag_overlap: 0.0         # flag items with overlap above this share (0: any n-gram)
      min_k_percent: 20         # min-k% probability from the model (null: do not ask it)
      min_k_threshold: null     # also flag items whose min-k% probability exceeds this

The corpus is scanned once per run, streamed (see `pingce.llm.contamination`); record keys
include its identity (size, modification time and hashes of its first and last MiB), so a
changed corpus is scanned again on resume.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pingce.backends.base import LanguageModel
from pingce.core.errors import SpecError
from pingce.core.execute import Outcome, WorkUnit
from pingce.core.fingerprint import content_hash
from pingce.core.spec import Suite, TaskSpec, validate_params
from pingce.llm.contamination import NgramIndex, corpus_fingerprint, min_k_percent, token_logprobs
from pingce.llm.datasets import DatasetSpec, load_task_rows
from pingce.llm.prompts import compile_template, render
from pingce.llm.task_types import llm_task_type


class ContaminationParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: DatasetSpec
    text: str = "{{ question }}"
    id_field: str = "id"
    corpus: list[str] = Field(default_factory=list)
    corpus_field: str = "text"
    ngram: int = Field(default=13, ge=1, le=64)
    flag_overlap: float = Field(default=0.0, ge=0.0, le=1.0)
    min_k_percent: float | None = Field(default=20.0, gt=0.0, le=100.0)
    min_k_threshold: float | None = None
    metrics: list[str] | None = None
    primary_metric: str | None = None


CONTAMINATION_METRICS = ("contaminated", "ngram_overlap", "min_k_prob")


@llm_task_type("contamination")
class ContaminationTask:
    type_name = "contamination"
    allowed_metrics = CONTAMINATION_METRICS
    default_metrics = ("contaminated", "ngram_overlap")

    def __init__(self, spec: TaskSpec, suite: Suite) -> None:
        self.spec = spec
        self.suite = suite
        self.where = f"{suite.source}: tasks.{spec.id}"
        self.params = validate_params(ContaminationParams, spec.params, self.where)
        p = self.params
        try:
            compile_template(p.text)
        except SpecError as exc:
            raise SpecError(f"{self.where}.text: {exc.message}", hint=exc.hint) from None
        if not p.corpus and p.min_k_percent is None:
            raise SpecError(f"{self.where}: give a corpus, min_k_percent, or both")
        names = p.metrics or list(self.default_metrics)
        for name in names:
            if name not in CONTAMINATION_METRICS:
                raise SpecError(f"{self.where}.metrics: {name!r} is not a contamination metric")
        if "min_k_prob" in names and p.min_k_percent is None:
            raise SpecError(f"{self.where}.metrics: min_k_prob needs min_k_percent")
        self._metrics = names
        self._found: set[int] | None = None
        self.provenance: dict[str, Any] = {}

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def metric_names(self) -> list[str]:
        return list(self._metrics)

    def _corpus_paths(self) -> list[Path]:
        base = self.suite.base_dir
        return [
            Path(c).expanduser() if Path(c).expanduser().is_absolute() else base / c
            for c in self.params.corpus
        ]

    def prepare(self, settings: Any) -> list[tuple[str, int, dict[str, Any]]]:
        cached = getattr(self, "_prepared", None)
        if cached is not None and cached[0] == settings:
            return list(cached[1])
        p = self.params
        rows, _ = load_task_rows(p.dataset, self.suite.base_dir)
        if settings.limit is not None:
            rows = rows[: settings.limit]
        corpus = corpus_fingerprint(self._corpus_paths())
        self.provenance = {"dataset_sha256": content_hash(rows, length=64), "corpus": corpus}
        samples = []
        for position, row in enumerate(rows):
            sample_id = str(row.get(p.id_field, position))
            where = f"{p.dataset.path}: row {position + 1} (id {sample_id})"
            payload = {
                "text": render(p.text, row, where),
                "corpus": corpus,
                "ngram": p.ngram,
                "min_k_percent": p.min_k_percent,
            }
            samples.append((sample_id, position, payload))
        self._prepared = (settings, samples)
        return samples

    def units(self, settings: Any, subject_fp: dict[str, Any]) -> list[WorkUnit]:
        return [
            WorkUnit(
                key=content_hash(subject_fp, self.id, self.type_name, sample_id, payload),
                sample_id=sample_id,
                position=position,
                payload=payload,
            )
            for sample_id, position, payload in self.prepare(settings)
        ]

    def _corpus_hits(self) -> set[int]:
        """Every item's n-grams found in the corpus: one streamed pass, once per run."""
        if self._found is None:
            texts = [payload["text"] for _, _, payload in self._prepared[1]]
            index = NgramIndex(texts, self.params.ngram)
            self._found = index.scan(self._corpus_paths(), self.params.corpus_field)
        return self._found

    def process(self, lm: LanguageModel, units: list[WorkUnit]) -> list[Outcome]:
        p = self.params
        texts = [u.payload["text"] for u in units]
        overlaps: list[float | None] = [None] * len(units)
        if p.corpus:
            found = self._corpus_hits()
            overlaps = list(NgramIndex(texts, p.ngram).overlap(found))
        min_k: list[float | None] = [None] * len(units)
        if p.min_k_percent is not None:
            min_k = [min_k_percent(lps, p.min_k_percent) for lps in token_logprobs(lm, texts)]
        outcomes = []
        for text, ov, mk in zip(texts, overlaps, min_k, strict=True):
            by_overlap = ov is not None and ov > p.flag_overlap
            by_min_k = mk is not None and p.min_k_threshold is not None and mk > p.min_k_threshold
            values = {
                "contaminated": float(by_overlap or by_min_k),
                "ngram_overlap": ov if ov is not None else 0.0,
                "min_k_prob": mk,
            }
            data = {
                "prompt": text,
                "output": "",
                "extracted": None,
                "reference": "",
                "ngram_overlap": ov,
                "min_k_prob": mk,
                "flag_reasons": [r for r, on in (("ngram", by_overlap), ("min_k", by_min_k)) if on],
                "usage": {"tokens_in": 0, "tokens_out": 0, "requests": 0, "seconds": 0.0},
            }
            outcomes.append(Outcome(scores={m: values[m] for m in self._metrics}, data=data))
        return outcomes

    def run(self, lm: LanguageModel, units: list[WorkUnit]) -> list[Outcome]:
        return self.process(lm, units)
