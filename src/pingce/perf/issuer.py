"""The open-loop query issuer: a process of its own that hands each query over on time.

Why a process: in one interpreter the issuer needs the GIL to wake up and hand a query over,
and a Python SUT's worker holds it. On a loaded machine the OS may deschedule that worker
*while it holds the GIL*, and the issuer then waits for it, whatever its own priority: at
1,000 QPS on two busy cores that put the p99 scheduling error at 25-30 ms (a thread issuer
with real-time priority) against ~0.1 ms for this process. The issuer process has nothing else
to run, so its only waits are the OS's.

Protocol (this file runs as `python -I issuer.py FD`, standard library only):

- stdin: a header `<qqq`: spin window (ns), maximum run time (ns), query count n; then n `<q`
  offsets (ns from the start, non-decreasing);
- stdout: one JSON line, before the first query: the start time `start_ns` (CLOCK_MONOTONIC ns,
  the clock of time.perf_counter on Linux; 2 ms after the line is written) and what scheduling
  the process obtained (see `tune_scheduling`);
- FD (a pipe inherited from the parent): one `<Iq` record per query (index, issue instant in
  ns), written when the query is due, in schedule order. A record is 12 bytes, below PIPE_BUF,
  so each write is atomic and several workers can read the pipe record by record.

The issuer sleeps (time.sleep: clock_nanosleep with a 1 ns timer slack) until `spin` ns before
a query, then spins on perf_counter_ns, and takes the issue instant just before the write.
It stops at the end of the schedule, after the maximum run time, or when the parent kills it.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import time
from typing import Any

HEADER = struct.Struct("<qqq")
START_DELAY_NS = 2_000_000  # between the JSON line and the first query
RECORD = struct.Struct("<Iq")
RT_PRIORITY = 10  # SCHED_FIFO priority (1..99): low, it only needs to beat normal tasks
NICE = -10  # the fallback when real-time scheduling is not permitted
_PR_SET_TIMERSLACK = 29  # linux/prctl.h


def tune_scheduling(tid: int = 0) -> dict[str, Any]:
    """Ask Linux to wake thread `tid` (0: the calling process) on time; returns what it got.

    A 1 ns timer slack (the default 50 us is added to every sleep) and SCHED_FIFO when the
    process may use two CPUs or more; without the privilege for that (or on one CPU), a lower
    nice value; else the defaults. Elsewhere: nothing changes.
    """
    got: dict[str, Any] = {"priority": "default", "timer_slack_ns": None}
    if not sys.platform.startswith("linux"):
        return got
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        if libc.prctl(_PR_SET_TIMERSLACK, 1, 0, 0, 0) == 0:  # applies to the calling thread
            got["timer_slack_ns"] = 1
    except (OSError, AttributeError, ImportError):
        pass
    try:
        # A real-time spinner on the only CPU would leave the SUT the kernel's 5 % RT reserve.
        if len(os.sched_getaffinity(0)) < 2:
            raise OSError("one CPU: no real-time priority")
        os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
        got["priority"] = f"SCHED_FIFO {RT_PRIORITY}"
    except (OSError, AttributeError):
        try:
            os.setpriority(os.PRIO_PROCESS, tid, NICE)
            got["priority"] = f"nice {NICE}"
        except (OSError, AttributeError):
            pass
    return got


def _read(stream: Any, size: int) -> bytes:
    buf = stream.read(size)
    if len(buf) != size:
        raise SystemExit(f"issuer: expected {size} bytes on stdin, got {len(buf)}")
    return buf


def main(argv: list[str]) -> None:
    out_fd = int(argv[1])
    stdin = sys.stdin.buffer
    spin_ns, max_ns, n = HEADER.unpack(_read(stdin, HEADER.size))
    offsets = struct.unpack(f"<{n}q", _read(stdin, 8 * n))
    got = tune_scheduling()
    clock = time.perf_counter_ns
    start_ns = clock() + START_DELAY_NS
    sys.stdout.write(json.dumps({"start_ns": start_ns, **got}) + "\n")
    sys.stdout.flush()
    sleep = time.sleep
    write = os.write
    pack = RECORD.pack
    for i, off in enumerate(offsets):
        target = start_ns + off
        remaining = target - clock()
        if remaining > spin_ns:
            sleep((remaining - spin_ns) / 1e9)
        now = clock()
        while now < target:
            now = clock()
        write(out_fd, pack(i, now))
        if now - start_ns > max_ns:
            break
    os.close(out_fd)


if __name__ == "__main__":
    main(sys.argv)
