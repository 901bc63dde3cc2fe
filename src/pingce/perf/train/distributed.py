"""Data-parallel scaling with torch.distributed: the digits CNN under DistributedDataParallel
at W workers (processes on this machine; gloo on CPU, nccl when every worker has a GPU).

Each worker runs `steps` steps of `batch_size` samples on one thread; throughput is
W x batch_size x steps / (the slowest worker's time between two barriers). Scaling efficiency
at W workers = throughput(W) / (W x throughput(1)).
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from pingce.core.errors import PingceError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(
    rank: int, world: int, port: int, backend: str, steps: int, batch: int, seed: int, out_dir: str
) -> None:
    import torch
    import torch.distributed as dist

    from pingce.perf.workloads import digits_cnn_architecture, digits_split

    # A 1-channel conv's weight gradient comes back with other strides than DDP's bucket view;
    # harmless here (the copy is tiny) and printed once per worker otherwise.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    torch.set_num_threads(1)
    dist.init_process_group(
        backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
    )
    try:
        device = torch.device(f"cuda:{rank}") if backend == "nccl" else torch.device("cpu")
        x_tr, y_tr, _, _ = digits_split()
        xt, yt = torch.from_numpy(x_tr).to(device), torch.from_numpy(y_tr).to(device)
        torch.manual_seed(seed)
        model = digits_cnn_architecture().to(device)
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        opt = torch.optim.Adam(ddp.parameters(), lr=3e-3)
        gen = torch.Generator().manual_seed(seed + rank)

        def step() -> None:
            idx = torch.randint(0, len(yt), (batch,), generator=gen).to(device)
            loss = torch.nn.functional.cross_entropy(ddp(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()

        for _ in range(3):  # warm-up: DDP buckets, allocator, thread pools
            step()
        dist.barrier()
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        dist.barrier()
        elapsed = time.perf_counter() - t0
        Path(out_dir, f"rank{rank}.json").write_text(json.dumps({"seconds": elapsed}))
    finally:
        dist.destroy_process_group()


def _join(ctx: Any, timeout_s: float) -> None:
    """Wait for every worker; past `timeout_s` kill them all and fail with one line."""
    deadline = time.monotonic() + timeout_s
    while not ctx.join(timeout=1.0):  # raises if a worker failed
        if time.monotonic() > deadline:
            for proc in ctx.processes:
                if proc.is_alive():
                    proc.kill()
            for proc in ctx.processes:
                proc.join(5)
            raise PingceError(
                f"DDP workers did not finish within {timeout_s:.0f} s (killed)",
                hint="a worker hung in rendezvous or a collective; rerun, or use --workers 1",
            )


def scaling_run(
    world: int,
    steps: int = 100,
    batch_size: int = 64,
    backend: str = "auto",
    seed: int = 0,
    timeout_s: float = 600.0,
) -> dict[str, Any]:
    """One DDP run at `world` workers; returns samples/s over all workers and the timings."""
    import torch
    import torch.multiprocessing as mp

    if backend == "auto":
        backend = (
            "nccl" if torch.cuda.is_available() and torch.cuda.device_count() >= world else "gloo"
        )
    port = _free_port()
    with tempfile.TemporaryDirectory() as out:
        env_threads = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = "1"
        try:
            # spawn, never fork: a forked child inherits the parent's OpenMP/allocator locks
            # (a long-lived process has run torch ops on other threads) and can deadlock in its
            # first parallel region; that hung a test run. Spawned workers re-import torch.
            ctx = mp.start_processes(
                _worker,
                args=(world, port, backend, steps, batch_size, seed, out),
                nprocs=world,
                join=False,
                start_method="spawn",
            )
            _join(ctx, timeout_s)
        finally:
            if env_threads is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = env_threads
        secs = [json.loads(Path(out, f"rank{r}.json").read_text())["seconds"] for r in range(world)]
    slowest = max(secs)
    return {
        "workers": world,
        "backend": backend,
        "steps": steps,
        "batch_size": batch_size,
        "seconds": slowest,
        "rank_seconds": secs,
        "samples": world * batch_size * steps,
        "samples_per_s": world * batch_size * steps / slowest,
    }
