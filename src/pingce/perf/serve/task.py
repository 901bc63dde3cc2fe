"""The `serve` task type: a sweep of load levels against an OpenAI-compatible endpoint, one
record per level (all its request timings), and its report rows and sections."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pingce.core.errors import SpecError
from pingce.core.execute import Outcome, WorkUnit, run_units
from pingce.core.fingerprint import content_hash
from pingce.core.spec import TaskSpec, validate_params
from pingce.core.standard import RunContext
from pingce.perf.metrics import METRIC_BY_NAME as _BY_NAME
from pingce.perf.serve.load import Endpoint, dataset_prompts, run_level, synthetic_prompts
from pingce.perf.serve.metrics import level_summary, request_metrics


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


def _row(
    name: str, items: list[float] | None = None, value: float | None = None, n: int = 0
) -> dict[str, Any]:
    m = _BY_NAME[name]
    return m.row(items) if items else m.fixed_row(float(value or 0.0), n)


def summarize_serve(spec: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """Task rows (one per load level), indicators, conformance rows and report sections."""
    tasks, indicators, conformance, table = [], [], [], []
    curves: dict[str, list[float]] = {"x": [], "tok": [], "req": [], "good": [], "ttft99": []}
    cdf_series = []
    for rec in records:
        d = rec["data"]
        reqs = d["requests"]
        s = level_summary(reqs, d["slo_ttft_ms"], d["slo_tpot_ms"])
        ok = [r for r in reqs if not r["error"]]
        per = [request_metrics(r) for r in ok]
        label = f"{spec['id']}@{d['mode']}={d['value']:g}"
        metrics = {
            "serve_output_token_throughput": _row(
                "serve_output_token_throughput",
                value=s["output_token_throughput"],
                n=s["completed"],
            ),
            "serve_request_throughput": _row(
                "serve_request_throughput", value=s["request_throughput"], n=s["completed"]
            ),
            "serve_goodput": _row("serve_goodput", value=s["goodput"], n=s["completed"]),
        }
        for name, key in (
            ("serve_ttft_ms", "ttft_ms"),
            ("serve_e2e_ms", "e2e_ms"),
            ("serve_tpot_ms", "tpot_ms"),
        ):
            vals = [m[key] for m in per if m[key] is not None]
            if vals:
                metrics[name] = _row(name, vals)
        itl = [g for m in per for g in m["itl_ms"]]
        if itl:
            metrics["serve_itl_ms"] = _row("serve_itl_ms", itl)
        tasks.append(
            {
                "id": label,
                "title": label,
                "title_zh": "",
                "type": "serve",
                "dimension": "llm-serving",
                "language": "en",
                "n_samples": len(reqs),
                "primary_metric": "serve_output_token_throughput",
                "metrics": metrics,
            }
        )
        for name, row in metrics.items():
            m = _BY_NAME[name]
            indicators.append(
                {
                    "id": name,
                    "name": name,
                    "name_zh": m.name_zh,
                    "unit": m.unit,
                    "direction": m.direction,
                    "definition": m.definition,
                    **{k: row[k] for k in ("value", "stderr", "ci_low", "ci_high", "n")},
                    "scope": label,
                    "threshold": None,
                    "verdict": None,
                }
            )
        verdict = "VALID" if s["failed"] == 0 else "INVALID"
        why = f"{s['completed']}/{s['requests']} completed, {s['good_requests']} met the SLOs"
        if s["errors"]:
            why += "; errors: " + "; ".join(s["errors"])
        conformance.append(
            [
                label,
                "llm-serve",
                d["mode"],
                "serve_output_token_throughput",
                round(s["output_token_throughput"], 4),
                verdict,
                why,
            ]
        )
        for key in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"):
            dist = s[key]
            table.append(
                [
                    label,
                    key.removesuffix("_ms").upper(),
                    dist["n"],
                    *[_r(dist[k]) for k in ("mean", "p50", "p90", "p95", "p99")],
                ]
            )
        curves["x"].append(d["value"])
        curves["tok"].append(s["output_token_throughput"])
        curves["req"].append(s["request_throughput"])
        curves["good"].append(s["goodput"])
        curves["ttft99"].append(s["ttft_ms"]["p99"])
        ttfts = sorted(m["ttft_ms"] for m in per)
        if ttfts:
            cdf_series.append(
                {"name": label, "x": ttfts, "y": [(i + 1) / len(ttfts) for i in range(len(ttfts))]}
            )
    xl = (
        "request rate (req/s)"
        if records and records[0]["data"]["mode"] == "poisson"
        else "concurrent clients"
    )
    sections = [
        {
            "id": f"serve-{spec['id']}",
            "title": f"LLM serving: {spec['id']}",
            "title_zh": f"大模型服务性能：{spec['id']}",
            "text": "TTFT = first text chunk - send; TPOT = (E2E - TTFT)/(output tokens - 1); ITL = every gap "
            "between streamed chunks; E2E = last byte - send; goodput = requests meeting all SLOs / window.",
            "table": {
                "columns": ["level", "metric", "n", "mean ms", "p50", "p90", "p95", "p99"],
                "rows": table,
            },
            "charts": [
                {
                    "kind": "lines",
                    "title": "Throughput against load",
                    "x_label": xl,
                    "y_label": "per second",
                    "series": [
                        {"name": "output tokens/s", "x": curves["x"], "y": curves["tok"]},
                        {"name": "requests/s", "x": curves["x"], "y": curves["req"]},
                        {"name": "goodput req/s", "x": curves["x"], "y": curves["good"]},
                    ],
                },
                {
                    "kind": "lines",
                    "title": "TTFT p99 against load",
                    "x_label": xl,
                    "y_label": "ms",
                    "series": [{"name": "TTFT p99", "x": curves["x"], "y": curves["ttft99"]}],
                },
                {
                    "kind": "lines",
                    "title": "TTFT CDF",
                    "x_label": "TTFT (ms)",
                    "y_label": "fraction",
                    "series": cdf_series,
                },
            ],
        }
    ]
    return {
        "tasks": tasks,
        "indicators": indicators,
        "conformance": conformance,
        "sections": sections,
    }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 4)
