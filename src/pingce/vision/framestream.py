"""The frame-stream load generator (high-speed imaging analysis).

Frames arrive on a fixed schedule: `fps` frames per second on average, `burst_size` frames
together every `burst_size / fps` seconds. An arriving frame enters a queue of `queue_depth`
frames that one analysis thread drains by calling the system (a Python callable, an HTTP
service or a local process over a pipe: any `pingce.vision.runtime.VisionModel`); a frame
arriving at a full queue is dropped, as a camera's frame grabber drops it. A frame finished
later than `deadline_ms` after its scheduled arrival also counts as dropped (too late to use).

The generator sleeps until ~1.5 ms before an arrival, then spins on `perf_counter`, with the
interpreter's GIL switch interval lowered to 0.2 ms during the stream (the technique of
`pingce.perf.loadgen`). Its own lateness (frame offered - frame scheduled) is recorded for
every frame and reported: a stream whose p99 scheduling error exceeds `sched_tolerance_ms` is
INVALID, since the system was not offered the load it is credited with.

Figures: sustained throughput (frames analysed / stream duration), drop rate, per-frame
latency p50/p99/max (completion - scheduled arrival), jitter (mean |difference| of consecutive
analysed frames' latencies), queue growth (least-squares slope of the queue depth seen by each
arrival, frames/s), accuracy under load (labelled frames analysed in time and correctly /
labelled frames offered). `search_max_fps` bisects the target rate for the highest one whose
stream meets the drop-rate and p99 bounds (as MLPerf searches the Server scenario's QPS).
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SPIN_BEFORE_S = 0.0015
GIL_SWITCH_S = 0.0002
MIN_FRAMES = 100  # fewer frames give no meaningful p99
DROPPED, LATE, DONE = 0, 1, 2


@dataclass(frozen=True)
class StreamConfig:
    fps: float
    duration_s: float
    burst_size: int = 1
    queue_depth: int = 4
    deadline_ms: float = 100.0
    drain_s: float = 1.0  # after the last arrival, how long queued frames may still finish


def schedule(cfg: StreamConfig) -> np.ndarray:
    """Arrival offsets (s) of every frame: bursts of `burst_size` every burst_size/fps s."""
    n = max(1, int(round(cfg.fps * cfg.duration_s)))
    period = cfg.burst_size / cfg.fps
    return (np.arange(n) // cfg.burst_size) * period


def run_stream(
    system: Callable[[int], Any],
    cfg: StreamConfig,
    n_frames: int,
    is_correct: Callable[[int, Any], bool | None] | None = None,
) -> dict[str, Any]:
    """Feed frames 0, 1, ... (cycling over `n_frames` distinct frames) to `system(frame_index)`
    on the schedule; returns the raw record (times in seconds from the stream start)."""
    sched = schedule(cfg)
    n = len(sched)
    offered = np.full(n, np.nan)
    done = np.full(n, np.nan)
    depth = np.zeros(n, dtype=np.int64)
    correct: list[bool | None] = [None] * n
    queue: deque[int] = deque()
    cond = threading.Condition()
    errors: list[BaseException] = []
    finished = threading.Event()
    clock = time.perf_counter

    def worker() -> None:
        while True:
            with cond:
                while not queue and not finished.is_set():
                    cond.wait(0.05)
                if not queue:
                    return
                i = queue.popleft()
            try:
                out = system(i % n_frames)
            except BaseException as exc:  # re-raised in the caller's thread
                errors.append(exc)
                finished.set()
                return
            done[i] = clock() - t0
            if is_correct is not None:
                correct[i] = is_correct(i % n_frames, out)

    thread = threading.Thread(target=worker, daemon=True)
    old = sys.getswitchinterval()
    sys.setswitchinterval(GIL_SWITCH_S)
    try:
        t0 = clock()
        thread.start()
        for i in range(n):
            target = t0 + sched[i]
            remaining = target - clock()
            if remaining > SPIN_BEFORE_S:
                time.sleep(remaining - SPIN_BEFORE_S)
            while clock() < target:
                pass
            now = clock()
            offered[i] = now - t0
            with cond:
                depth[i] = len(queue)
                if len(queue) < cfg.queue_depth:
                    queue.append(i)
                    cond.notify()
            if errors:
                break
        end_of_schedule = clock()
        while clock() - end_of_schedule < cfg.drain_s and not errors:
            with cond:
                if not queue:
                    break
            time.sleep(0.001)
        with cond:
            queue.clear()  # what is still queued will not be analysed in time
            finished.set()
            cond.notify_all()
        thread.join(timeout=max(5.0, cfg.deadline_ms / 1000 * 10))
    finally:
        sys.setswitchinterval(old)
    if errors:
        raise errors[0]
    status = np.full(n, DROPPED, dtype=np.int64)
    lat = done - sched
    ok = ~np.isnan(done)
    status[ok] = np.where(lat[ok] * 1000 <= cfg.deadline_ms, DONE, LATE)
    return {
        "config": {**cfg.__dict__},
        "scheduled_s": sched.tolist(),
        "offered_s": offered.tolist(),
        "done_s": [None if math.isnan(v) else v for v in done.tolist()],
        "status": status.tolist(),
        "depth": depth.tolist(),
        "correct": correct if is_correct is not None else None,
        "thread_alive": thread.is_alive(),
    }


def stream_figures(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of one stream from its raw record."""
    sched = np.asarray(raw["scheduled_s"], dtype=np.float64)
    offered = np.asarray([np.nan if v is None else v for v in raw["offered_s"]], dtype=np.float64)
    done = np.asarray([np.nan if v is None else v for v in raw["done_s"]], dtype=np.float64)
    status = np.asarray(raw["status"])
    n = len(sched)
    analysed = ~np.isnan(done)
    lat_ms = (done[analysed] - sched[analysed]) * 1000.0
    in_time = status == DONE
    first, last_done = (sched[0], np.nanmax(done)) if analysed.any() else (0.0, 0.0)
    duration = max(float(last_done - first), float(sched[-1] - sched[0]) + 1e-9)
    err_ms = (offered[~np.isnan(offered)] - sched[~np.isnan(offered)]) * 1000.0
    order = np.argsort(sched[analysed], kind="stable")
    jitter = float(np.mean(np.abs(np.diff(lat_ms[order])))) if analysed.sum() > 1 else None
    depth = np.asarray(raw["depth"], dtype=np.float64)
    growth = float(np.polyfit(sched, depth, 1)[0]) if n > 2 and np.ptp(sched) > 0 else None
    figs: dict[str, Any] = {
        "frames_offered": n,
        "frames_analysed": int(analysed.sum()),
        "frames_in_time": int(in_time.sum()),
        "frames_refused": int((~analysed).sum()),
        "frames_late": int((status == LATE).sum()),
        "fs_throughput_fps": float(in_time.sum() / duration) if duration > 0 else None,
        "fs_drop_rate": float(1.0 - in_time.sum() / n) if n else None,
        "fs_latency_p50_ms": float(np.percentile(lat_ms, 50)) if len(lat_ms) else None,
        "fs_latency_p99_ms": float(np.percentile(lat_ms, 99)) if len(lat_ms) else None,
        "fs_latency_max_ms": float(lat_ms.max()) if len(lat_ms) else None,
        "fs_jitter_ms": jitter,
        "fs_queue_growth": growth,
        "fs_sched_error_p99_ms": float(np.percentile(err_ms, 99)) if len(err_ms) else None,
        "sched_error_max_ms": float(err_ms.max()) if len(err_ms) else None,
    }
    corr = raw.get("correct")
    # Frames whose answer could not be judged (unlabelled video, an output of another size)
    # are None; with no judged frame there is no accuracy. A dropped frame counts as wrong.
    if corr is not None and any(c is not None for c in corr):
        judged = [i for i, c in enumerate(corr) if c is not None or status[i] != DONE]
        good = sum(1 for i in judged if corr[i] is True and status[i] == DONE)
        figs["fs_accuracy_under_load"] = good / len(judged) if judged else None
    return figs


