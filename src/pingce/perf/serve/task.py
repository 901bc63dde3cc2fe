"""The `serve` task type: a sweep of load levels against an OpenAI-compatible endpoint, one
record per level (all its request timings); its report parts are in pingce.perf.serve.summary."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pingce.core.errors import SpecError
from pingce.core.execute import Outcome, WorkUnit, run_units
from pingce.core.fingerprint import content_hash
from pingce.core.spec import TaskSpec, validate_params
from pingce.core.standard import RunContext
from pingce.perf.serve.load import Endpoint, dataset_prompts, run_level, synthetic_prompts
from pingce.perf.serve.metrics import level_summary


class ServeParams(BaseModel):
    # Finite numbers only: a NaN rate or burstiness passed every `> 0` check.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    mode: Literal["poisson", "concurrency"] = "poisson"
    values: list[float] = Field(min_length=1)  # request rates (req/s) or concurrencies
    num_requests: int = Field(default=20, ge=1)
    burstiness: float = Field(default=1.0, gt=0)
    warmup: int = Field(default=2, ge=0)
    input_len: int = Field(default=32, ge=1)
    output_len: int = Field(default=16, ge=1)
    tokenizer: str | None = None
    dataset: str | None = None
    api: Literal["completions", "chat"] = "completions"
    ignore_eos: bool = False
    slo_ttft_ms: float | None = Field(default=None, gt=0)
    slo_tpot_ms: float | None = Field(default=None, gt=0)
    max_concurrency: int | None = Field(default=None, ge=1)
    timeout_s: float = Field(default=120.0, gt=0)
    seed: int = 0


class ServeTask:
    type = "serve"
    subject_kind = "serve"

    def __init__(self, spec: TaskSpec, source: str) -> None:
        self.spec = spec
        where = f"{source}: tasks.{spec.id}"
        self.params = validate_params(ServeParams, spec.params, where)
        if self.params.mode == "concurrency" and any(
            v < 1 or v != int(v) for v in self.params.values
        ):
            raise SpecError(f"{where}.values: concurrencies must be whole numbers >= 1")
        if any(v <= 0 for v in self.params.values):
            raise SpecError(f"{where}.values: request rates must be > 0")
        # Built here, while the suite is validated: a bad prompt file or tokenizer is an error
        # before any run is stored, not a failed run.
        p = self.params
        if p.dataset:
            self.prompts = dataset_prompts(p.dataset, p.num_requests, p.output_len)
        else:
            self.prompts = synthetic_prompts(
                p.num_requests, p.input_len, p.output_len, p.tokenizer, p.seed
            )

    def run(self, ctx: RunContext) -> None:
        p = self.params
        subj = ctx.subject
        ep = Endpoint(subj.base_url, subj.model, p.api, p.ignore_eos, subj.api_key, p.timeout_s)
        prompts = self.prompts
        fp = subj.fingerprint()
        units = [
            WorkUnit(
                content_hash(fp, "serve", self.spec.id, p.model_dump(), v), f"{p.mode}={v:g}", i, v
            )
            for i, v in enumerate(p.values)
        ]

        def process(chunk: list[WorkUnit]) -> list[Outcome]:
            outs = []
            for u in chunk:
                reqs = run_level(
                    ep,
                    prompts,
                    p.mode,
                    float(u.payload),
                    burstiness=p.burstiness,
                    warmup=p.warmup,
                    seed=p.seed,
                    max_concurrency=p.max_concurrency,
                )
                summ = level_summary(reqs, p.slo_ttft_ms, p.slo_tpot_ms)
                outs.append(
                    Outcome(
                        {"serve_output_token_throughput": summ["output_token_throughput"]},
                        {
                            "kind": "serve",
                            "mode": p.mode,
                            "value": float(u.payload),
                            "slo_ttft_ms": p.slo_ttft_ms,
                            "slo_tpot_ms": p.slo_tpot_ms,
                            "prompt_input_tokens": prompts[0].input_tokens,
                            "requests": reqs,
                        },
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
            description=f"{self.spec.id} (serve sweep)",
        )
