"""Run a pipeline on Ray: Ray Data for the map/filter operators, Ray tasks for the dedup.

The plan is the local executor's (`pingce.data.pipeline`): the operator list is cut at each
global operator (dedup) into segments, and every segment leaves the same files in the same
work folder (`OUTPUT/.pingce-work/segment-K/`): per shard an intermediate copy, the dedup's
summary and a `.stats.json` written last. What differs is who does the work:

- map/filter: one Ray Data dataset per segment. `from_items(shards)` -> `map_batches(read)`
  (a generator: each input shard becomes rows `shard, pos, kind, stage, data`, streamed in
  blocks) -> `map_batches(apply operators, batch_size=pipeline batch_size)` (kept documents,
  removed documents with their audit row, counters, and the dedup's per-document hashes and
  band keys) -> `groupby(shard).map_groups(finish)`: one task per shard sorts its rows by
  position and writes the output parts, the audit file, the problems file and the stats.
- dedup decision: one Ray task per shard splits the shard's band keys (or exact hashes) into
  hash partitions; one Ray task per partition sorts its (band, key, document) triples and
  chains documents sharing a bucket, exactly as `minhash.candidate_edges` does within a band
  (the optional signature check runs there too); the driver merges the edges with
  `minhash.clusters` (connected components, labelled by the first document) and applies the
  same keep-the-first rule (`dedup._decide_from_labels`). Nothing depends on how rows were
  batched or partitioned, so output files, audit files and counters equal the local run's.

Resuming: a shard is done when its `.stats.json` exists and a dedup when `decided` exists, so a
crashed run redoes at most the unfinished shards of the segment it was in. For a cluster
(`ray://HOST:PORT`), the input and output paths must be on storage every node sees, and pingce
must be installed on the nodes.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import socket
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pingce.core.errors import PingceError, SpecError
from pingce.core.execute import make_progress
from pingce.core.ray_executor import ExecutorError
from pingce.data.document import Document
from pingce.data.io.readers import InputProblem, Shard, list_shards, problem_dict, read_shard
from pingce.data.io.writers import ShardWriter, open_out, remove_shard_outputs
from pingce.data.operators.base import GlobalOperator, Operator, OpStats
from pingce.data.operators.dedup import ExactDedup, MinHashDedup, _decide_from_labels
from pingce.data.pipeline import (
    PROBLEMS_IN_STATS,
    STATS_FILE,
    WORK_DIR,
    ShardTask,
    _atomic_json,
    _atomic_write_bytes,
    _concat,
    _decide,
    _merge_stats,
    _pipeline_in_worker,
    _read_intermediate,
    _stage_dir,
    prepare_output,
    segments,
)
from pingce.data.pipeline_spec import Pipeline

log = logging.getLogger("pingce.data.ray")

# Row kinds flowing through a segment's dataset.
BEGIN, DOC, REMOVED, PROBLEM = "begin", "doc", "removed", "problem"
STATS, SUMMARY = "stats", "summary"
CODE_SHIFT = 40  # a document's code is shard << 40 | position: sorts like the global order
CONNECT_TIMEOUT_S = 5.0


def parse_executor(value: str | None) -> str | None:
    """None for the local executor; "" for a local Ray; "auto" or "ray://HOST:PORT" otherwise."""
    if value is None or value in ("", "local"):
        return None
    if value == "ray":
        return ""
    if value == "auto" or (value.startswith("ray://") and len(value) > len("ray://")):
        return value
    raise SpecError(
        f"--executor must be local, ray, auto or ray://HOST:PORT, got {value!r}",
        hint="--executor ray starts a local Ray; --executor ray://HOST:10001 joins a cluster",
    )


@dataclass(frozen=True)
class SegmentContext:
    """What every Ray task of one segment needs (pickled into the tasks)."""

    raw: dict[str, Any]
    source: str
    base_dir: str
    out_dir: str
    segment: int
    shards: tuple[Shard, ...]
    batch_size: int

    def task(self, shard: int) -> ShardTask:
        return ShardTask(
            self.raw, self.source, self.base_dir, self.segment, self.shards[shard], self.out_dir
        )


# ---------------------------------------------------------------------------- Ray set-up
def _import_ray() -> Any:
    try:
        import ray.data  # binds `ray` too; Ray Data needs pyarrow and pandas besides ray
    except ImportError as exc:
        raise ExecutorError(
            f"--executor ray needs Ray Data, which is not installed ({exc})",
            hint="pip install 'pingce[ray]' 'ray[data]'",
        ) from None
    return ray


def _check_reachable(address: str) -> None:
    """Fail in seconds, not after Ray client's 30 s of retries, when nothing listens there."""
    hostport = address.removeprefix("ray://").rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        raise ExecutorError(
            f"Ray address {address!r} has no port",
            hint="use ray://HOST:PORT, e.g. ray://head:10001",
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise ExecutorError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}",
            hint="check the address and that the head node's Ray client server runs",
        ) from None