def validity(
    figs: Mapping[str, Any], max_drop_rate: float, max_p99_ms: float, sched_tolerance_ms: float
) -> tuple[bool, list[str]]:
    """VALID when the generator kept its schedule, enough frames were offered and the stream
    met both bounds; otherwise INVALID with every reason."""
    reasons = []
    if figs["frames_offered"] < MIN_FRAMES:
        reasons.append(
            f"{figs['frames_offered']} frames offered, fewer than {MIN_FRAMES} (raise duration_s or fps)"
        )
    err = figs.get("fs_sched_error_p99_ms")
    if err is not None and err > sched_tolerance_ms:
        reasons.append(
            f"generator p99 scheduling error {err:.3f} ms > tolerance {sched_tolerance_ms} ms (machine too busy)"
        )
    if figs["fs_drop_rate"] is not None and figs["fs_drop_rate"] > max_drop_rate:
        reasons.append(f"drop rate {figs['fs_drop_rate']:.4f} > {max_drop_rate}")
    p99 = figs.get("fs_latency_p99_ms")
    if p99 is None:
        reasons.append("no frame was analysed")
    elif p99 > max_p99_ms:
        reasons.append(f"p99 latency {p99:.2f} ms > {max_p99_ms} ms")
    return not reasons, reasons


def meets_bounds(figs: Mapping[str, Any], max_drop_rate: float, max_p99_ms: float) -> bool:
    p99 = figs.get("fs_latency_p99_ms")
    return (
        figs["fs_drop_rate"] is not None
        and figs["fs_drop_rate"] <= max_drop_rate
        and p99 is not None
        and p99 <= max_p99_ms
    )


