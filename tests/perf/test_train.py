"""`pingce perf train`: phase timings, time to accuracy with MLPerf's trimming, gloo scaling."""

from __future__ import annotations

from pathlib import Path

import pytest

from pingce.core.run import RunRequest, execute_run
from pingce.core.spec import suite_from_dict
from pingce.core.store import open_store
from pingce.perf.train.workload import TrainConfig, mlperf_trimmed, train_digits

torch = pytest.importorskip("torch")


def test_mlperf_trimming_by_hand() -> None:
    assert mlperf_trimmed([5.0, 1.0, 3.0, 4.0, 2.0]) == [2.0, 3.0, 4.0]
    assert mlperf_trimmed([3.0, 1.0]) == [1.0, 3.0]  # fewer than 5 runs: keep all


def test_training_run_records_phases_and_time_to_accuracy() -> None:
    r = train_digits(TrainConfig(steps=60, eval_every=20, target_accuracy=0.5, seed=0))
    assert r.samples == 60 * 64
    assert r.samples_per_s == pytest.approx(r.samples / r.process_s)
    assert r.total_s >= r.data_load_s + r.prepare_s + r.process_s + r.eval_s - 1e-6
    assert [c[0] for c in r.curve] == [20, 40, 60]
    # Time to accuracy is the process time at the first evaluation reaching the target.
    first = next(c for c in r.curve if c[2] >= 0.5)
    assert r.steps_to_accuracy == first[0] and r.time_to_accuracy_s == pytest.approx(first[1])
    unreachable = train_digits(TrainConfig(steps=20, eval_every=20, target_accuracy=1.0))
    assert unreachable.time_to_accuracy_s is None
    assert not r.power["measured"] or r.power["energy_j"] > 0


def test_train_task_through_the_pipeline_with_gloo_scaling(tmp_path: Path) -> None:
    from pingce.core.report.render import validate_report
    from pingce.core.reporting import build_report_doc

    suite = suite_from_dict(
        {
            "standard": "server-perf",
            "name": "train-test",
            "tasks": [
                {
                    "id": "train",
                    "type": "train",
                    "steps": 40,
                    "eval_every": 20,
                    "repeats": 3,
                    "target_accuracy": 0.3,
                    "workers": [1, 2],
                    "scaling_steps": 20,
                    "backend": "gloo",
                }
            ],
        },
        "test",
        tmp_path,
    )
    store = open_store()
    run_id = execute_run(
        store, RunRequest(suite=suite, subject="builtin:digits"), show_progress=False
    )
    doc = build_report_doc(store, store.get_run(run_id))
    validate_report(doc)
    task = doc["tasks"][0]
    recs = [r.data for r in store.records(run_id)]
    runs = [d for d in recs if d["kind"] == "train-run"]
    ddp = sorted((d for d in recs if d["kind"] == "train-ddp"), key=lambda d: d["workers"])
    # Reference: the mean of the stored per-run throughputs, and the efficiency formula by hand.
    assert task["metrics"]["train_samples_per_s"]["value"] == pytest.approx(
        sum(d["samples_per_s"] for d in runs) / 3
    )
    assert [d["workers"] for d in ddp] == [1, 2] and ddp[1]["samples"] == 2 * 64 * 20
    eff = ddp[1]["samples_per_s"] / (2 * ddp[0]["samples_per_s"])
    assert task["metrics"]["train_scaling_efficiency"]["value"] == pytest.approx(eff)
    assert any(s["id"] == "train-train" for s in doc["sections"])


def test_a_hung_ddp_worker_is_killed_with_a_one_line_error(tmp_path: Path) -> None:
    """A real hang: one worker of a world of two waits forever in gloo's rendezvous.

    The join must kill it after the timeout and fail with one line, not hang the run.
    """
    import time

    import torch.multiprocessing as mp

    from pingce.core.errors import PingceError
    from pingce.perf.train.distributed import _free_port, _join, _worker

    ctx = mp.start_processes(
        _worker,
        args=(2, _free_port(), "gloo", 1, 8, 0, str(tmp_path)),
        nprocs=1,  # rank 1 never comes
        join=False,
        start_method="spawn",
    )
    started = time.monotonic()
    with pytest.raises(PingceError, match="did not finish within 5 s") as info:
        _join(ctx, 5.0)
    assert time.monotonic() - started < 30
    assert not any(p.is_alive() for p in ctx.processes)
    assert "\n" not in info.value.one_line()