def _start_ray(ray: Any, address: str, workers: int | None) -> bool:
    """Join or start Ray; True when this call started it (and must shut it down).

    A Ray this process already joined is used as it is (a script or a test that called
    `ray.init` itself), but a cluster address must still answer.
    """
    if address.startswith("ray://"):
        _check_reachable(address)
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "logging_level": logging.WARNING,
        "ignore_reinit_error": True,
    }
    if address:
        kwargs["address"] = address
    else:
        kwargs["num_cpus"] = workers or os.cpu_count() or 1
    try:
        ray.init(**kwargs)
    except Exception as exc:  # ConnectionError, RuntimeError, ...: one line, with where
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ExecutorError(
            f"cannot start or join Ray at {address or 'this machine'}: {first}",
            hint="check the address (ray://HOST:10001, or auto for a cluster started here)",
        ) from None
    return True


def _quiet_ray_data(ray: Any, show_progress: bool) -> None:
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = show_progress
    ctx.print_on_execution_start = False
    ctx.enable_operator_progress_bars = show_progress
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    if not show_progress:  # else it warns, once, that the bars we turned off are off
        logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)


def _user_error(exc: BaseException) -> PingceError | None:
    """The PingceError (e.g. strict mode's DataError) a Ray task raised, if any."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, PingceError):
            return e
        todo += [e.__cause__, e.__context__, getattr(e, "cause", None)]
    return None


# ------------------------------------------------------------------- segment: read rows
def _row(shard: int, kind: str, pos: int, stage: int, data: bytes) -> dict[str, Any]:
    return {"shard": shard, "kind": kind, "pos": pos, "stage": stage, "data": data}


def _columns(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    return {
        "shard": np.array([r["shard"] for r in rows], dtype=np.int64),
        "kind": np.array([r["kind"] for r in rows], dtype=object),
        "pos": np.array([r["pos"] for r in rows], dtype=np.int64),
        "stage": np.array([r["stage"] for r in rows], dtype=np.int64),
        "data": np.array([r["data"] for r in rows], dtype=object),
    }


def _source(ctx: SegmentContext, i: int) -> Iterator[Document | InputProblem]:
    """The segment's input for shard i: the same as `pipeline.run_shard` reads."""
    pipe, ops = _pipeline_in_worker(ctx.task(i))
    segs = segments(ops)
    k = ctx.segment
    shard = ctx.shards[i]
    if k == 0:
        yield from read_shard(shard, pipe.spec.input)
    elif k == 1 and not segs[0][0]:  # segment 0 wrote no copy: read the input again
        for item in read_shard(shard, pipe.spec.input):
            if not isinstance(item, InputProblem):  # counted in segment 0
                yield item
    else:
        path = _stage_dir(Path(ctx.out_dir), k - 1) / f"shard-{i:05d}.jsonl.zst"
        yield from _read_intermediate(path)


