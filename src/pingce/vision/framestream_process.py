"""The frame-stream generator in a process of its own (`generator: process`).

In process, the generator thread and a Python system share the interpreter lock, so a busy
system makes the generator late. Here a child process (spawned, so it holds only numpy) keeps
the schedule with the same sleep-then-spin loop and hands frames over shared memory: for
every frame it reads how many frames the analysis has taken, refuses the frame when
`queue_depth` are waiting, else appends its index to a ring and publishes the new count. The
analysis loop in this process takes frames in order, calling the system. Both processes read
the same monotonic clock (`time.perf_counter_ns`, CLOCK_MONOTONIC on Linux).

Shared layout (int64): [0] accepted count, [1] taken count, [2] start time (ns), [3] child
ready flag, [4] child done flag; then ring[n], offered_ns[n], depth[n].
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from pingce.vision.framestream import DONE, DROPPED, LATE, SPIN_BEFORE_S, StreamConfig, schedule

HEADER = 5
POLL_S = 0.00005
START_DELAY_NS = 200_000_000  # the child starts the schedule 0.2 s after it is ready


def _generator(name: str, n: int, sched_ns: list[int], queue_depth: int) -> None:
    """The child: keep the schedule, accept or refuse each frame, publish it."""
    from multiprocessing import shared_memory

    shm = shared_memory.SharedMemory(name=name)
    try:
        a = np.ndarray((HEADER + 3 * n,), dtype=np.int64, buffer=shm.buf)
        ring, offered, depth = (
            a[HEADER : HEADER + n],
            a[HEADER + n : HEADER + 2 * n],
            a[HEADER + 2 * n :],
        )
        clock = time.perf_counter_ns
        spin_ns = int(SPIN_BEFORE_S * 1e9)
        t0 = clock() + START_DELAY_NS
        a[2] = t0
        a[3] = 1
        accepted = 0
        for i in range(n):
            target = t0 + sched_ns[i]
            remaining = target - clock()
            if remaining > spin_ns:
                time.sleep((remaining - spin_ns) / 1e9)
            while clock() < target:
                pass
            offered[i] = clock() - t0
            waiting = accepted - int(a[1])
            depth[i] = waiting
            if waiting < queue_depth:
                ring[accepted] = i
                accepted += 1
                a[0] = accepted  # after the ring entry: the reader sees the index first
        a[4] = 1
    finally:
        del a, ring, offered, depth
        shm.close()


def run_stream_process(
    system: Callable[[int], Any],
    cfg: StreamConfig,
    n_frames: int,
    is_correct: Callable[[int, Any], bool | None] | None = None,
) -> dict[str, Any]:
    """`framestream.run_stream` with the generator in a child process (same raw record)."""
    import multiprocessing as mp
    from multiprocessing import shared_memory

    sched = schedule(cfg)
    n = len(sched)
    sched_ns = [int(round(s * 1e9)) for s in sched]
    shm = shared_memory.SharedMemory(create=True, size=8 * (HEADER + 3 * n))
    a = np.ndarray((HEADER + 3 * n,), dtype=np.int64, buffer=shm.buf)
    a[:] = 0
    done = np.full(n, np.nan)
    correct: list[bool | None] = [None] * n
    proc = mp.get_context("spawn").Process(
        target=_generator, args=(shm.name, n, sched_ns, cfg.queue_depth), daemon=True
    )
    try:
        proc.start()
        wait_until = time.monotonic() + 60.0
        while not a[3]:
            if time.monotonic() > wait_until or not proc.is_alive():
                raise RuntimeError("the frame generator process did not start")
            time.sleep(0.001)
        t0 = int(a[2])
        ring = a[HEADER : HEADER + n]
        taken = 0
        end_ns = t0 + sched_ns[-1] + int(cfg.drain_s * 1e9)
        clock = time.perf_counter_ns
        while True:
            if taken < int(a[0]):
                i = int(ring[taken])
                out = system(i % n_frames)
                done[i] = (clock() - t0) / 1e9
                if is_correct is not None:
                    correct[i] = is_correct(i % n_frames, out)
                taken += 1
                a[1] = taken
                continue
            if clock() > end_ns or (a[4] and taken >= int(a[0])):
                break
            time.sleep(POLL_S)
        proc.join(timeout=10)
        offered = a[HEADER + n : HEADER + 2 * n] / 1e9
        depth = a[HEADER + 2 * n :].copy()
        issued = int(a[4])
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)
        del a
        shm.close()
        shm.unlink()
    status = np.full(n, DROPPED, dtype=np.int64)
    lat = done - sched
    ok = ~np.isnan(done)
    status[ok] = np.where(lat[ok] * 1000 <= cfg.deadline_ms, DONE, LATE)
    return {
        "config": {**cfg.__dict__, "generator": "process"},
        "scheduled_s": sched.tolist(),
        "offered_s": offered.tolist() if issued else [None] * n,
        "done_s": [None if math.isnan(v) else v for v in done.tolist()],
        "status": status.tolist(),
        "depth": depth.tolist(),
        "correct": correct if is_correct is not None else None,
        "thread_alive": False,
    }
