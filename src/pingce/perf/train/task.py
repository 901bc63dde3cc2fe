"""The `train` task type: repeated fixed-step training runs (throughput, time to accuracy,
MLPerf's drop-fastest-and-slowest rule) and DDP scaling at several worker counts; one record
per run, so an interrupted task resumes with the runs it has."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from pingce.core.execute import Outcome, WorkUnit, run_units
from pingce.core.fingerprint import content_hash
from pingce.core.spec import TaskSpec, validate_params
from pingce.core.standard import RunContext
from pingce.perf.train.workload import TrainConfig, train_digits


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
