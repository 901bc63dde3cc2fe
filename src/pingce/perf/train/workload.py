"""Training runs on the built-in digits CNN, timed by phase (the standard's training record).

Phases: data load (reading sklearn's digits), prepare (tensors, model and optimiser), process
(the training steps; evaluation time is excluded and reported apart), total. Steps are fixed
(never a wall-clock budget), so runs are comparable; time to accuracy is the process time until
the test accuracy, checked every `eval_every` steps, first reaches the target.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from pingce.core.measure import PeakMemory, PowerSampler


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 200
    batch_size: int = 64
    lr: float = 3e-3
    target_accuracy: float = 0.95
    eval_every: int = 20
    threads: int = 1
    seed: int = 0


@dataclass
class TrainResult:
    """One training run. Times in seconds; utilisation is CPU seconds / (wall x cores)."""

    seed: int
    steps: int
    samples: int
    data_load_s: float
    prepare_s: float
    process_s: float
    eval_s: float
    total_s: float
    samples_per_s: float
    accuracy: float
    time_to_accuracy_s: float | None
    steps_to_accuracy: int | None
    curve: list[list[float]] = field(default_factory=list)  # [step, process_s, accuracy]
    cpu_utilisation: float = 0.0
    peak_rss_mb: float = 0.0
    power: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def train_digits(cfg: TrainConfig) -> TrainResult:
    """Train the digits CNN for cfg.steps steps on cfg.threads threads; time every phase."""
    import torch

    from pingce.perf.workloads import digits_cnn_architecture, digits_split

    saved_threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    cpu0, wall0 = _cpu_seconds(), time.perf_counter()
    try:
        with PowerSampler() as power, PeakMemory() as mem:
            t = time.perf_counter()
            x_tr, y_tr, x_te, y_te = digits_split()
            data_load = time.perf_counter() - t

            t = time.perf_counter()
            torch.manual_seed(cfg.seed)
            xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
            xe, ye = torch.from_numpy(x_te), torch.from_numpy(y_te)
            model = digits_cnn_architecture()
            opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
            gen = torch.Generator().manual_seed(cfg.seed)
            prepare = time.perf_counter() - t

            process = evals = 0.0
            tta = None
            steps_tta = None
            curve: list[list[float]] = []
            acc = 0.0
            for step in range(1, cfg.steps + 1):
                t = time.perf_counter()
                model.train()
                idx = torch.randint(0, len(yt), (cfg.batch_size,), generator=gen)
                loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                process += time.perf_counter() - t
                if step % cfg.eval_every == 0 or step == cfg.steps:
                    t = time.perf_counter()
                    model.eval()
                    with torch.inference_mode():
                        acc = float((model(xe).argmax(1) == ye).float().mean())
                    evals += time.perf_counter() - t
                    curve.append([step, process, acc])
                    if tta is None and acc >= cfg.target_accuracy:
                        tta, steps_tta = process, step
        wall = time.perf_counter() - wall0
        cpu = _cpu_seconds() - cpu0
    finally:
        torch.set_num_threads(saved_threads)
    assert power.result is not None and mem.result is not None
    samples = cfg.steps * cfg.batch_size
    return TrainResult(
        seed=cfg.seed,
        steps=cfg.steps,
        samples=samples,
        data_load_s=data_load,
        prepare_s=prepare,
        process_s=process,
        eval_s=evals,
        total_s=wall,
        samples_per_s=samples / process,
        accuracy=acc,
        time_to_accuracy_s=tta,
        steps_to_accuracy=steps_tta,
        curve=curve,
        cpu_utilisation=cpu / (wall * (os.cpu_count() or 1)),
        peak_rss_mb=mem.result.peak_mb,
        power=power.result.to_dict(),
    )


def mlperf_trimmed(values: list[float]) -> list[float]:
    """MLPerf Training's rule: with 5 or more runs, drop the fastest and the slowest."""
    if len(values) < 5:
        return sorted(values)
    return sorted(values)[1:-1]
