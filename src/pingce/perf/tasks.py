"""Task types of the server-perf standard and how each runs.

- `accuracy`: every sample once; the accuracy gate of the closed division.
- `scenario`: one SingleStream / MultiStream / Server / Offline run (one record).
- `server-search`: bisection on the Server target QPS for the highest valid one (one record per
  probe, so an interrupted search resumes with the probes it already ran).

(`serve` and `train` task types live in pingce.perf.serve and pingce.perf.train.)
Records are keyed by content hashes of (subject fingerprint, task spec, probe), so a resumed
run recomputes nothing it has stored.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pingce.core.execute import Outcome, WorkUnit, run_units
from pingce.core.fingerprint import content_hash
from pingce.core.spec import TaskSpec, validate_params
from pingce.core.standard import RunContext
from pingce.core.store import records_as_dicts
from pingce.perf.conformance import PRIMARY, accuracy_verdict, scenario_figures, scenario_verdict
from pingce.perf.loadgen import accuracy_run, run_scenario
from pingce.perf.scenarios import ScenarioConfig, make_config


class _Params(BaseModel):
    # No inf/NaN: an infinite duration or bound overflows the load generator mid-run.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class AccuracyParams(_Params):
    pass


class ScenarioParams(_Params):
    scenario: str
    arrival: str | None = None
    target_qps: float | None = Field(default=None, gt=0)
    samples_per_query: int | None = Field(default=None, ge=1)
    min_duration_s: float | None = Field(default=None, gt=0)
    min_query_count: int | None = Field(default=None, ge=1)
    max_duration_s: float | None = Field(default=None, gt=0)
    latency_bound_ms: float | None = Field(default=None, gt=0)
    percentile: float | None = None
    workers: int = Field(default=1, ge=1)
    offline_samples: int | None = Field(default=None, ge=1)
    mixed_phase_s: float = Field(default=0.5, gt=0)
    seed: int = 1234
    warmup: int = Field(default=5, ge=0)

    def config(self, where: str) -> ScenarioConfig:
        d = self.model_dump(exclude={"warmup"})
        return make_config(d.pop("scenario"), where=where, **d)


class SearchParams(_Params):
    latency_bound_ms: float = Field(gt=0)
    qps_low: float = Field(default=1.0, gt=0)
    qps_high: float | None = Field(default=None, gt=0)
    steps: int = Field(default=6, ge=1, le=20)
    min_duration_s: float | None = Field(default=None, gt=0)
    min_query_count: int | None = Field(default=None, ge=1)
    percentile: float = 0.99
    workers: int = Field(default=1, ge=1)
    seed: int = 1234


def _where(suite_source: str, spec: TaskSpec) -> str:
    return f"{suite_source}: tasks.{spec.id}"


def _params(spec: TaskSpec) -> dict[str, Any]:
    p = spec.params
    p.pop("metrics", None)
    return p


class AccuracyTask:
    type = "accuracy"

    def __init__(self, spec: TaskSpec, source: str) -> None:
        self.spec = spec
        self.params = validate_params(AccuracyParams, _params(spec), _where(source, spec))

    def run(self, ctx: RunContext) -> None:
        fp = ctx.subject.fingerprint()
        unit = WorkUnit(content_hash(fp, "accuracy", self.spec.id), "accuracy", 0, None)

        def process(units: list[WorkUnit]) -> list[Outcome]:
            acc = accuracy_run(ctx.subject.sut, ctx.subject.data)
            scores = {} if acc["accuracy"] is None else {"perf_accuracy": acc["accuracy"]}
            return [Outcome(scores, {"kind": "accuracy", **acc})]

        run_units(
            ctx.store,
            ctx.run_id,
            self.spec.id,
            [unit],
            process,
            chunk_size=1,
            progress=ctx.progress,
            description=f"{self.spec.id} (accuracy)",
        )


class ScenarioTask:
    type = "scenario"

    def __init__(self, spec: TaskSpec, source: str) -> None:
        self.spec = spec
        where = _where(source, spec)
        self.params = validate_params(ScenarioParams, _params(spec), where)
        self.config = self.params.config(where)

    def run(self, ctx: RunContext) -> None:
        fp = ctx.subject.fingerprint()
        key = content_hash(fp, "scenario", self.spec.id, self.config.to_dict())
        unit = WorkUnit(key, self.config.scenario, 0, None)

        def process(units: list[WorkUnit]) -> list[Outcome]:
            rd = run_scenario(ctx.subject.sut, ctx.subject.data, self.config, self.params.warmup)
            d = rd.to_dict()
            figs = scenario_figures(d)
            metric = PRIMARY[self.config.scenario][0]
            return [Outcome({metric: _primary_value(metric, figs)}, {"kind": "scenario", **d})]

        run_units(
            ctx.store,
            ctx.run_id,
            self.spec.id,
            [unit],
            process,
            chunk_size=1,
            progress=ctx.progress,
            description=f"{self.spec.id} ({self.config.scenario})",
        )


def _primary_value(metric: str, figs: dict[str, Any]) -> float:
    if metric == "perf_samples_per_s":
        return float(figs["samples_per_s"] or 0.0)
    if metric == "perf_qps":
        return float(figs["qps"] or 0.0)
    return float(figs.get("latency_at_percentile_ms") or 0.0)


class ServerSearchTask:
    """Bisection on the target QPS: a probe is valid when the Server p99 bound holds."""

    type = "server-search"

    def __init__(self, spec: TaskSpec, source: str) -> None:
        self.spec = spec
        self.where = _where(source, spec)
        self.params = validate_params(SearchParams, _params(spec), self.where)
        self.probe_config(self.params.qps_low)  # surfaces bad settings before the run

    def probe_config(self, qps: float) -> ScenarioConfig:
        p = self.params
        return make_config(
            "server",
            arrival="poisson",
            target_qps=qps,
            min_duration_s=p.min_duration_s,
            min_query_count=p.min_query_count,
            latency_bound_ms=p.latency_bound_ms,
            percentile=p.percentile,
            workers=p.workers,
            seed=p.seed,
            where=self.where,
        )

    def run(self, ctx: RunContext) -> None:
        fp = ctx.subject.fingerprint()
        done = {r["key"]: r for r in records_as_dicts(ctx.store.records(ctx.run_id, self.spec.id))}
        p = self.params
        lo, hi = p.qps_low, p.qps_high
        if hi is None:  # start from the measured capacity: offline-like throughput per worker
            hi = _capacity_qps(ctx) * p.workers * 1.5
        bar = (
            ctx.progress.add_task(f"{self.spec.id} (QPS search)", total=p.steps + 1)
            if ctx.progress
            else None
        )
        probes = [lo] + [None] * p.steps
        for step, fixed in enumerate(probes):
            qps = fixed if fixed is not None else (lo + hi) / 2.0
            cfg = self.probe_config(round(qps, 3))
            key = content_hash(fp, "server-search", self.spec.id, cfg.to_dict())
            rec = done.get(key)
            if rec is None:
                rd = run_scenario(ctx.subject.sut, ctx.subject.data, cfg).to_dict()
                figs = scenario_figures(rd)
                rec = {
                    "task": self.spec.id,
                    "key": key,
                    "sample_id": f"qps={cfg.target_qps:g}",
                    "position": step,
                    "scores": {"perf_qps": float(figs["qps"] or 0.0)},
                    "data": {"kind": "scenario", "probe": step, **rd},
                }
                ctx.store.add_records(ctx.run_id, [rec])
            valid, _ = scenario_verdict(rec["data"], scenario_figures(rec["data"]), None)
            if step == 0 and not valid:
                break  # not even the lowest rate holds the bound
            if step > 0:
                if valid:
                    lo = qps
                else:
                    hi = qps
            if bar is not None and ctx.progress is not None:
                ctx.progress.advance(bar)


def _capacity_qps(ctx: RunContext) -> float:
    """Queries per second one worker sustains back to back (a short closed-loop probe)."""
    import time

    import numpy as np

    sut, data = ctx.subject.sut, ctx.subject.data
    idx = np.array([0])
    sut.predict(data.inputs[idx])
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < 0.3:
        sut.predict(data.inputs[idx])
        n += 1
    return n / (time.perf_counter() - t0)


def accuracy_gate(records: list[dict[str, Any]]) -> tuple[bool, str] | None:
    """The accuracy gate's outcome from the run's accuracy record, None if there is none."""
    for r in records:
        if r["data"].get("kind") == "accuracy":
            return accuracy_verdict(r["data"])
    return None
