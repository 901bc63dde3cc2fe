"""The `train` task type: repeated fixed-step training runs (throughput, time to accuracy,
MLPerf's drop-fastest-and-slowest rule) and DDP scaling at several worker counts; one record
per run, so an interrupted task resumes with the runs it has."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pingce.core.execute import Outcome, WorkUnit, run_units
from pingce.core.fingerprint import content_hash
from pingce.core.spec import TaskSpec, validate_params
from pingce.core.standard import RunContext, task_row
from pingce.perf.metrics import METRIC_BY_NAME as _BY
from pingce.perf.train.workload import TrainConfig, mlperf_trimmed, train_digits


class TrainParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    steps: int = Field(default=200, ge=1)
    batch_size: int = Field(default=64, ge=1)
    lr: float = Field(default=3e-3, gt=0)
    target_accuracy: float = Field(default=0.95, gt=0, le=1)
    eval_every: int = Field(default=20, ge=1)
    repeats: int = Field(default=5, ge=1, le=50)
    threads: int = Field(default=1, ge=1)
    workers: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [1, 2])
    scaling_steps: int = Field(default=100, ge=1)
    backend: Literal["auto", "gloo", "nccl"] = "auto"
    seed: int = 0


class TrainTask:
    type = "train"

    def __init__(self, spec: TaskSpec, source: str) -> None:
        self.spec = spec
        self.params = validate_params(TrainParams, spec.params, f"{source}: tasks.{spec.id}")

    def run(self, ctx: RunContext) -> None:
        p = self.params
        fp = {"workload": "digits-cnn-train"}
        units = [
            WorkUnit(
                content_hash(fp, "train", self.spec.id, p.model_dump(), "run", i),
                f"run{i}",
                i,
                ("run", i),
            )
            for i in range(p.repeats)
        ] + [
            WorkUnit(
                content_hash(fp, "train", self.spec.id, p.model_dump(), "ddp", w),
                f"ddp{w}",
                p.repeats + j,
                ("ddp", w),
            )
            for j, w in enumerate(p.workers)
        ]

        def process(chunk: list[WorkUnit]) -> list[Outcome]:
            from pingce.perf.train.distributed import scaling_run

            outs = []
            for u in chunk:
                kind, n = u.payload
                if kind == "run":
                    cfg = TrainConfig(
                        p.steps,
                        p.batch_size,
                        p.lr,
                        p.target_accuracy,
                        p.eval_every,
                        p.threads,
                        p.seed + n,
                    )
                    r = train_digits(cfg).to_dict()
                    outs.append(
                        Outcome(
                            {"train_samples_per_s": r["samples_per_s"]}, {"kind": "train-run", **r}
                        )
                    )
                else:
                    r = scaling_run(n, p.scaling_steps, p.batch_size, p.backend, p.seed)
                    outs.append(
                        Outcome(
                            {"train_samples_per_s": r["samples_per_s"]}, {"kind": "train-ddp", **r}
                        )
                    )
            return outs

        run_units(
            ctx.store,
            ctx.run_id,
            self.spec.id,
            units,
            process,
            chunk_size=1,
            progress=ctx.progress,
            description=f"{self.spec.id} (training)",
        )


def _row(
    name: str, items: list[float] | None = None, value: float | None = None, n: int = 1
) -> dict[str, Any]:
    m = _BY[name]
    if items and len(items) > 1:
        return m.row(items)
    return m.fixed_row(float(items[0] if items else value or 0.0), n)


def summarize_train(spec: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    runs = [r["data"] for r in records if r["data"]["kind"] == "train-run"]
    ddp = sorted(
        (r["data"] for r in records if r["data"]["kind"] == "train-ddp"), key=lambda d: d["workers"]
    )
    target = spec.get("target_accuracy", 0.95)
    metrics: dict[str, Any] = {}
    conformance, notes = [], []
    if runs:
        metrics["train_samples_per_s"] = _row(
            "train_samples_per_s", [r["samples_per_s"] for r in runs]
        )
        metrics["train_accuracy"] = _row("train_accuracy", [r["accuracy"] for r in runs])
        reached = [r["time_to_accuracy_s"] for r in runs if r["time_to_accuracy_s"] is not None]
        if len(reached) == len(runs):
            kept = mlperf_trimmed(reached)
            metrics["train_time_to_accuracy_s"] = _row("train_time_to_accuracy_s", kept)
            conformance.append(
                [
                    spec["id"],
                    "time to accuracy",
                    f"{len(runs)} runs",
                    "train_time_to_accuracy_s",
                    round(metrics["train_time_to_accuracy_s"]["value"], 4),
                    "VALID",
                    f"every run reached {target}; {len(runs) - len(kept)} extreme runs dropped",
                ]
            )
        else:
            conformance.append(
                [
                    spec["id"],
                    "time to accuracy",
                    f"{len(runs)} runs",
                    "train_time_to_accuracy_s",
                    None,
                    "INVALID",
                    f"{len(runs) - len(reached)} of {len(runs)} runs never reached accuracy {target}",
                ]
            )
        energy = [
            r["samples"] / r["power"]["energy_j"]
            for r in runs
            if r["power"].get("measured") and r["power"].get("energy_j")
        ]
        if energy:
            metrics["train_samples_per_j"] = _row("train_samples_per_j", energy)
    if len(ddp) >= 2 and ddp[0]["workers"] == 1:
        base = ddp[0]["samples_per_s"]
        last = ddp[-1]
        eff = last["samples_per_s"] / (last["workers"] * base)
        metrics["train_scaling_efficiency"] = _row(
            "train_scaling_efficiency", value=eff, n=len(ddp)
        )
        conformance.append(
            [
                spec["id"],
                "scaling",
                f"{ddp[-1]['backend']} x{last['workers']}",
                "train_scaling_efficiency",
                round(eff, 4),
                "VALID",
                f"{base:.1f} samples/s at 1 worker, {last['samples_per_s']:.1f} at {last['workers']}",
            ]
        )
    if not metrics:
        return {}
    primary = "train_samples_per_s" if "train_samples_per_s" in metrics else next(iter(metrics))
    task = task_row(
        spec, len(runs), primary, metrics, type="train", dimension="training", language="en"
    )
    indicators = [
        _BY[k].indicator_row(v, spec["id"], threshold=target if k == "train_accuracy" else None)
        for k, v in metrics.items()
    ]
    rows = []
    for r in runs:
        pw = r["power"]
        meas = pw.get("measured")
        rows.append(
            [
                f"run (seed {r['seed']})",
                round(r["samples_per_s"], 2),
                round(r["accuracy"], 4),
                None if r["time_to_accuracy_s"] is None else round(r["time_to_accuracy_s"], 4),
                round(pw["avg_w"], 2) if meas else None,
                round(pw["max_w"], 2) if meas else None,
                round(pw["energy_j"], 3) if meas else None,
                round(r["samples"] / pw["energy_j"], 3) if meas and pw["energy_j"] else None,
                round(r["cpu_utilisation"], 3),
                round(r["peak_rss_mb"], 1),
                round(r["data_load_s"], 4),
                round(r["prepare_s"], 4),
                round(r["process_s"], 4),
                round(r["total_s"], 4),
            ]
        )
    if runs and not runs[0]["power"].get("measured"):
        notes.append(f"Training power and energy not measured: {runs[0]['power'].get('reason')}.")
    charts = []
    if runs:
        charts.append(
            {
                "kind": "lines",
                "title": "Test accuracy against training time",
                "x_label": "training-step time (s)",
                "y_label": "accuracy",
                "series": [
                    {
                        "name": f"seed {r['seed']}",
                        "x": [c[1] for c in r["curve"]],
                        "y": [c[2] for c in r["curve"]],
                    }
                    for r in runs
                ],
            }
        )
    if ddp:
        charts.append(
            {
                "kind": "bars",
                "title": "Data-parallel throughput",
                "labels": [f"{d['workers']} workers" for d in ddp],
                "series": [{"name": "samples/s", "values": [d["samples_per_s"] for d in ddp]}],
                "unit": "samples/s",
            }
        )
    section = {
        "id": f"train-{spec['id']}",
        "title": f"Training: {spec['id']}",
        "title_zh": f"训练性能：{spec['id']}",
        "text": "Training record per run (GB/T 45087 fields): throughput, accuracy, time to target accuracy, "
        "average/max power, energy, samples/J, CPU utilisation, peak RSS, phase times.",
        "table": {
            "columns": [
                "run",
                "samples/s",
                "accuracy",
                "TTA s",
                "avg W",
                "max W",
                "energy J",
                "samples/J",
                "CPU util",
                "peak RSS MiB",
                "data load s",
                "prepare s",
                "process s",
                "total s",
            ],
            "rows": rows,
        },
        "charts": charts,
    }
    return {
        "tasks": [task],
        "indicators": indicators,
        "conformance": conformance,
        "sections": [section],
        "notes": notes,
    }