def read_rows(batch: dict[str, np.ndarray], ctx: SegmentContext) -> Iterator[dict[str, Any]]:
    """Ray Data UDF: shard indices -> streamed batches of document and problem rows."""
    for i in batch["shard"].tolist():
        rows = [_row(i, BEGIN, -1, 0, b"")]
        pos = seq = 0
        for item in _source(ctx, i):
            if isinstance(item, InputProblem):
                data = json.dumps(problem_dict(item), ensure_ascii=False).encode("utf-8")
                rows.append(_row(i, PROBLEM, seq, 0, data))
                seq += 1
            else:
                rows.append(_row(i, DOC, pos, 0, pickle.dumps(item, protocol=5)))
                pos += 1
            if len(rows) >= ctx.batch_size:
                yield _columns(rows)
                rows = []
        if rows:
            yield _columns(rows)


# --------------------------------------------------------------- segment: map operators
_DECISIONS: dict[tuple[str, int, int], dict[int, Any]] = {}


def _decision(ctx: SegmentContext, i: int) -> dict[int, Any]:
    key = (ctx.out_dir, ctx.segment, i)
    if key not in _DECISIONS:
        path = _stage_dir(Path(ctx.out_dir), ctx.segment - 1) / f"decision-{i:05d}.pkl"
        if len(_DECISIONS) > 64:
            _DECISIONS.clear()
        _DECISIONS[key] = pickle.loads(path.read_bytes())
    return _DECISIONS[key]


def _audit_row(doc: Document, reason: str, label: str) -> bytes:
    row = {
        "id": doc.id,
        "source": doc.source,
        "operator": label,
        "reason": reason,
        "text": doc.text,
        "meta": doc.meta,
    }
    return json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n"


def _runs(shards: list[int], kinds: list[str], pos: list[int]) -> Iterator[tuple[int, int]]:
    """[start, end) index ranges of DOC rows of one shard with consecutive positions."""
    start = None
    for j in range(len(kinds) + 1):
        cont = (
            j < len(kinds)
            and kinds[j] == DOC
            and start is not None
            and shards[j] == shards[j - 1]
            and pos[j] == pos[j - 1] + 1
        )
        if start is not None and not cont:
            yield start, j
            start = None
        if start is None and j < len(kinds) and kinds[j] == DOC:
            start = j


def map_rows(batch: dict[str, np.ndarray], ctx: SegmentContext) -> dict[str, np.ndarray]:
    """Ray Data UDF: apply the segment's operators to a batch of document rows."""
    shards = batch["shard"].tolist()
    kinds = batch["kind"].tolist()
    pos = batch["pos"].tolist()
    data = batch["data"].tolist()
    out = [
        _row(shards[j], kinds[j], pos[j], int(batch["stage"][j]), data[j])
        for j in range(len(kinds))
        if kinds[j] != DOC  # begin and problem rows pass through
    ]
    for start, end in _runs(shards, kinds, pos):
        i, p0 = shards[start], pos[start]
        _, ops = _pipeline_in_worker(ctx.task(i))  # fresh counters for this run
        segs = segments(ops)
        maps, glob_idx = segs[ctx.segment]
        prev = ops[segs[ctx.segment - 1][1]] if ctx.segment > 0 else None  # type: ignore[index]
        glob = ops[glob_idx] if glob_idx is not None else None
        docs: list[Document] = [pickle.loads(d) for d in data[start:end]]
        where = {id(d): p for d, p in zip(docs, range(p0, p0 + len(docs)), strict=True)}
        removed: list[tuple[Document, str, str, int]] = []
        if isinstance(prev, GlobalOperator):
            docs, gone = prev.process_decided(docs, p0, _decision(ctx, i))
            removed += [(d, r, prev.label, 0) for d, r in gone]
        for stage, j in enumerate(maps, start=1):
            if not docs:
                break
            docs, gone = ops[j].process(docs)
            removed += [(d, r, ops[j].label, stage) for d, r in gone]
        for d, r, label, stage in removed:
            out.append(_row(i, REMOVED, where[id(d)], stage, _audit_row(d, r, label)))
        for d in docs:
            out.append(_row(i, DOC, where[id(d)], 0, pickle.dumps(d, protocol=5)))
        if isinstance(glob, GlobalOperator) and docs:
            t0 = time.perf_counter()
            summary = glob.summarize_shard(docs)
            glob.stats.seconds += time.perf_counter() - t0
            out.append(_row(i, SUMMARY, where[id(docs[0])], 0, pickle.dumps(summary, protocol=5)))
        used = ([prev] if prev is not None else []) + [ops[j] for j in maps]
        used += [glob] if glob is not None else []
        counters = {op.label: op.stats.to_dict() for op in used}
        out.append(_row(i, STATS, p0, 0, json.dumps(counters).encode("utf-8")))
    return _columns(out)


