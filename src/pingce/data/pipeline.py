"""Run a pipeline over shards: local processes, resumable per shard, memory bounded per batch.

The operator list is cut at each global operator (dedup) into segments. Segment k runs, for
every shard in parallel: [apply the previous segment's dedup decision] -> map operators ->
either the final writer or an intermediate shard file plus the next dedup's shard summary.
Between segments the parent process reads the summaries and decides (clusters) over the whole
corpus. A shard task is finished when its `.stats.json` exists (written last, atomically), so
a crashed or interrupted run resumes by shard; a finished pipeline leaves `stats.json` with the
funnel (documents in, kept, removed by reason, seconds per operator) and the input problems.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from pingce.core.errors import SpecError
from pingce.core.paths import (
    OUTPUT_MARKER,
    check_not_input,
    is_pingce_output,
    prepare_output_dir,
)
from pingce.data.document import Document
from pingce.data.io.readers import InputProblem, Shard, list_shards, problem_dict, read_shard
from pingce.data.io.writers import ShardWriter, open_out, remove_shard_outputs
from pingce.data.operators.base import GlobalOperator, Operator, OpStats
from pingce.data.pipeline_spec import Pipeline, pipeline_from_dict

WORK_DIR = ".pingce-work"
STATE_FILE = "_pipeline.json"
STATS_FILE = "stats.json"
PROBLEMS_IN_STATS = 200


def segments(ops: list[Operator]) -> list[tuple[list[int], int | None]]:
    """[(map operator indices, closing global operator index or None)]."""
    out: list[tuple[list[int], int | None]] = []
    maps: list[int] = []
    for i, op in enumerate(ops):
        if isinstance(op, GlobalOperator):
            out.append((maps, i))
            maps = []
        else:
            maps.append(i)
    out.append((maps, None))
    return out


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _atomic_json(path: Path, obj: Any) -> None:
    _atomic_write_bytes(path, json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8"))


@dataclass(frozen=True)
class ShardTask:
    raw: dict[str, Any]  # the pipeline spec, rebuilt in the worker
    source: str
    base_dir: str
    segment: int
    shard: Shard
    out_dir: str


_CACHE: dict[str, tuple[Pipeline, list[Operator]]] = {}


def _pipeline_in_worker(task: ShardTask) -> tuple[Pipeline, list[Operator]]:
    key = json.dumps([task.raw, task.source, task.base_dir], sort_keys=True, default=str)
    if key not in _CACHE:
        pipe = pipeline_from_dict(task.raw, task.source, Path(task.base_dir))
        _CACHE.clear()
        _CACHE[key] = (pipe, pipe.build())
    pipe, ops = _CACHE[key]
    for op in ops:  # counters are per task; the parent sums them
        op.stats = OpStats(op.label)
    return pipe, ops


def _stage_dir(out_dir: Path, k: int) -> Path:
    return out_dir / WORK_DIR / f"segment-{k}"


def _read_intermediate(path: Path) -> Iterator[Document]:
    from pingce.data.io.readers import _open_binary

    with _open_binary(str(path)) as fh:
        for line in fh:
            yield Document.from_dict(json.loads(line))


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_shard(task: ShardTask) -> dict[str, Any]:
    """Process one shard of one segment; returns (and stores) its counters."""
    pipe, ops = _pipeline_in_worker(task)
    out_dir = Path(task.out_dir)
    k, i = task.segment, task.shard.index
    segs = segments(ops)
    maps, glob_idx = segs[k]
    prev = ops[segs[k - 1][1]] if k > 0 else None  # type: ignore[index]
    stage = _stage_dir(out_dir, k)
    stage.mkdir(parents=True, exist_ok=True)
    audit_dir = out_dir / "audit"
    audit_dir.mkdir(parents=True, exist_ok=True)

    reader: dict[str, Any] = {"documents": 0, "problems": Counter(), "first_problems": []}
    problems_path = audit_dir / f"problems-{i:05d}.jsonl"
    problems_fh = None

    def source() -> Iterator[Document]:
        nonlocal problems_fh
        if k == 0:
            for item in read_shard(task.shard, pipe.spec.input):
                if isinstance(item, InputProblem):
                    reader["problems"][item.kind] += 1
                    if len(reader["first_problems"]) < PROBLEMS_IN_STATS:
                        reader["first_problems"].append(problem_dict(item))
                    if problems_fh is None:
                        problems_fh = open(  # noqa: SIM115 - closed after the loop
                            problems_path.with_name(problems_path.name + ".tmp"),
                            "w",
                            encoding="utf-8",
                        )
                    problems_fh.write(json.dumps(problem_dict(item), ensure_ascii=False) + "\n")
                else:
                    reader["documents"] += 1
                    yield item
        elif k == 1 and not segs[0][0]:
            # Segment 0 had no map operator, so it wrote no copy: read the input again.
            for item in read_shard(task.shard, pipe.spec.input):
                if not isinstance(item, InputProblem):  # problems were counted in segment 0
                    yield item
        else:
            yield from _read_intermediate(_stage_dir(out_dir, k - 1) / f"shard-{i:05d}.jsonl.zst")

    decision: dict[int, Any] = {}
    if prev is not None:
        decision = pickle.loads((_stage_dir(out_dir, k - 1) / f"decision-{i:05d}.pkl").read_bytes())

    final = glob_idx is None
    writer: ShardWriter | None = None
    inter_tmp = stage / f"shard-{i:05d}.jsonl.zst.tmp"
    inter_fh = None
    if final:
        dest = pipe.resolve(pipe.spec.output.path)
        remove_shard_outputs(dest, pipe.spec.output.prefix, i)
        writer = ShardWriter(pipe.spec.output, pipe.spec.input, dest, i)
    elif maps or k > 0:
        inter_fh = open_out(inter_tmp)
    audit_tmp = audit_dir / f"removed-s{k}-{i:05d}.jsonl.zst.tmp"
    audit_fh = open_out(audit_tmp) if pipe.spec.audit else None
    summaries: list[Any] = []
    glob = ops[glob_idx] if glob_idx is not None else None
    offset = 0
    for batch in _batches(source(), pipe.spec.batch_size):
        removed_all: list[tuple[Document, str, str]] = []
        if isinstance(prev, GlobalOperator):
            batch, removed = prev.process_decided(batch, offset, decision)
            removed_all.extend((d, r, prev.label) for d, r in removed)
            offset += len(batch) + len(removed)
        for j in maps:
            if not batch:
                break
            batch, removed = ops[j].process(batch)
            removed_all.extend((d, r, ops[j].label) for d, r in removed)
        if audit_fh is not None:
            for d, r, label in removed_all:
                row = {
                    "id": d.id,
                    "source": d.source,
                    "operator": label,
                    "reason": r,
                    "text": d.text,
                    "meta": d.meta,
                }
                audit_fh.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
        if writer is not None:
            for d in batch:
                writer.write(d)
        else:
            if inter_fh is not None:
                for d in batch:
                    line = json.dumps(d.to_dict(), ensure_ascii=False).encode("utf-8")
                    inter_fh.write(line + b"\n")
            if isinstance(glob, GlobalOperator) and batch:
                start = time.perf_counter()
                summaries.append(glob.summarize_shard(batch))
                glob.stats.seconds += time.perf_counter() - start
    # Finish: outputs first, the stats file (the "done" marker) last.
    if audit_fh is not None:
        audit_fh.close()
        os.replace(audit_tmp, audit_tmp.with_name(audit_tmp.name.removesuffix(".tmp")))
    if problems_fh is not None:
        problems_fh.close()
        os.replace(problems_path.with_name(problems_path.name + ".tmp"), problems_path)
    if writer is not None:
        writer.close()
    if inter_fh is not None:
        inter_fh.close()
        os.replace(inter_tmp, stage / f"shard-{i:05d}.jsonl.zst")
    if glob is not None:
        _atomic_write_bytes(stage / f"summary-{i:05d}.pkl", pickle.dumps(_concat(summaries)))
    used = ([prev] if prev is not None else []) + [ops[j] for j in maps] + ([glob] if glob else [])
    stats = {
        "shard": i,
        "segment": k,
        "reader": {**reader, "problems": dict(reader["problems"])} if k == 0 else None,
        "ops": {op.label: op.stats.to_dict() for op in used},
    }
    _atomic_json(stage / f"shard-{i:05d}.stats.json", stats)
    return stats


def _concat(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    import numpy as np

    if not summaries:
        return {"ids": [], "empty": True}
    out: dict[str, Any] = {}
    for key, first in summaries[0].items():
        parts = [s[key] for s in summaries]
        out[key] = np.concatenate(parts) if isinstance(first, np.ndarray) else sum(parts, [])
    return out


def _run_tasks(
    tasks: list[ShardTask], pool: ProcessPoolExecutor | None, progress: Any, label: str
) -> None:
    bar = progress.add_task(label, total=len(tasks)) if progress is not None else None
    if pool is None or len(tasks) <= 1:
        for t in tasks:
            run_shard(t)
            if bar is not None:
                progress.advance(bar)
        return
    for _ in pool.map(run_shard, tasks):
        if bar is not None:
            progress.advance(bar)


def _decide(op: GlobalOperator, stage: Path, n_shards: int) -> float:
    start = time.perf_counter()
    summaries = [
        pickle.loads((stage / f"summary-{i:05d}.pkl").read_bytes()) for i in range(n_shards)
    ]
    usable = [s for s in summaries if not s.get("empty")]
    decided = iter(op.decide(usable)) if usable else iter([])
    for i, s in enumerate(summaries):
        d = {} if s.get("empty") else next(decided)
        _atomic_write_bytes(stage / f"decision-{i:05d}.pkl", pickle.dumps(d))
    (stage / "decided").write_text("ok", encoding="utf-8")
    return time.perf_counter() - start


class _NoPool:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def input_paths(pipe: Pipeline) -> list[Path]:
    """What the pipeline reads: its YAML and its input (a glob's fixed leading folder)."""
    raw = pipe.resolve(pipe.spec.input.path)
    fixed = []
    for part in raw.parts:
        if any(ch in part for ch in "*?["):
            break
        fixed.append(part)
    return [Path(pipe.source), Path(*fixed) if fixed else pipe.base_dir]


def _state_digest(state_path: Path) -> str | None:
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return state.get("pipeline_sha256") if isinstance(state, dict) else None


def prepare_output(pipe: Pipeline, overwrite: bool) -> tuple[Path, dict[str, Any] | None]:
    """Check (or clear, with overwrite) the output folder; (folder, stats if already complete).

    Only a folder pingce created (it carries core.paths.OUTPUT_MARKER) is resumed or, with
    overwrite, deleted; an output folder that equals or contains an input is refused.
    """
    out_dir = pipe.resolve(pipe.spec.output.path)
    state_path = out_dir / STATE_FILE
    digest = pipe.sha256()
    inputs = input_paths(pipe)
    check_not_input(out_dir, inputs, "output.path")
    if not overwrite and is_pingce_output(out_dir):
        if not state_path.is_file() and any(p.name != OUTPUT_MARKER for p in out_dir.iterdir()):
            raise SpecError(
                f"output folder {out_dir} holds the output of another pingce command",
                hint="choose a new output.path or pass --overwrite",
            )
        if state_path.is_file() and _state_digest(state_path) != digest:
            raise SpecError(
                f"output folder {out_dir} holds the output of a different pipeline",
                hint="choose a new output.path or pass --overwrite",
            )
    kept = prepare_output_dir(
        out_dir,
        command=f"pingce data process {pipe.source}",
        overwrite=overwrite,
        inputs=inputs,
        option="output.path",
    )
    stats_path = out_dir / STATS_FILE
    if kept and stats_path.is_file():
        done = json.loads(stats_path.read_text(encoding="utf-8"))
        done["resumed"] = "already complete"
        return out_dir, done
    _atomic_json(state_path, {"pipeline_sha256": digest, "source": pipe.source})
    return out_dir, None


def run_pipeline(
    pipe: Pipeline,
    *,
    workers: int | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
    executor: str | None = None,
) -> dict[str, Any]:
    """Run (or resume) the pipeline; returns the funnel written to OUTPUT/stats.json.

    `executor`: None/"local" (processes on this machine), or "ray", "auto", "ray://HOST:PORT"
    (pingce.data.ray_executor: Ray Data and Ray tasks, the same output).
    """
    if executor not in (None, "", "local"):
        from pingce.data.ray_executor import run_pipeline_ray

        return run_pipeline_ray(
            pipe,
            executor=str(executor),
            workers=workers,
            overwrite=overwrite,
            show_progress=show_progress,
        )
    out_dir, done = prepare_output(pipe, overwrite)
    if done is not None:
        return done
    stats_path = out_dir / STATS_FILE
    shards = list_shards(pipe.spec.input, pipe.base_dir)
    ops = pipe.build()
    segs = segments(ops)
    n_workers = workers or pipe.spec.workers
    started = time.perf_counter()
    decide_seconds: dict[str, float] = {}
    raw = pipe.spec.model_dump(mode="json")
    # One pool for all segments (workers keep their built operators). spawn, not fork:
    # operators hold thread pools (lingua) that fork would copy in a broken state.
    pool = (
        ProcessPoolExecutor(max_workers=n_workers, mp_context=get_context("spawn"))
        if n_workers > 1 and len(shards) > 1
        else None
    )
    # Imported here: pingce.core.execute pulls in the store (sqlalchemy), which spawned
    # workers never need; keeping it out of this module's imports saves each worker ~0.2 s.
    from pingce.core.execute import make_progress

    with make_progress(show_progress) as progress, pool or _NoPool():
        for k, (_, glob_idx) in enumerate(segs):
            stage = _stage_dir(out_dir, k)
            todo = [
                ShardTask(raw, pipe.source, str(pipe.base_dir), k, sh, str(out_dir))
                for sh in shards
                if not (stage / f"shard-{sh.index:05d}.stats.json").is_file()
            ]
            name = ops[glob_idx].label if glob_idx is not None else "write"
            _run_tasks(todo, pool, progress, f"segment {k + 1}/{len(segs)} → {name}")
            if glob_idx is not None and not (stage / "decided").is_file():
                op = ops[glob_idx]
                assert isinstance(op, GlobalOperator)
                decide_seconds[op.label] = _decide(op, stage, len(shards))
    result = _merge_stats(out_dir, ops, segs, len(shards), decide_seconds)
    result["seconds_wall"] = round(time.perf_counter() - started, 3)
    result["workers"] = n_workers
    result["pipeline"] = pipe.source
    _atomic_json(stats_path, result)
    shutil.rmtree(out_dir / WORK_DIR, ignore_errors=True)
    return result


def _merge_stats(
    out_dir: Path,
    ops: list[Operator],
    segs: list[tuple[list[int], int | None]],
    n_shards: int,
    decide_seconds: dict[str, float],
) -> dict[str, Any]:
    merged = {op.label: OpStats(op.label) for op in ops}
    reader = {"documents": 0, "problems": Counter(), "first_problems": []}
    for k in range(len(segs)):
        for i in range(n_shards):
            st = json.loads(
                (_stage_dir(out_dir, k) / f"shard-{i:05d}.stats.json").read_text(encoding="utf-8")
            )
            for label, d in st["ops"].items():
                merged[label].merge(OpStats.from_dict(d))
            if st["reader"]:
                reader["documents"] += st["reader"]["documents"]
                reader["problems"].update(st["reader"]["problems"])
                room = PROBLEMS_IN_STATS - len(reader["first_problems"])
                reader["first_problems"].extend(st["reader"]["first_problems"][: max(0, room)])
    for label, secs in decide_seconds.items():
        merged[label].seconds += secs
    funnel = [merged[op.label].to_dict() | {"operator": type(op).name} for op in ops]
    kept = funnel[-1]["kept"] if funnel else reader["documents"]
    return {
        "shards": n_shards,
        "reader": {
            "documents": reader["documents"],
            "problems": sum(reader["problems"].values()),
            "problems_by_kind": dict(sorted(reader["problems"].items())),
            "first_problems": reader["first_problems"],
        },
        "funnel": funnel,
        "documents_out": kept,
    }