def search_max_fps(
    probe: Callable[[float], Mapping[str, Any]],
    low: float,
    high: float,
    steps: int,
    max_drop_rate: float,
    max_p99_ms: float,
) -> tuple[float | None, list[dict[str, Any]]]:
    """Bisection on the target fps: the highest probed rate whose stream met both bounds
    (None when even `low` did not), and every probe as {fps, passed, figures}."""
    probes: list[dict[str, Any]] = []

    def run(fps: float) -> bool:
        figs = dict(probe(fps))
        ok = meets_bounds(figs, max_drop_rate, max_p99_ms)
        probes.append(
            {
                "fps": fps,
                "passed": ok,
                **{
                    k: figs.get(k)
                    for k in (
                        "fs_drop_rate",
                        "fs_latency_p99_ms",
                        "fs_throughput_fps",
                        "fs_sched_error_p99_ms",
                    )
                },
            }
        )
        return ok

    if run(high):
        return high, probes
    if not run(low):
        return None, probes
    lo, hi = low, high
    for _ in range(steps):
        mid = (lo + hi) / 2
        if run(mid):
            lo = mid
        else:
            hi = mid
    return lo, probes


def framestream_rows(
    spec: Mapping[str, Any], recs: Sequence[dict[str, Any]]
) -> tuple[dict[str, Any], list[Any], list[str]]:
    """Metric rows, sections and notes of a frame-stream task (from its one record)."""
    from pingce.core.report.kit import LinesChart, LineSeries, MetricRow, Section, Table, rnd
    from pingce.vision.catalogue import BY_NAME

    data = recs[0]["data"]
    figs = stream_figures(data["fixed"])
    n = figs["frames_offered"]
    rows: dict[str, Any] = {}
    for name in (
        "fs_throughput_fps",
        "fs_drop_rate",
        "fs_latency_p50_ms",
        "fs_latency_p99_ms",
        "fs_latency_max_ms",
        "fs_jitter_ms",
        "fs_queue_growth",
        "fs_accuracy_under_load",
        "fs_sched_error_p99_ms",
    ):
        if figs.get(name) is not None:
            rows[name] = MetricRow.fixed(BY_NAME[name], figs[name], n)
    max_p99 = float(spec.get("max_p99_ms") or spec.get("deadline_ms", 100.0))
    max_drop = float(spec.get("max_drop_rate", 0.01))
    valid, reasons = validity(figs, max_drop, max_p99, float(spec.get("sched_tolerance_ms", 1.0)))
    tid = spec["id"]
    search = data.get("search")
    sections = []
    if search is not None:
        if search["max_fps"] is not None:
            rows = {
                "fs_max_sustainable_fps": MetricRow.fixed(
                    BY_NAME["fs_max_sustainable_fps"], search["max_fps"], len(search["probes"])
                ),
                **rows,
            }
        sections.append(
            Section(
                f"{tid}-search",
                f"{tid}: highest sustainable fps (drop rate <= {max_drop}, p99 <= {max_p99} ms)",
                "最大可持续帧率搜索",
                text="Bisection on the target rate; each probe is a stream of its own. "
                + (
                    "No probed rate met the bounds."
                    if search["max_fps"] is None
                    else f"Highest passing rate: {rnd(search['max_fps'], 2)} fps."
                ),
                table=Table(
                    [
                        "target fps",
                        "passed",
                        "drop rate",
                        "p99 ms",
                        "throughput fps",
                        "sched err p99 ms",
                    ],
                    [
                        [
                            rnd(p["fps"], 2),
                            "yes" if p["passed"] else "no",
                            rnd(p["fs_drop_rate"]),
                            rnd(p["fs_latency_p99_ms"]),
                            rnd(p["fs_throughput_fps"], 2),
                            rnd(p["fs_sched_error_p99_ms"]),
                        ]
                        for p in search["probes"]
                    ],
                ),
            )
        )
    done = np.asarray(
        [np.nan if v is None else v for v in data["fixed"]["done_s"]], dtype=np.float64
    )
    sched = np.asarray(data["fixed"]["scheduled_s"])
    lat = np.sort((done - sched)[~np.isnan(done)] * 1000.0)
    cdf_x = [rnd(v, 5) for v in lat[:: max(1, len(lat) // 200)]]
    cdf_y = [rnd((i + 1) / len(lat), 5) for i in range(0, len(lat), max(1, len(lat) // 200))]
    cfg = data["fixed"]["config"]
    verdict = "VALID" if valid else "INVALID"
    sections.insert(
        0,
        Section(
            f"{tid}-stream",
            f"{tid}: {rnd(cfg['fps'], 2)} fps stream — {verdict}",
            "帧流测试",
            text=(
                f"{verdict}"
                + ("" if valid else ": " + "; ".join(reasons))
                + f". Queue depth {cfg['queue_depth']}, burst size {cfg['burst_size']}, "
                f"deadline {cfg['deadline_ms']} ms, {cfg['duration_s']} s."
            ),
            table=Table(
                [
                    "offered",
                    "analysed",
                    "in time",
                    "refused (queue full)",
                    "late",
                    "sched err max ms",
                ],
                [
                    [
                        figs["frames_offered"],
                        figs["frames_analysed"],
                        figs["frames_in_time"],
                        figs["frames_refused"],
                        figs["frames_late"],
                        rnd(figs["sched_error_max_ms"]),
                    ]
                ],
            ),
            charts=[
                LinesChart(
                    "per-frame latency CDF",
                    [LineSeries("latency", cdf_x, cdf_y)],
                    x_label="ms",
                    y_label="share of analysed frames",
                )
            ]
            if len(lat)
            else None,
        ),
    )
    note = f"{tid}: stream {verdict}" + ("" if valid else f" ({'; '.join(reasons)})")
    return rows, sections, [note]