# ------------------------------------------------------------------ segment: one shard
def finish_shard(group: dict[str, np.ndarray], ctx: SegmentContext) -> dict[str, np.ndarray]:
    """Ray Data UDF (map_groups): write one shard's outputs, audit, summary and stats."""
    i = int(group["shard"][0])
    k = ctx.segment
    pipe, ops = _pipeline_in_worker(ctx.task(i))
    segs = segments(ops)
    maps, glob_idx = segs[k]
    prev = ops[segs[k - 1][1]] if k > 0 else None  # type: ignore[index]
    glob = ops[glob_idx] if glob_idx is not None else None
    used: list[Operator] = ([prev] if prev is not None else []) + [ops[j] for j in maps]
    used += [glob] if glob is not None else []
    by_kind: dict[str, list[tuple[int, int, bytes]]] = {}
    for kind, p, stage, d in zip(
        group["kind"].tolist(),
        group["pos"].tolist(),
        group["stage"].tolist(),
        group["data"].tolist(),
        strict=True,
    ):
        by_kind.setdefault(kind, []).append((p, stage, d))
    kept = sorted(by_kind.get(DOC, []))
    removed = by_kind.get(REMOVED, [])
    # The local executor writes a batch's removals operator by operator: sort the same way.
    removed.sort(key=lambda r: (r[0] // ctx.batch_size, r[1], r[0]))
    problems = [json.loads(d) for _, _, d in sorted(by_kind.get(PROBLEM, []))]

    out_dir = Path(ctx.out_dir)
    stage_dir = _stage_dir(out_dir, k)
    stage_dir.mkdir(parents=True, exist_ok=True)
    audit_dir = out_dir / "audit"
    audit_dir.mkdir(parents=True, exist_ok=True)
    if pipe.spec.audit:
        tmp = audit_dir / f"removed-s{k}-{i:05d}.jsonl.zst.tmp"
        with open_out(tmp) as fh:
            for _, _, line in removed:
                fh.write(line)
        os.replace(tmp, tmp.with_name(tmp.name.removesuffix(".tmp")))
    if problems:
        path = audit_dir / f"problems-{i:05d}.jsonl"
        lines = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in problems)
        _atomic_write_bytes(path, lines.encode("utf-8"))
    if glob is None:
        dest = pipe.resolve(pipe.spec.output.path)
        remove_shard_outputs(dest, pipe.spec.output.prefix, i)
        writer = ShardWriter(pipe.spec.output, pipe.spec.input, dest, i)
        for _, _, d in kept:
            writer.write(pickle.loads(d))
        writer.close()
    else:
        if maps or k > 0:
            tmp = stage_dir / f"shard-{i:05d}.jsonl.zst.tmp"
            with open_out(tmp) as fh:
                for _, _, d in kept:
                    line = json.dumps(pickle.loads(d).to_dict(), ensure_ascii=False)
                    fh.write(line.encode("utf-8") + b"\n")
            os.replace(tmp, stage_dir / f"shard-{i:05d}.jsonl.zst")
        parts = [pickle.loads(d) for _, _, d in sorted(by_kind.get(SUMMARY, []))]
        _atomic_write_bytes(stage_dir / f"summary-{i:05d}.pkl", pickle.dumps(_concat(parts)))
    counters = {op.label: OpStats(op.label) for op in used}
    for _, _, d in by_kind.get(STATS, []):
        for label, st in json.loads(d).items():
            counters[label].merge(OpStats.from_dict(st))
    reader = None
    if k == 0:
        reader = {
            "documents": len(kept) + len(removed),
            "problems": dict(Counter(p["kind"] for p in problems)),
            "first_problems": problems[:PROBLEMS_IN_STATS],
        }
    stats = {
        "shard": i,
        "segment": k,
        "reader": reader,
        "ops": {label: st.to_dict() for label, st in counters.items()},
    }
    _atomic_json(stage_dir / f"shard-{i:05d}.stats.json", stats)  # the "done" marker, last
    return {"shard": np.array([i], dtype=np.int64), "kept": np.array([len(kept)], dtype=np.int64)}


def run_segment(ray: Any, ctx: SegmentContext, todo: list[int], partitions: int) -> None:
    """One segment's map/filter work for the unfinished shards, on Ray Data."""
    from ray.data.context import ShuffleStrategy

    data_ctx = ray.data.DataContext.get_current()
    before = data_ctx.shuffle_strategy
    # The task-based sort shuffle: the default hash shuffle starts aggregator actors, seconds
    # per segment, and groups of a few shards gain nothing from it.
    data_ctx.shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    try:
        _run_segment(ray, ctx, todo, partitions)
    finally:
        data_ctx.shuffle_strategy = before


def _run_segment(ray: Any, ctx: SegmentContext, todo: list[int], partitions: int) -> None:
    ds = ray.data.from_items([{"shard": i} for i in todo], override_num_blocks=len(todo))
    ds = ds.map_batches(read_rows, batch_size=1, fn_kwargs={"ctx": ctx}, num_cpus=1)
    ds = ds.map_batches(map_rows, batch_size=ctx.batch_size, fn_kwargs={"ctx": ctx}, num_cpus=1)
    groups = ds.groupby("shard", num_partitions=max(1, min(len(todo), partitions)))
    ds = groups.map_groups(finish_shard, fn_kwargs={"ctx": ctx})
    done = ds.take_all()
    missing = set(todo) - {int(r["shard"]) for r in done}
    if missing:  # a shard with no rows cannot happen (every shard sends a BEGIN row)
        raise RuntimeError(f"Ray segment {ctx.segment} finished without shards {sorted(missing)}")


# --------------------------------------------------------------- distributed dedup
def _mix(keys: np.ndarray, parts: int) -> np.ndarray:
    """Partition of each 64-bit key (Fibonacci hashing, then modulo)."""
    with np.errstate(over="ignore"):
        return ((keys * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(33)) % np.uint64(parts)


def _load_summary(path: str) -> dict[str, Any]:
    return pickle.loads(Path(path).read_bytes())


def split_minhash(path: str, shard: int, parts: int, verify: bool) -> list[Any]:
    """Ray task: one shard's band keys split by partition, then the shard's ids (last)."""
    s = _load_summary(path)
    out: list[dict[str, np.ndarray]] = [
        {"band": [], "key": [], "code": [], "sig": []}  # type: ignore[dict-item]
        for _ in range(parts)
    ]
    if not s.get("empty") and s["ids"]:
        rows = np.flatnonzero(s["valid"])
        code = (np.int64(shard) << np.int64(CODE_SHIFT)) | rows.astype(np.int64)
        keys = s["keys"]
        for b in range(keys.shape[1]):
            kb = keys[rows, b]
            part = _mix(kb, parts)
            for p in np.unique(part).tolist():
                sel = part == p
                out[p]["band"].append(np.full(int(sel.sum()), b, dtype=np.int32))
                out[p]["key"].append(kb[sel])
                out[p]["code"].append(code[sel])
                if verify:
                    out[p]["sig"].append(s["sigs"][rows[sel]])
    result: list[Any] = []
    for o in out:
        result.append(
            {
                "band": np.concatenate(o["band"]) if o["band"] else np.empty(0, np.int32),
                "key": np.concatenate(o["key"]) if o["key"] else np.empty(0, np.uint64),
                "code": np.concatenate(o["code"]) if o["code"] else np.empty(0, np.int64),
                "sig": np.concatenate(o["sig"]) if o["sig"] else None,
            }
        )
    return [*result, list(s["ids"])]


def minhash_edges(verify: float | None, *parts: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Ray task: chain the documents of every bucket of one partition (candidate_edges' rule)."""
    band = np.concatenate([p["band"] for p in parts])
    key = np.concatenate([p["key"] for p in parts])
    code = np.concatenate([p["code"] for p in parts])
    order = np.lexsort((code, key, band))  # within a bucket: documents in input order
    band, key, code = band[order], key[order], code[order]
    same = (band[1:] == band[:-1]) & (key[1:] == key[:-1])
    src, dst = code[:-1][same], code[1:][same]
    if verify is not None and src.size:
        sig = np.concatenate([p["sig"] for p in parts if p["sig"] is not None])[order]
        a, b = sig[:-1][same], sig[1:][same]
        keep = (a == b).mean(axis=1) >= verify  # the same estimate as minhash.clusters
        src, dst = src[keep], dst[keep]
    return src, dst


def split_exact(path: str, shard: int, parts: int) -> list[Any]:
    """Ray task: one shard's normalised-text hashes split by partition, then its ids."""
    s = _load_summary(path)
    ids = [] if s.get("empty") else list(s["ids"])
    if not ids:
        empty = {"hi": np.empty(0, np.uint64), "lo": np.empty(0, np.uint64)}
        return [{**empty, "code": np.empty(0, np.int64)} for _ in range(parts)] + [ids]
    h = np.frombuffer(b"".join(s["hashes"]), dtype=np.uint64).reshape(-1, 2)
    code = (np.int64(shard) << np.int64(CODE_SHIFT)) | np.arange(len(ids), dtype=np.int64)
    part = _mix(h[:, 0], parts)
    out = [
        {"hi": h[part == p, 0], "lo": h[part == p, 1], "code": code[part == p]}
        for p in range(parts)
    ]
    return [*out, ids]


def exact_groups(*parts: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Ray task: (document, first document with the same hash) for repeated hashes."""
    hi = np.concatenate([p["hi"] for p in parts])
    lo = np.concatenate([p["lo"] for p in parts])
    code = np.concatenate([p["code"] for p in parts])
    order = np.lexsort((code, lo, hi))
    hi, lo, code = hi[order], lo[order], code[order]
    new = np.ones(code.size, dtype=bool)
    new[1:] = (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
    first = code[np.maximum.accumulate(np.where(new, np.arange(code.size), 0))]
    dup = first != code
    return code[dup], first[dup]


def decide_on_ray(ray: Any, op: GlobalOperator, stage: Path, n_shards: int, parts: int) -> float:
    """The dedup decision over the whole corpus with Ray tasks; same files as `_decide`."""
    start = time.perf_counter()
    paths = [str(stage / f"summary-{i:05d}.pkl") for i in range(n_shards)]
    if isinstance(op, MinHashDedup):
        verify = op.params.verify_threshold  # type: ignore[attr-defined]
        split = ray.remote(split_minhash).options(num_returns=parts + 1)
        refs = [split.remote(p, i, parts, verify is not None) for i, p in enumerate(paths)]
        merge = ray.remote(minhash_edges)
        jobs = [merge.remote(verify, *[r[p] for r in refs]) for p in range(parts)]
        reason = "near_duplicate"
    elif isinstance(op, ExactDedup):
        split = ray.remote(split_exact).options(num_returns=parts + 1)
        refs = [split.remote(p, i, parts) for i, p in enumerate(paths)]
        merge = ray.remote(exact_groups)
        jobs = [merge.remote(*[r[p] for r in refs]) for p in range(parts)]
        reason = "exact_duplicate"
    else:  # another global operator: decide in the driver, as the local executor does
        return _decide(op, stage, n_shards)
    shard_ids: list[list[str]] = ray.get([r[parts] for r in refs])
    offsets = np.cumsum([0] + [len(x) for x in shard_ids])
    ids = [d for x in shard_ids for d in x]
    edges = ray.get(jobs)

    def to_index(code: np.ndarray) -> np.ndarray:
        return offsets[code >> CODE_SHIFT] + (code & ((1 << CODE_SHIFT) - 1))

    src = to_index(np.concatenate([e[0] for e in edges])) if edges else np.empty(0, np.int64)
    dst = to_index(np.concatenate([e[1] for e in edges])) if edges else np.empty(0, np.int64)
    if isinstance(op, MinHashDedup):
        from pingce.data.minhash import clusters

        labels = clusters(len(ids), src, dst)  # edges were verified in the partitions
    else:
        labels = np.arange(len(ids), dtype=np.int64)
        labels[src] = dst
    decisions = _decide_from_labels(labels, ids, offsets[:-1].tolist(), reason)
    for i, d in enumerate(decisions):
        _atomic_write_bytes(stage / f"decision-{i:05d}.pkl", pickle.dumps(d))
    (stage / "decided").write_text("ok", encoding="utf-8")
    return time.perf_counter() - start


# ------------------------------------------------------------------------------ driver
def run_pipeline_ray(
    pipe: Pipeline,
    *,
    executor: str = "ray",
    workers: int | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Run (or resume) the pipeline on Ray; returns the funnel written to OUTPUT/stats.json.

    `executor`: "ray" (join the Ray this process runs, or start a local one with `workers`
    CPUs), "auto" (a cluster started on this machine) or "ray://HOST:PORT" (a cluster).
    """
    address = parse_executor(executor)
    if address is None:
        raise SpecError("run_pipeline_ray needs executor ray, auto or ray://HOST:PORT")
    out_dir, done = prepare_output(pipe, overwrite)
    if done is not None:
        return done
    ray = _import_ray()
    started_ray = _start_ray(ray, address, workers)
    try:
        _quiet_ray_data(ray, show_progress)
        cpus = int(ray.cluster_resources().get("CPU", 1)) or 1
        result = _run(ray, pipe, out_dir, cpus, show_progress)
    except PingceError:
        raise
    except Exception as exc:
        user = _user_error(exc)
        if user is not None:
            raise user from None
        raise
    finally:
        if started_ray:
            ray.shutdown()
    result["workers"] = cpus
    result["executor"] = executor
    _atomic_json(out_dir / STATS_FILE, result)
    shutil.rmtree(out_dir / WORK_DIR, ignore_errors=True)
    return result


def _run(ray: Any, pipe: Pipeline, out_dir: Path, cpus: int, show_progress: bool) -> dict:
    shards = list_shards(pipe.spec.input, pipe.base_dir)
    ops = pipe.build()
    segs = segments(ops)
    started = time.perf_counter()
    decide_seconds: dict[str, float] = {}
    raw = pipe.spec.model_dump(mode="json")
    parts = max(2, cpus)
    with make_progress(show_progress) as progress:
        bar = progress.add_task("ray segments", total=len(segs)) if progress else None
        for k, (_, glob_idx) in enumerate(segs):
            stage = _stage_dir(out_dir, k)
            todo = [
                sh.index
                for sh in shards
                if not (stage / f"shard-{sh.index:05d}.stats.json").is_file()
            ]
            ctx = SegmentContext(
                raw,
                pipe.source,
                str(pipe.base_dir),
                str(out_dir),
                k,
                tuple(shards),
                pipe.spec.batch_size,
            )
            if todo:
                t0 = time.perf_counter()
                run_segment(ray, ctx, todo, parts)
                log.info("segment %d: %.1f s", k, time.perf_counter() - t0)
            if glob_idx is not None and not (stage / "decided").is_file():
                op = ops[glob_idx]
                assert isinstance(op, GlobalOperator)
                decide_seconds[op.label] = decide_on_ray(ray, op, stage, len(shards), parts)
            if bar is not None:
                progress.advance(bar)
    result = _merge_stats(out_dir, ops, segs, len(shards), decide_seconds)
    result["seconds_wall"] = round(time.perf_counter() - started, 3)
    result["pipeline"] = pipe.source
    return result
