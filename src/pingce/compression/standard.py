"""The compression-performance standard (testing methods for neural network model compression).

Subject: a baseline model; run option `variants` maps labels to compressed model references
(`pingce compress test` gives one, `pingce compress run` builds one per recipe) and `data` is
the labelled evaluation set. Per variant three tasks (`pingce.compression.tasks`): size
(compression ratios, FLOPs), accuracy (per-sample records: accuracy drop with a CI against the
budget, top-1 agreement, SQNR, cosine) and latency (batch 1 and N: percentiles, throughput,
speed-up with significance, peak memory, energy where measurable). The report is built by
`pingce.compression.summary`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pingce.compression.data import fit_split, load_eval_data
from pingce.compression.metrics import BY_NAME
from pingce.compression.options import CompressionOptions
from pingce.compression.tasks import DEFAULT_BUDGET, CompressionTask
from pingce.core.errors import SpecError
from pingce.core.spec import Indicator, SubjectSpec, Suite
from pingce.core.standard import Plan, PlannedTask, RunContext, execute_handlers
from pingce.models.datasets import Dataset
from pingce.models.loaded import LoadedModel, TorchModel


class CompressionSubject:
    def __init__(
        self,
        baseline: LoadedModel,
        variants: dict[str, LoadedModel],
        data: Dataset,
        scored: np.ndarray | None = None,
    ) -> None:
        self.baseline = baseline
        self.variants = variants
        self.data = data
        # indices of `data` the accuracy tasks score: all, or those a fit split left over
        self.scored = np.arange(len(data)) if scored is None else scored

    def fingerprint(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline.fingerprint(),
            "data": self.data.sha256,
            "variants": {k: v.fingerprint() for k, v in sorted(self.variants.items())},
        }

    def settings(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline.ref.raw,
            "data": self.data.source,
            "n_samples": len(self.data),
            "variants": {k: v.ref.raw for k, v in self.variants.items()},
        }


class CompressionStandard:
    id = "compression"
    title = "Neural network model compression performance"
    title_zh = "神经网络模型压缩性能测试"
    options_model = CompressionOptions

    def indicators(self) -> list[Indicator]:
        return [
            m.indicator(DEFAULT_BUDGET if m.name == "cmp_rel_accuracy_drop" else None)
            for m in BY_NAME.values()
        ]

    def validate_suite(self, suite: Suite) -> None:
        for spec in suite.spec.tasks:
            CompressionTask(spec, suite.source)

    def open_subject(self, subject: SubjectSpec, options: dict[str, Any]) -> CompressionSubject:
        from pingce.compression.text import load_model_ref

        opts = CompressionOptions.of(options)
        threads = opts.threads
        baseline = load_model_ref(subject.raw, threads=threads)
        variants = opts.variants
        if not variants:
            raise SpecError(
                "no compressed model to test", hint="pass --compressed MODEL or --recipe"
            )
        loaded = {label: load_model_ref(ref, threads=threads) for label, ref in variants.items()}
        for model in loaded.values():
            # a traced wrapper (fp16/bf16 casts) names its input `x`; torch calls are
            # positional, so the baseline's names feed it the same arrays
            if (
                isinstance(model, TorchModel)
                and list(model.input_names) != list(baseline.input_names)
                and len(model.input_names) == len(baseline.input_names)
            ):
                model.input_names = list(baseline.input_names)
        data = load_eval_data(opts.data, baseline, opts.image_size)
        split = opts.fit_split
        scored = None
        if split:
            _, scored = fit_split(len(data), int(split["seed"]), float(split["fraction"]))
        return CompressionSubject(baseline, loaded, data, scored)

    def plan(self, suite: Suite, subject: Any, options: dict[str, Any]) -> Plan:
        tasks = []
        for spec in suite.spec.tasks:
            handler = CompressionTask(spec, suite.source)
            tasks.append(PlannedTask(spec.id, handler.units(subject), handler))
        return Plan(tasks=tasks)

    def execute(self, ctx: RunContext) -> None:
        execute_handlers(ctx, lambda task: getattr(task.handler.params, "batch_size", 1))

    def summarize(
        self, suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        from pingce.compression.summary import summarize

        return summarize(suite, config, records)


def register() -> None:
    """Kept for callers of the old entry point: registration lives in `plugin.py`."""
    from pingce.compression.plugin import register as register_plugin

    register_plugin()
