"""The conversion-verification standard (neural network model conversion guidelines).

Subject: a converted model (`onnx:PATH`, or any model reference) verified against its source
(run option `source`) on a dataset (run option `data`); or `zoo:all`, the offline model zoo,
for the conversion success rate. Built-in suites: `conversion/verify` and `conversion/zoo`
(`suites/*.yaml`), which `pingce convert` fills in from its options.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pingce.conversion.input_map import feed_target_through, match_inputs, parse_input_map
from pingce.conversion.metrics import BY_NAME
from pingce.conversion.options import ConversionOptions
from pingce.conversion.tasks import ConversionTask, ZooTask, source_target_names, task_class
from pingce.core.errors import SpecError
from pingce.core.spec import Indicator, SubjectSpec, Suite
from pingce.core.standard import Plan, PlannedTask, RunContext, execute_handlers
from pingce.models.datasets import Dataset, default_data, load_data
from pingce.models.loaded import LoadedModel, load_model

THRESHOLDS = {"conv_allclose_rate": 1.0, "conv_checker_pass": 1.0, "conv_shape_pass_rate": 1.0}


class PairSubject:
    """A source model, the converted model and the data to compare them on."""

    def __init__(self, source: LoadedModel, target: LoadedModel, data: Dataset) -> None:
        self.source = source
        self.target = target
        self.data = data
        self.output_names = source_target_names(source, target)
        self.input_map: dict[str, Any] = {}

    def fingerprint(self) -> dict[str, Any]:
        return {
            "source": self.source.fingerprint(),
            "target": self.target.fingerprint(),
            "data": self.data.sha256,
        }

    def settings(self) -> dict[str, Any]:
        return {
            "source": self.source.ref.raw,
            "target": self.target.ref.raw,
            "data": self.data.source,
            "n_samples": len(self.data),
            "inputs": {k: [list(v.shape), str(v.dtype)] for k, v in self.data.inputs.items()},
            **({"input_map": self.input_map} if self.input_map else {}),
        }


class ZooSubject:
    """The offline model zoo; exports go to `workdir`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)

    def fingerprint(self) -> dict[str, Any]:
        import torch

        from pingce.models.zoo import ZOO_VERSION

        return {"zoo_version": ZOO_VERSION, "torch": torch.__version__}

    def settings(self) -> dict[str, Any]:
        return {"workdir": str(self.workdir)}


class ConversionStandard:
    id = "conversion"
    title = "Neural network model conversion verification"
    title_zh = "神经网络模型转换验证"
    options_model = ConversionOptions

    def indicators(self) -> list[Indicator]:
        return [m.indicator(THRESHOLDS.get(m.name)) for m in BY_NAME.values()]

    def _task(self, spec: Any, where: str) -> ConversionTask:
        return task_class(spec.type, f"{where}: task {spec.id}: ")(spec, where)

    def validate_suite(self, suite: Suite) -> None:
        for spec in suite.spec.tasks:
            self._task(spec, suite.source)

    def open_subject(self, subject: SubjectSpec, options: dict[str, Any]) -> Any:
        opts = ConversionOptions.of(options)
        if subject.scheme == "zoo" and subject.target == "all":
            from pingce.core.paths import cache_root

            return ZooSubject(Path(opts.workdir or cache_root() / "zoo" / "exports"))
        source_ref = opts.source
        if not source_ref:
            raise SpecError(
                f"verifying {subject.raw!r} needs its source model",
                hint="pass --source MODEL (e.g. zoo:digits-cnn or model.onnx)",
            )
        threads = opts.threads
        target = load_model(subject.raw, threads=threads)
        source = load_model(str(source_ref), threads=threads)
        data = load_data(opts.data or default_data(source), source.input_names)
        mapping, how = match_inputs(
            source.input_names, target.input_names, parse_input_map(opts.input_map)
        )
        feed_target_through(target, mapping)
        subject_pair = PairSubject(source, target, data)
        subject_pair.input_map = {"map": mapping, "matched_by": how}
        return subject_pair

    def plan(self, suite: Suite, subject: Any, options: dict[str, Any]) -> Plan:
        tasks = []
        for spec in suite.spec.tasks:
            handler = self._task(spec, suite.source)
            zoo = isinstance(handler, ZooTask)
            if isinstance(subject, ZooSubject) != zoo:
                raise SpecError(
                    f"{suite.source}: task {spec.id}: type {spec.type} needs "
                    + ("the subject zoo:all" if zoo else "a model pair")
                )
            tasks.append(PlannedTask(spec.id, handler.units(subject), handler))
        return Plan(tasks=tasks)

    def execute(self, ctx: RunContext) -> None:
        execute_handlers(ctx, lambda task: getattr(task.handler.params, "batch_size", 1))

    def summarize(
        self, suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        from pingce.conversion.sections import build_sections
        from pingce.core.report.kit import IndicatorEntry, Summary, summarize_tasks

        summary = summarize_tasks(
            suite,
            config,
            records,
            metrics=BY_NAME,
            primary=lambda spec, rows: next(iter(rows)),
            default_dimension="conversion",
            indicator=lambda spec, mdef, row: IndicatorEntry.from_metric(
                mdef, row, str(spec["id"]), threshold=THRESHOLDS.get(mdef.name)
            ),
        )
        from pingce.core.store import records_by_task  # SQLAlchemy: not at registration

        sections, notes, verdict = build_sections(suite, records_by_task(records))
        input_map = config.get("settings", {}).get("input_map") or {}
        if input_map.get("matched_by") in ("position", "explicit"):
            pairs = ", ".join(f"{src} → {dst}" for dst, src in input_map["map"].items())
            notes.append(
                f"Inputs matched by {input_map['matched_by']} (source → converted): {pairs}."
            )
        return Summary(
            tasks=summary.task_rows(),
            indicators=summary.indicator_rows(),
            overall_score=verdict.get("score"),
            overall_method=verdict["method"],
            notes=notes,
            sections=sections,
            extra={"verdict": verdict},
        ).to_dict()


def register() -> None:
    """Kept for callers of the old entry point: registration lives in `plugin.py`."""
    from pingce.conversion.plugin import register as register_plugin

    register_plugin()
