"""Where a benchmark task's rows come from: the official release on disk or the hub copy.

    dataset: {path: data/mmlu, split: test, fewshot_split: dev, subjects: [astronomy]}
    dataset: {hub: cais/mmlu, config: all, split: test, fewshot_split: dev}

`path` is the release folder (or one file of it), relative to the suite file; `hub` is a
Hugging Face dataset id (needs network) or a local file/folder in the hub copy's schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from pingce.core.errors import DataError
from pingce.core.fingerprint import content_hash
from pingce.core.registry import loaders
from pingce.llm.benchmarks import readers as r

Row = dict[str, Any]


@dataclass(frozen=True)
class Benchmark:
    name: str
    read: Callable[..., list[Row]]  # (path, split, subjects) -> rows
    hub_id: str | None = None
    hub_config: str | None = None
    from_hub: Callable[[Iterable[Row]], list[Row]] | None = None
    default_split: str = "test"


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("mmlu", r.read_mmlu, "cais/mmlu", "all", r.hub_mmlu),
        Benchmark("cmmlu", r.read_cmmlu, "haonan-li/cmmlu", None, None),
        Benchmark("ceval", r.read_ceval, "ceval/ceval-exam", None, None, "val"),
        Benchmark("gsm8k", r.read_gsm8k, "openai/gsm8k", "main", r.hub_gsm8k),
        Benchmark("math500", r.read_math500, "HuggingFaceH4/MATH-500", None, r.hub_math500),
        Benchmark("arc", r.read_arc, "allenai/ai2_arc", "ARC-Challenge", r.hub_arc),
        Benchmark("hellaswag", r.read_hellaswag, "Rowan/hellaswag", None, r.hub_hellaswag, "val"),
        Benchmark(
            "truthfulqa",
            r.read_truthfulqa,
            "truthfulqa/truthful_qa",
            "multiple_choice",
            r.hub_truthfulqa,
            "validation",
        ),
        Benchmark("humaneval", r.read_humaneval, "openai/openai_humaneval", None, r.hub_humaneval),
        Benchmark("mbpp", r.read_mbpp, "google-research-datasets/mbpp", "full", r.hub_mbpp),
        Benchmark("agieval", r.read_agieval),
        Benchmark("c3", r.read_c3, "dataset-org/c3", "mixed", r.hub_c3, "dev"),
    )
}


class BenchmarkDataset(BaseModel):
    """A benchmark task's data: exactly one of `path` (release layout) or `hub`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str | None = None
    hub: str | None = None
    config: str | None = None  # hub configuration (defaults to the benchmark's usual one)
    split: str | None = None  # defaults to the benchmark's usual evaluation split
    subjects: list[str] | None = None  # MMLU/CMMLU/C-Eval subjects, AGIEval tasks
    fewshot_split: str | None = None  # e.g. dev (MMLU, C-Eval, CMMLU), train (GSM8K)

    @model_validator(mode="after")
    def _one_source(self) -> BenchmarkDataset:
        if (self.path is None) == (self.hub is None):
            raise ValueError("give exactly one of path (release folder/file) or hub (dataset id)")
        return self


def _hub_rows(bench: Benchmark, spec: BenchmarkDataset, split: str, base_dir: Path) -> list[Row]:
    if bench.from_hub is None:
        raise DataError(
            f"{bench.name}: no hub reader; the hub copy differs from the release",
            hint="download the official release and give dataset.path",
        )
    local = Path(spec.hub or "").expanduser()
    local = local if local.is_absolute() else base_dir / local
    target: Any = local if local.exists() else spec.hub
    rows = loaders.get("hf")(target, split=split, name=spec.config or bench.hub_config)
    return bench.from_hub(rows)


def load_benchmark(
    bench_name: str, spec: BenchmarkDataset, base_dir: Path, split: str | None = None
) -> list[Row]:
    """Rows of one split of a benchmark, read from its release layout or hub copy."""
    bench = BENCHMARKS[bench_name]
    split = split or spec.split or bench.default_split
    if spec.hub is not None:
        rows = _hub_rows(bench, spec, split, base_dir)
        if spec.subjects is not None:
            rows = [row for row in rows if row.get("subject") in set(spec.subjects)]
    else:
        path = Path(spec.path or "").expanduser()
        path = path if path.is_absolute() else base_dir / path
        if not path.exists():
            raise DataError(f"{bench_name} data {path} does not exist")
        rows = bench.read(path, split, spec.subjects)
    if not rows:
        raise DataError(f"{bench_name}: split {split!r} of {spec.path or spec.hub} has no rows")
    return rows


def load_benchmark_task_rows(
    bench_name: str, spec: BenchmarkDataset, base_dir: Path
) -> tuple[list[Row], list[Row], dict[str, Any]]:
    """(evaluation rows, few-shot rows, provenance hashes)."""
    rows = load_benchmark(bench_name, spec, base_dir)
    shots = (
        load_benchmark(bench_name, spec, base_dir, spec.fewshot_split) if spec.fewshot_split else []
    )
    prov = {
        "benchmark": bench_name,
        "source": spec.path or f"hub:{spec.hub}",
        "dataset_sha256": content_hash(rows, length=64),
        "fewshot_sha256": content_hash(shots, length=64) if shots else None,
        "rows": len(rows),
    }
    return rows, shots, prov


def _register_loader(bench: Benchmark) -> None:
    """Also usable as `dataset: {format: <name>}` once DatasetSpec accepts registered loaders."""

    def load(path: Path, split: str | None = None, name: str | None = None, **_: Any) -> list[Row]:
        subjects = [s.strip() for s in name.split(",")] if name else None
        return bench.read(Path(path), split or bench.default_split, subjects)

    load.__doc__ = f"{bench.name} in its official release layout (name: comma-separated subjects)."
    if not loaders.has_loaded(bench.name):
        loaders.register(bench.name, load)


def register_loaders() -> None:
    for bench in BENCHMARKS.values():
        _register_loader(bench)
