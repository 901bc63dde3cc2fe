"""The steel decision-model standard (钢铁生产冶炼过程智能决策数据处理与模型构建技术要求).

Two kinds of subject, one pipeline:

- an end-point model (``pickle:``, ``onnx:``, ``python:``, ``http://``; see `steel.models`)
  scored on time-ordered held-out heats (`steel.endpoint`, `steel.importance`);
- a heat table (``heats:PATH`` or ``heats:generated?heats=600&seed=0``) checked for
  process-data quality (`steel.quality.*`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pingce.core.errors import SpecError
from pingce.core.options import CommonOptions
from pingce.core.spec import Indicator, SubjectSpec, Suite, TaskSpec, validate_params
from pingce.core.standard import Plan, PlannedTask, RunContext, execute_handlers
from pingce.steel.task_types import ENDPOINT, IMPORTANCE, steel_task_types

STANDARD_ID = "steel"


class SteelOptions(CommonOptions):
    trust_pickle: bool = False  # loading a pickle runs code from it: only for trusted files


def params_for(spec: TaskSpec, where: str, base_dir: Path | None = None) -> Any:
    from pingce.steel.model_eval import EndpointParams, ImportanceParams
    from pingce.steel.process_data import QualityParams

    models = {ENDPOINT: EndpointParams, IMPORTANCE: ImportanceParams}
    if spec.type in models:
        model: Any = models[spec.type]
    elif spec.type in steel_task_types():
        model = QualityParams
    else:
        raise SpecError(
            f"{where}: task {spec.id}: unknown type {spec.type!r}",
            hint=f"one of: {', '.join(steel_task_types())}",
        )
    params = validate_params(model, spec.model_dump(), where)
    if base_dir is not None:
        update = {}
        for name in ("data", "series", "schema_"):
            value = getattr(params, name, None)
            is_path = name != "schema_" or str(value).endswith((".yaml", ".yml"))
            if isinstance(value, str) and is_path and not Path(value).is_absolute():
                update[name] = str(base_dir / value)
        params = params.model_copy(update=update)
    return params


FUNNEL_KEYS = ("heats_in", "heats_out", "removed", "values_changed", "series_rows_out")


def read_funnel(spec: SubjectSpec) -> list[dict[str, Any]] | None:
    """The processing funnel of the heat table: `?funnel=stats.json`, or the `stats.json`
    that `pingce steel process` wrote next to it. The file is untrusted: only step names and
    integer counts are kept."""
    import json

    given = spec.params.get("funnel")
    path = Path(given) if given else Path(spec.target).parent / "stats.json"
    if not path.is_file():
        if given:
            raise SpecError(f"subject {spec.raw!r}: funnel file {path} does not exist")
        return None
    if not given and Path(spec.target).name != "heats.csv":
        return None
    try:
        raw = json.loads(path.read_bytes()[:1_000_000])
    except (ValueError, UnicodeDecodeError):
        raise SpecError(f"funnel file {path} is not JSON written by pingce steel process") from None
    steps = raw.get("funnel") if isinstance(raw, dict) else None
    if not isinstance(steps, list) or not all(isinstance(x, dict) for x in steps):
        raise SpecError(f"funnel file {path}: expected a 'funnel' list of steps")
    out = []
    for step in steps[:50]:
        entry: dict[str, Any] = {"step": str(step.get("step", "?"))[:60]}
        for key in FUNNEL_KEYS:
            value = step.get(key)
            entry[key] = value if isinstance(value, int) and not isinstance(value, bool) else None
        out.append(entry)
    return out


class HeatsSubject:
    """A heat table under test (and, for time-series checks, its sensor series)."""

    def __init__(self, spec: SubjectSpec) -> None:
        from pingce.steel.heats import generated_heats, load_heats, load_schema

        schema = load_schema(spec.params.get("schema"))
        units = dict(u.split(":", 1) for u in spec.params.get("units", "").split(",") if ":" in u)
        self.spec = spec
        self._series_path = spec.params.get("series")
        if spec.target == "generated":
            try:
                heats, seed = int(spec.params.get("heats", 600)), int(spec.params.get("seed", 0))
            except ValueError:
                raise SpecError(f"subject {spec.raw!r}: heats and seed must be integers") from None
            if not 20 <= heats <= 200_000:
                raise SpecError(f"subject {spec.raw!r}: heats must be between 20 and 200000")
            self.table = generated_heats(heats, seed, schema)
            self._fp: dict[str, Any] = {"generated": [heats, seed]}
        else:
            from pingce.core.fingerprint import path_digest

            self.table = load_heats(spec.target, schema, units)
            self._fp = {"heats": path_digest(spec.target)}
        self.funnel = None if spec.target == "generated" else read_funnel(spec)
        series = None
        if self._series_path:
            from pingce.core.fingerprint import path_digest

            series = path_digest(self._series_path)
        self._fp.update(units=units, schema=spec.params.get("schema"), series=series)
        if self.funnel is not None:
            self._fp["funnel"] = self.funnel

    def fingerprint(self) -> dict[str, Any]:
        return self._fp

    def settings(self) -> dict[str, Any]:
        out: dict[str, Any] = {"heats": self.spec.raw, "rows": len(self.table.frame)}
        if self.funnel is not None:
            out["funnel"] = self.funnel
        return out

    def series_source(self) -> str:
        return self._series_path or "generated"

    def series(self, path: str | None) -> Any:
        from pingce.steel.generator import generate_series
        from pingce.steel.process_data import load_series

        ref = path or self._series_path
        if ref:
            return load_series(ref)
        if self.spec.target == "generated":
            return generate_series(self.table.frame, seed=int(self.spec.params.get("seed", 0)))
        raise SpecError(
            "task steel.quality.timeseries needs a sensor series: give the task a 'series' file or the subject ?series=PATH"
        )


class SteelStandard:
    id = STANDARD_ID
    title = "Intelligent decision-making in steel production and smelting: data processing and model construction"
    title_zh = "钢铁生产冶炼过程智能决策数据处理与模型构建技术要求"
    options_model = SteelOptions

    def indicators(self) -> list[Indicator]:
        from pingce.steel.metrics import CATALOGUE, THRESHOLDS

        return [m.indicator(threshold=THRESHOLDS.get(m.name)) for m in CATALOGUE.values()]

    def validate_suite(self, suite: Suite) -> None:
        kinds = set()
        for spec in suite.spec.tasks:
            params_for(spec, suite.source)
            kinds.add("quality" if spec.type.startswith("steel.quality.") else "model")
        if len(kinds) > 1:
            raise SpecError(
                f"{suite.source}: a steel suite mixes model tasks and data-quality tasks, which need different subjects"
            )

    def check_data(self, suite: Suite, options: dict[str, Any]) -> None:
        """Read every model task's heat table before the model is opened (data errors first)."""
        from pingce.steel.model_eval import load_table

        for spec in suite.spec.tasks:
            if spec.type in (ENDPOINT, IMPORTANCE):
                load_table(params_for(spec, suite.source, suite.base_dir))

    def open_subject(self, subject: SubjectSpec, options: dict[str, Any]) -> Any:
        from pingce.steel.models import SCHEMES, open_model

        if subject.scheme == "heats":
            return HeatsSubject(subject)
        if subject.scheme in SCHEMES:
            return open_model(subject, dict(SteelOptions.of(options)))
        raise SpecError(
            f"subject {subject.raw!r}: the steel standard has no {subject.scheme!r} subjects",
            hint="use heats:TABLE.csv for data checks, or a model: pickle:M.pkl, onnx:M.onnx, python:mod:fn, http://HOST/PATH",
        )

    def plan(self, suite: Suite, subject: Any, options: dict[str, Any]) -> Plan:
        from pingce.steel.model_eval import EndpointTask, ImportanceTask, load_table
        from pingce.steel.process_data import QualityTask

        opts = SteelOptions.of(options)
        tasks, splits, data_notes, tables = [], {}, [], {}
        for spec in suite.spec.tasks:
            params = params_for(spec, suite.source, suite.base_dir)
            handler: Any
            if spec.type in (ENDPOINT, IMPORTANCE):
                if isinstance(subject, HeatsSubject):
                    raise SpecError(
                        f"task {spec.id}: {spec.type} needs a model subject (pickle:, onnx:, python:, http://)"
                    )
                key = (
                    params.data,
                    params.generated,
                    params.schema_,
                    tuple(sorted(params.units.items())),
                )
                if key not in tables:
                    tables[key] = load_table(params)
                cls = EndpointTask if spec.type == ENDPOINT else ImportanceTask
                handler = cls(params, tables[key], subject)
                splits[spec.id] = handler.test.split_text
                data_notes += [f"{spec.id}: {n}" for n in handler.test.notes]
            else:
                if not isinstance(subject, HeatsSubject):
                    raise SpecError(
                        f"task {spec.id}: {spec.type} needs a heat table subject (heats:TABLE.csv)"
                    )
                handler = QualityTask(params, spec.type.rsplit(".", 1)[1])
            units = handler.units(subject)
            if opts.limit is not None:
                units = units[: max(opts.limit, 0)]
            tasks.append(PlannedTask(spec.id, units, handler))
        return Plan(
            tasks=tasks, settings={"tasks": len(tasks), "splits": splits, "data_notes": data_notes}
        )

    def execute(self, ctx: RunContext) -> None:
        execute_handlers(ctx, lambda task: 512)

    def summarize(
        self, suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        from pingce.steel.summary import summarize

        return summarize(suite, config, records)
