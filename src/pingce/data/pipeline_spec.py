"""The pipeline YAML: input, output, and an ordered list of operators.

```yaml
input:  {path: raw/*.jsonl.gz, text_field: text}
output: {path: clean/, format: jsonl.zst, max_docs_per_file: 100000}
operators:
  - fix_encoding
  - normalize: {form: NFKC}
  - language: {keep: [en, zh], threshold: 0.5}
  - gopher_quality: {}
  - minhash_dedup: {ngram: 5, permutations: 112, bands: 14}
```

Each operator entry is a name, or a one-key mapping `name: {params}`; parameters are checked by
the operator's own pydantic model, so an error names the file, the operator and the field.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pingce.core.errors import SpecError
from pingce.core.spec import format_validation_error
from pingce.core.yaml_file import read_yaml
from pingce.data.io.readers import InputSpec
from pingce.data.io.writers import OutputSpec
from pingce.data.operators.base import Operator, build_operator


class PipelineSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input: InputSpec
    output: OutputSpec
    operators: list[str | dict[str, Any]] = Field(default_factory=list)
    audit: bool = True  # write removed documents with their reasons to OUTPUT/audit/
    workers: int = Field(default=1, ge=1)
    batch_size: int = Field(default=1000, ge=1)


@dataclass(frozen=True)
class OperatorEntry:
    name: str
    params: dict[str, Any]
    label: str  # unique within the pipeline: "gopher_quality", "gopher_quality#2"


@dataclass(frozen=True)
class Pipeline:
    spec: PipelineSpec
    entries: tuple[OperatorEntry, ...]
    source: str
    base_dir: Path

    def sha256(self) -> str:
        body = {
            "input": self.spec.input.model_dump(mode="json"),
            "output": self.spec.output.model_dump(mode="json"),
            "operators": [[e.name, e.params] for e in self.entries],
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()

    def build(self) -> list[Operator]:
        ops = []
        for e in self.entries:
            op = build_operator(e.name, e.params, f"{self.source}: operators.{e.label}")
            op.label = e.label
            op.stats.name = e.label
            ops.append(op)
        return ops

    def resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p


def parse_entries(raw: list[str | dict[str, Any]], source: str) -> tuple[OperatorEntry, ...]:
    entries: list[OperatorEntry] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        if isinstance(item, str):
            name, params = item, {}
        elif isinstance(item, dict) and len(item) == 1:
            name, params = next(iter(item.items()))
            params = params or {}
            if not isinstance(params, dict):
                raise SpecError(f"{source}: operators[{i}].{name}: parameters must be a mapping")
        else:
            raise SpecError(
                f"{source}: operators[{i}]: expected an operator name or a one-key mapping name: {{params}}"
            )
        seen[name] = seen.get(name, 0) + 1
        label = name if seen[name] == 1 else f"{name}#{seen[name]}"
        entries.append(OperatorEntry(str(name), dict(params), label))
    return tuple(entries)


def pipeline_from_dict(raw: Any, source: str, base_dir: Path) -> Pipeline:
    if not isinstance(raw, dict):
        raise SpecError(f"{source}: expected a mapping with input, output and operators")
    try:
        spec = PipelineSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(format_validation_error(source, exc, PipelineSpec)) from None
    pipe = Pipeline(spec, parse_entries(spec.operators, source), source, base_dir.resolve())
    pipe.build()  # validates every operator's name and parameters now, before any work
    return pipe


def load_pipeline(path: str | Path) -> Pipeline:
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"pipeline file {str(path)!r} does not exist")
    raw = read_yaml(p)  # bounded: nested aliases in an untrusted file cannot blow up
    return pipeline_from_dict(raw, str(p), p.parent)
