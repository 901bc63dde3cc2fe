"""Code generation scored by running the program against its tests: pass@k.

For each problem the model writes `n_samples` completions (sampled with seeds seed, seed+1,
...; greedy when n_samples is 1); each completion is placed into the `program` template with
the row's fields and run in the sandbox (`pingce.llm.sandbox`); a program passes only when its
test code ran to the end (the harness's nonce, not the exit status, decides; see
docs/design/sandbox.md). pass@k per problem uses the unbiased estimator
(`pingce.llm.pass_at_k`), so the task score is its mean over problems.

The isolation layer comes from `pingce run --sandbox` (else the task's `sandbox:` field, else
bubblewrap); with no real layer available the task refuses to run unless the user passes
`--sandbox none --allow-unsafe-code`.

    - id: humaneval
      type: code_generation
      prompt: "{{ prompt }}"
      program: "{{ prompt }}{{ completion }}\n\n{{ test }}\n\ncheck({{ entry_point }})\n"
      n_samples: 10
      generation: {temperature: 0.8, max_new_tokens: 512}
      metrics: [pass@1, pass@10]
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from pingce.backends.base import GenerationParams, GenerationRequest, LanguageModel
from pingce.backends.served import chat_request
from pingce.core.errors import PingceError, SpecError
from pingce.core.execute import Outcome, WorkUnit
from pingce.llm.catalogue_metrics import PASS_AT
from pingce.llm.datasets import Row
from pingce.llm.pass_at_k import pass_at_k
from pingce.llm.prompts import render
from pingce.llm.reasoning import answer_part
from pingce.llm.sandbox import SandboxLimits, resolve_layer, run_programs
from pingce.llm.task_types import llm_task_type
from pingce.llm.tasks.base import RunSettings, Timer
from pingce.llm.tasks.generative import GenerativeParams, GenerativeTask

Program = tuple[str, str]  # (program up to and with the completion, its tests)
_MARK = f"\x00pingce-completion-{secrets.token_hex(8)}\x00"


class CodeGenerationParams(GenerativeParams):
    program: str  # Jinja template with the row's fields and `completion`
    target: str = "{{ '' }}"  # code tasks have no reference text
    # No stripping by default: a completion's leading indentation is part of the program.
    filters: list[str | dict[str, Any]] = Field(default_factory=list)
    n_samples: int = Field(default=1, ge=1, le=1000)
    timeout_s: float = Field(default=5.0, gt=0, le=600)
    memory_mb: int = Field(default=1024, ge=64)
    workers: int = Field(default=2, ge=1, le=64)  # programs run at once
    output_kib: int = Field(default=1024, ge=1, le=65536)  # stdout/stderr cap per program
    sandbox: Literal["auto", "bwrap", "docker", "podman", "none"] = "auto"
    sandbox_image: str = "python:3.11-slim"  # docker/podman only; never pulled
    # Compile and run the template's text after `{{ completion }}` (the tests) on its own.
    separate_tests: bool = True

    @model_validator(mode="after")
    def _sampling(self) -> CodeGenerationParams:
        if self.n_samples > 1 and self.generation.temperature <= 0:
            raise ValueError(
                "n_samples > 1 needs generation.temperature > 0 (else the samples are equal)"
            )
        return self


@llm_task_type("code_generation")
class CodeGenerationTask(GenerativeTask):
    type_name = "code_generation"
    Params = CodeGenerationParams
    allowed_metrics = tuple(f"pass@{k}" for k in PASS_AT)
    default_metrics = ("pass@1",)
    params: CodeGenerationParams

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.metric_names:
            k = int(name.split("@")[1])
            if k > self.params.n_samples:
                raise SpecError(f"{self.where}.metrics: {name} needs n_samples >= {k}")

    sandbox_layer: str | None = None  # set by configure_sandbox before the run

    def _program(self, payload: dict[str, Any], completion: str, where: str) -> str | Program:
        """The program, split into (up to and with the completion, tests) where the template
        allows it, so the completion cannot swallow the tests into a string or skip them."""
        template, row = payload["program_template"], payload["row"]
        full = render(template, {**row, "completion": completion}, where)
        if not self.params.separate_tests:
            return full
        marked = render(template, {**row, "completion": _MARK}, where)
        if marked.count(_MARK) != 1:
            return full
        before, after = marked.split(_MARK)
        if before + completion + after != full:  # a filter changed the completion
            return full
        return (before + completion, after)

    def configure_sandbox(self, options: dict[str, Any]) -> None:
        """Choose and check the isolation layer now, before any model runs (PingceError)."""
        requested = options.get("sandbox") or self.params.sandbox
        try:
            self.sandbox_layer = resolve_layer(
                requested, bool(options.get("allow_unsafe_code")), self.params.sandbox_image
            )
        except PingceError as exc:
            raise SpecError(f"{self.where}: {exc.message}", hint=exc.hint) from None

    def _limits(self) -> SandboxLimits:
        return SandboxLimits(
            timeout_s=self.params.timeout_s,
            memory_mb=self.params.memory_mb,
            output_kib=self.params.output_kib,
            layer=self.params.sandbox,
            image=self.params.sandbox_image,
        )

    def build(
        self, row: Row, shots: Sequence[Row], where: str, settings: RunSettings
    ) -> dict[str, Any]:
        payload = super().build(row, shots, where, settings)
        # Rendered now with a placeholder, so a template error surfaces before the model runs.
        render(self.params.program, {**row, "completion": ""}, where)
        payload["row"] = {k: v for k, v in row.items() if isinstance(v, str | int | float | list)}
        payload["n_samples"] = self.params.n_samples
        payload["program_template"] = self.params.program
        return payload

    def _requests(self, lm: LanguageModel, unit: WorkUnit) -> list[Any]:
        p = unit.payload
        params = dict(p["params"])
        params["until"] = tuple(params["until"])
        base = GenerationParams(**params)
        reqs = []
        for i in range(p["n_samples"]):
            gp = dataclasses.replace(base, seed=base.seed + i)
            if "messages" in p and getattr(lm, "supports_chat", False):
                reqs.append(chat_request(p["messages"], gp))
            else:
                context = lm.chat_prompt(p["messages"]) if "messages" in p else p["context"]
                reqs.append(GenerationRequest(context, gp))
        return reqs

    def process(self, lm: LanguageModel, units: list[WorkUnit]) -> list[Outcome]:
        per_unit = [self._requests(lm, u) for u in units]
        flat = [r for reqs in per_unit for r in reqs]
        with Timer():
            generations = lm.generate(flat)
        programs = []
        completions = []
        at = 0
        for unit, reqs in zip(units, per_unit, strict=True):
            gens = generations[at : at + len(reqs)]
            at += len(reqs)
            thinking = unit.payload.get("reasoning")
            texts = [self.extract(answer_part(g.text, thinking)[0]) for g in gens]
            completions.append((gens, texts))
            where = f"{self.id}: sample {unit.sample_id}"
            programs.extend(self._program(unit.payload, t, where) for t in texts)
        if self.sandbox_layer is None:
            self.configure_sandbox({})
        results = run_programs(
            programs, self._limits(), workers=self.params.workers, layer=self.sandbox_layer
        )
        outcomes = []
        at = 0
        for unit, (gens, texts) in zip(units, completions, strict=True):
            res = results[at : at + len(texts)]
            at += len(texts)
            n = len(res)
            c = sum(r.passed for r in res)
            scores = {name: pass_at_k(n, c, int(name.split("@")[1])) for name in self.metric_names}
            outcomes.append(
                Outcome(
                    scores=scores,
                    data={
                        "prompt": unit.payload.get("context", ""),
                        "output": gens[0].text,
                        "extracted": texts[0],
                        "reference": "",
                        "n": n,
                        "c": c,
                        "results": [
                            {
                                "status": r.status,
                                "reason": r.reason,
                                "seconds": round(r.seconds, 3),
                                "stderr": r.stderr[-300:],
                                "truncated": r.truncated,
                            }
                            for r in res
                        ],
                        "isolation": res[0].isolation if res else "",
                        "sandbox": self.sandbox_layer,
                        "usage": {
                            "tokens_in": sum(g.tokens_in for g in gens),
                            "tokens_out": sum(g.tokens_out for g in gens),
                            "requests": len(gens),
                            "seconds": sum(g.seconds for g in gens),
                        },
                    },
                )
            )
        return outcomes


def sandbox_notes(records: Sequence[dict[str, Any]]) -> list[str]:
    """Report notes naming the isolation each code task's programs ran under."""
    by_task: dict[str, set[str]] = {}
    for r in records:
        data = r.get("data") or {}
        if "isolation" in data and "n" in data:
            by_task.setdefault(r["task"], set()).add(str(data["isolation"] or "unknown"))
    notes = []
    unsafe = sorted(t for t, layers in by_task.items() if any(x.startswith("none") for x in layers))
    if unsafe:
        notes.append(
            "UNISOLATED: model-written code ran without a sandbox (--sandbox none "
            f"--allow-unsafe-code) for {', '.join(unsafe)}; its pass@k can be forged and the "
            "programs could reach this machine."
        )
    for task, layers in sorted(by_task.items()):
        notes.append(f"Code execution for {task}: {', '.join(sorted(layers))}.")
    return notes
