"""The conversion-verification standard (neural network model conversion guidelines).

Subject: a converted model (`onnx:PATH`, or any model reference) verified against its source
(run option `source`) on a dataset (run option `data`); or `zoo:all`, the offline model zoo,
for the conversion success rate. Suites are usually built in code by `pingce convert verify`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pingce.conversion.data import Dataset, load_data
from pingce.conversion.input_map import feed_target_through, match_inputs, parse_input_map
from pingce.conversion.metrics import BY_NAME, register_metrics
from pingce.conversion.models import LoadedModel, load_model
from pingce.conversion.tasks import TASK_TYPES, ConversionTask, source_target_names
from pingce.core.errors import SpecError
from pingce.core.execute import run_units
from pingce.core.registry import commands, demos, standards
from pingce.core.spec import Indicator, SubjectSpec, Suite
from pingce.core.standard import Plan, PlannedTask, RunContext, task_row
from pingce.core.store import records_by_task

BOOTSTRAP_RESAMPLES = 1000
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

        from pingce.conversion.zoo import ZOO_VERSION

        return {"zoo_version": ZOO_VERSION, "torch": torch.__version__}

    def settings(self) -> dict[str, Any]:
        return {"workdir": str(self.workdir)}


def default_data(source: LoadedModel) -> str:
    """Data for a zoo source when none is given: its own inputs (digits or token ids)."""
    zoo_name = getattr(source, "zoo_name", None)
    if zoo_name is None:
        raise SpecError(
            f"no data given to compare {source.ref.raw!r} on",
            hint="pass --data FILE.npz (one array per model input, optional 'labels')",
        )
    from pingce.conversion.zoo import zoo_entry

    return "zoo:tokens?n=64&seq=16" if zoo_entry(zoo_name).has_sequence else "zoo:digits"


class ConversionStandard:
    id = "conversion"
    title = "Neural network model conversion verification"
    title_zh = "神经网络模型转换验证"

    def indicators(self) -> list[Indicator]:
        return [m.indicator(THRESHOLDS.get(m.name)) for m in BY_NAME.values()]

    def _task(self, spec: Any, where: str) -> ConversionTask:
        cls = TASK_TYPES.get(spec.type)
        if cls is None:
            raise SpecError(
                f"{where}: task {spec.id}: unknown type {spec.type!r}",
                hint=f"one of: {', '.join(TASK_TYPES)}",
            )
        return cls(spec, where)

    def validate_suite(self, suite: Suite) -> None:
        for spec in suite.spec.tasks:
            self._task(spec, suite.source)

    def open_subject(self, subject: SubjectSpec, options: dict[str, Any]) -> Any:
        if subject.scheme == "zoo" and subject.target == "all":
            from pingce.core.paths import cache_root

            return ZooSubject(Path(options.get("workdir") or cache_root() / "zoo" / "exports"))
        source_ref = options.get("source")
        if not source_ref:
            raise SpecError(
                f"verifying {subject.raw!r} needs its source model",
                hint="pass --source MODEL (e.g. zoo:digits-cnn or model.onnx)",
            )
        threads = options.get("threads")
        target = load_model(subject.raw, threads=threads)
        source = load_model(str(source_ref), threads=threads)
        data = load_data(str(options.get("data") or default_data(source)), source.input_names)
        mapping, how = match_inputs(
            source.input_names, target.input_names, parse_input_map(options.get("input_map"))
        )
        feed_target_through(target, mapping)
        subject_pair = PairSubject(source, target, data)
        subject_pair.input_map = {"map": mapping, "matched_by": how}
        return subject_pair

    def plan(self, suite: Suite, subject: Any, options: dict[str, Any]) -> Plan:
        tasks = []
        for spec in suite.spec.tasks:
            handler = self._task(spec, suite.source)
            if isinstance(subject, ZooSubject) != (spec.type == "conversion-zoo"):
                raise SpecError(
                    f"{suite.source}: task {spec.id}: type {spec.type} needs "
                    + ("the subject zoo:all" if spec.type == "conversion-zoo" else "a model pair")
                )
            tasks.append(PlannedTask(spec.id, handler.units(subject), handler))
        return Plan(tasks=tasks)

    def execute(self, ctx: RunContext) -> None:
        for task in ctx.plan.tasks:
            chunk = getattr(task.handler.params, "batch_size", 1)
            run_units(
                ctx.store,
                ctx.run_id,
                task.task_id,
                task.units,
                lambda units, h=task.handler: h.process(ctx.subject, units),
                chunk_size=chunk,
                progress=ctx.progress,
                description=task.task_id,
            )

    def summarize(
        self, suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        from pingce.conversion.sections import build_sections

        by_task = records_by_task(records)
        tasks, indicators = [], []
        for spec in suite["tasks"]:
            recs = by_task.get(spec["id"], [])
            if not recs:
                continue
            rows = metric_rows(recs, BY_NAME)
            if not rows:  # e.g. every timing failed: the section still explains why
                continue
            for name, row in rows.items():
                indicators.append(
                    indicator_row(BY_NAME[name], row, spec["id"], THRESHOLDS.get(name))
                )
            primary = next(iter(rows), "")
            tasks.append(task_row(spec, len(recs), primary, rows, default_dimension="conversion"))
        sections, notes, verdict = build_sections(suite, by_task, tasks)
        input_map = config.get("settings", {}).get("input_map") or {}
        if input_map.get("matched_by") in ("position", "explicit"):
            pairs = ", ".join(f"{src} → {dst}" for dst, src in input_map["map"].items())
            notes.append(
                f"Inputs matched by {input_map['matched_by']} (source → converted): {pairs}."
            )
        score = verdict.get("score")
        return {
            "tasks": tasks,
            "dimensions": [],
            "overall": {"score": score, "method": verdict["method"]},
            "indicators": indicators,
            "samples": [],
            "notes": notes,
            "sections": sections,
            "extra": {"verdict": verdict},
        }


def metric_rows(
    recs: Sequence[dict[str, Any]], catalogue: dict[str, Any], seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Every catalogue metric present in the records' scores, with its CI (from core stats)."""
    rows: dict[str, dict[str, Any]] = {}
    for name, mdef in catalogue.items():
        items = [r["scores"][name] for r in recs if name in r["scores"]]
        if not items:
            continue
        rows[name] = mdef.row(items, seed=seed, n_resamples=BOOTSTRAP_RESAMPLES)
    return rows


def indicator_row(
    mdef: Any, row: dict[str, Any], scope: str, threshold: float | None
) -> dict[str, Any]:
    """`mdef.indicator_row` with a pass/fail verdict against `threshold` (when one is set)."""
    verdict = None
    if threshold is not None:
        ok = row["value"] >= threshold if mdef.direction == "higher" else row["value"] <= threshold
        verdict = "pass" if ok else "fail"
    return mdef.indicator_row(row, scope, threshold=threshold, verdict=verdict)


def register() -> None:
    """Entry point (via pingce.builtin) for the conversion standard."""
    if "conversion" in standards._items:
        return
    register_metrics()
    standards.register("conversion", ConversionStandard())
    from pingce.conversion.cli import app
    from pingce.conversion.demo import run_conversion_demo

    commands.register("convert", app)
    demos.register("35-conversion", run_conversion_demo)
