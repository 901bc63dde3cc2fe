"""One lm-eval task config (includes resolved) -> one pingce `llm` task, with its gaps."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pingce.core.errors import SpecError
from pingce.llm.lmeval_import.yaml_files import (
    FunctionRef,
    NameIndex,
    UnknownTag,
    index_folder,
    read_raw,
    resolve,
)

TYPE_OF = {
    "multiple_choice": "multiple_choice",
    "generate_until": "generative",
    "loglikelihood_rolling": "perplexity",
}
# lm-eval's default metrics per output type (ConfigurableTask when metric_list is absent).
DEFAULT_METRICS = {
    "multiple_choice": ["acc", "acc_norm"],
    "generate_until": ["exact_match"],
    "loglikelihood_rolling": ["word_perplexity", "byte_perplexity", "bits_per_byte"],
}
SAME_METRICS = {
    "multiple_choice": {"acc", "acc_norm"},
    "generate_until": {"exact_match"},
    "loglikelihood_rolling": {"word_perplexity", "byte_perplexity", "bits_per_byte"},
}
EXACT_MATCH_OPTIONS = ("ignore_case", "ignore_punctuation", "ignore_numbers", "regexes_to_ignore")
METRIC_BOOKKEEPING = {"metric", "aggregation", "higher_is_better", "hf_evaluate"}
# Fields that change no per-item score: bookkeeping, decontamination, display names.
NO_EFFECT = {
    "tag", "task_alias", "group_alias", "metadata", "should_decontaminate",
    "doc_to_decontamination_query", "training_split", "dataset_path", "dataset_name",
    "dataset_kwargs", "test_split", "validation_split", "fewshot_split", "unsafe_code",
}  # fmt: skip
# lm-eval's HF model generates up to 256 new tokens unless max_gen_toks says otherwise.
LMEVAL_MAX_GEN_TOKS = 256
LOCAL_BUILDERS = {"json": "jsonl", "csv": "csv", "parquet": "parquet"}
_LIST_TEMPLATE = re.compile(r"^\{\{\s*\[(.*)\]\s*\}\}$", re.S)
# `{{ answer.aliases }}`, `{{ doc['refs'] }}`: a path into the row, which may hold a list.
_EXPRESSION = re.compile(r"^\{\{\s*[A-Za-z_]\w*(?:\.\w+|\[[^\]]*\])+\s*\}\}$")
_FIELD_TEMPLATE = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")


@dataclass(frozen=True)
class Gap:
    """One lm-eval field pingce could not express: which, its value, and why.

    `blocking` gaps leave no runnable task (e.g. a Python `doc_to_text`); the others leave a
    task that runs but may score differently, as `why` says.
    """

    field: str
    value: str
    why: str
    blocking: bool = False


@dataclass
class TaskReport:
    task: str
    source: str
    pingce_task: dict[str, Any] | None = None
    gaps: list[Gap] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.pingce_task is None or any(g.blocking for g in self.gaps):
            return "failed"
        return "partial" if self.gaps else "converted"


@dataclass
class ImportResult:
    """Suites keyed by file stem (each a pingce suite mapping) and a report per task."""

    suites: dict[str, dict[str, Any]] = field(default_factory=dict)
    reports: list[TaskReport] = field(default_factory=list)


def _short(value: Any) -> str:
    text = str(value) if isinstance(value, FunctionRef | UnknownTag) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def safe_id(name: str) -> str:
    """`name` as a pingce task id / file stem (other characters become `_`)."""
    text = re.sub(r"[^A-Za-z0-9_.\-]", "_", name)
    return text if re.match(r"[A-Za-z0-9]", text) else "t" + text


def _python_gap(name: str, value: FunctionRef, blocking: bool) -> Gap:
    where = value.module_file
    found = where.is_file() and re.search(
        rf"^def {re.escape(value.function)}\(", where.read_text("utf-8", "replace"), re.M
    )
    site = (
        f"{value.function} is defined in {where.name} next to the YAML; it was not executed"
        if found
        else f"{where.name} next to the YAML does not define {value.function}"
    )
    return Gap(
        name,
        str(value),
        f"unsupported: !function ({site}); pingce suites run no Python: "
        "preprocess the dataset file or use a native benchmark type",
        blocking,
    )


class _Converter:
    def __init__(self, name: str, cfg: dict[str, Any], source: Path) -> None:
        self.cfg = cfg
        self.report = TaskReport(name, str(source))
        self.source = source

    def gap(self, name: str, value: Any, why: str, blocking: bool = False) -> None:
        self.report.gaps.append(Gap(name, _short(value), why, blocking))

    def template(self, name: str, value: Any, blocking: bool = True) -> str | None:
        """An lm-eval doc_to_* value as a pingce template (a field name becomes `{{ f }}`)."""
        from pingce.llm.prompts import compile_template

        if isinstance(value, FunctionRef):
            self.report.gaps.append(_python_gap(name, value, blocking))
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.gap(name, value, "expected a template, a field name or an integer", blocking)
            return None
        text = str(value)
        if isinstance(value, str) and "{" not in text and re.fullmatch(r"[A-Za-z_]\w*", text):
            text = "{{ " + text + " }}"  # lm-eval: a bare name is the row's field
        elif isinstance(value, int):
            text = "{{ " + text + " }}"
        try:
            compile_template(text)
        except SpecError as exc:
            self.gap(name, value, f"not a template pingce's sandbox accepts: {exc.message}")
            return None
        return text

    def run(self) -> TaskReport:
        cfg = self.cfg
        out_type = cfg.get("output_type", "generate_until")
        if out_type not in TYPE_OF:
            self.gap(
                "output_type",
                out_type,
                "pingce has no single-continuation loglikelihood task type"
                if out_type == "loglikelihood"
                else "unknown output_type",
                blocking=True,
            )
            return self.report
        task_id = safe_id(self.report.task)
        if task_id != self.report.task:
            why = f"renamed to {task_id!r}: pingce task ids are letters, digits, '_', '.', '-'"
            self.gap("task", self.report.task, why)
        task: dict[str, Any] = {"id": task_id, "type": TYPE_OF[out_type]}
        dataset = self.dataset()
        if dataset is None:
            return self.report
        task["dataset"] = dataset
        self.prompts(task, out_type)
        self.fewshot(task)
        if out_type == "generate_until":
            self.generation(task)
            self.filters(task)
        elif "filter_list" in cfg:
            self.gap("filter_list", cfg["filter_list"], "filters apply to generations only")
        self.metrics(task, out_type)
        self.leftovers()
        if "prompt" not in task and not any(g.blocking for g in self.report.gaps):
            self.gap("doc_to_text", self.cfg.get("doc_to_text"), "a task needs a prompt", True)
        self.report.pingce_task = task
        return self.report

    def dataset(self) -> dict[str, Any] | None:
        cfg = self.cfg
        path = cfg.get("dataset_path")
        if not isinstance(path, str):
            self.gap("dataset_path", path, "a task needs a dataset", blocking=True)
            return None
        kwargs = dict(cfg.get("dataset_kwargs") or {})
        split = cfg.get("test_split") or cfg.get("validation_split")
        shot_split = cfg.get("fewshot_split") or cfg.get("training_split")
        shot_split = shot_split or cfg.get("validation_split")
        if split is None:
            self.gap("test_split", None, "neither test_split nor validation_split", blocking=True)
            return None
        if path in LOCAL_BUILDERS:
            files = kwargs.pop("data_files", None)
            kwargs.pop("cache_dir", None)  # where datasets caches, no effect on items
            if not isinstance(files, dict) or split not in files:
                self.gap("dataset_kwargs.data_files", files, f"no file for split {split!r}", True)
                return None
            out: dict[str, Any] = {"path": str(files[split]), "format": LOCAL_BUILDERS[path]}
            if path == "json" and not str(files[split]).endswith(".jsonl"):
                out["format"] = "auto"
            if shot_split and shot_split in files and shot_split != split:
                out["fewshot_path"] = str(files[shot_split])
        else:
            out = {"path": path, "format": "hf", "split": str(split)}
            if cfg.get("dataset_name") is not None:
                out["name"] = str(cfg["dataset_name"])
            if shot_split:
                out["fewshot_split"] = str(shot_split)
        for key, value in kwargs.items():
            self.gap(f"dataset_kwargs.{key}", value, "pingce's dataset reader has no such option")
        return out

    def prompts(self, task: dict[str, Any], out_type: str) -> None:
        cfg = self.cfg
        if "process_docs" in cfg:
            value = cfg["process_docs"]
            if isinstance(value, FunctionRef):
                gap = _python_gap("process_docs", value, blocking=False)
                why = gap.why + "; the templates below see the raw rows"
                self.report.gaps.append(Gap(gap.field, gap.value, why, False))
            else:
                self.gap("process_docs", value, "expected a !function")
        if out_type == "loglikelihood_rolling":
            # lm-eval scores doc_to_target by rolling loglikelihood; doc_to_text is unused.
            prompt = self.template("doc_to_target", cfg.get("doc_to_target"))
            if prompt is not None:
                task["prompt"] = prompt
            return
        prompt = self.template("doc_to_text", cfg.get("doc_to_text"))
        if prompt is not None:
            task["prompt"] = prompt
        description = cfg.get("description")
        if description:
            if "{{" in str(description) or "{%" in str(description):
                self.gap("description", description, "pingce's description is plain text")
            else:
                task["description"] = str(description)
        target = cfg.get("doc_to_target")
        if out_type == "multiple_choice":
            self.choices(task)
            if isinstance(target, str) and re.fullmatch(r"[A-Za-z_]\w*", target):
                task["target"] = target
                return
        converted = self.template("doc_to_target", target)
        if converted is not None:
            match = _FIELD_TEMPLATE.match(converted)
            task["target"] = match.group(1) if match else converted
            if out_type == "generate_until" and not match and _EXPRESSION.match(converted):
                self.gap(
                    "doc_to_target",
                    target,
                    "lm-eval reads a rendered list as several references; pingce renders "
                    "this template as one text (put the list in a row field)",
                )

    def choices(self, task: dict[str, Any]) -> None:
        value = self.cfg.get("doc_to_choice")
        if isinstance(value, list) and all(isinstance(c, str | int | float) for c in value):
            task["choices"] = [str(c) for c in value]
            return
        if isinstance(value, dict):
            task["choices"] = [str(c) for c in value.values()]
            return
        if isinstance(value, str):
            match = _FIELD_TEMPLATE.match(value.strip())
            if match or re.fullmatch(r"[A-Za-z_]\w*", value):
                task["choices"] = match.group(1) if match else value
                return
            listed = _LIST_TEMPLATE.match(value.strip())
            if listed and not re.search(r"[\[\](){}'\"]", listed.group(1)):
                # `{{[sol1, sol2]}}`: a fixed-length list, one pingce template per choice
                items = [i.strip() for i in listed.group(1).split(",")]
                if all(items):
                    task["choices"] = ["{{ " + i + " }}" for i in items]
                    return
            why = (
                "a template that computes the list; pingce's `choices` is a row field "
                "holding the list or a fixed list of templates (flatten the dataset first)"
            )
            self.gap("doc_to_choice", value, why, blocking=True)
            return
        if isinstance(value, FunctionRef):
            self.report.gaps.append(_python_gap("doc_to_choice", value, True))
            return
        self.gap("doc_to_choice", value, "a multiple-choice task needs choices", blocking=True)

    def fewshot(self, task: dict[str, Any]) -> None:
        cfg = self.cfg
        for name in ("target_delimiter", "fewshot_delimiter"):
            if name in cfg:
                task[name] = str(cfg[name])
        if cfg.get("num_fewshot"):
            task["num_fewshot"] = int(cfg["num_fewshot"])
        config = dict(cfg.get("fewshot_config") or {})
        sampler = config.pop("sampler", None)
        if sampler not in (None, "default"):
            self.gap(
                "fewshot_config.sampler",
                sampler,
                "pingce draws few-shot examples by the run seed, never the item itself",
            )
        for key, value in config.items():
            why = (
                "inline few-shot examples: pingce draws them from a dataset split (write them "
                "to a file and set dataset.fewshot_path)"
                if key == "samples"
                else "pingce has no per-shot prompt override"
            )
            self.gap(f"fewshot_config.{key}", value, why)

    def generation(self, task: dict[str, Any]) -> None:
        kwargs = dict(self.cfg.get("generation_kwargs") or {})
        until = kwargs.pop("until", None)
        if until is None:
            until = [self.cfg.get("fewshot_delimiter", "\n\n")]
        gen: dict[str, Any] = {
            "until": [str(u) for u in (until if isinstance(until, list) else [until])],
            "max_new_tokens": int(kwargs.pop("max_gen_toks", LMEVAL_MAX_GEN_TOKS)),
        }
        do_sample = bool(kwargs.pop("do_sample", False))
        temperature = float(kwargs.pop("temperature", 0.0) or 0.0)
        gen["temperature"] = temperature if do_sample else 0.0
        if do_sample and temperature == 0.0:
            self.gap("generation_kwargs.do_sample", True, "sampling at temperature 0 is greedy")
        if "top_p" in kwargs:
            gen["top_p"] = float(kwargs.pop("top_p"))
        for key, value in kwargs.items():
            self.gap(f"generation_kwargs.{key}", value, "pingce has no such generation setting")
        task["generation"] = gen

    def filters(self, task: dict[str, Any]) -> None:
        pipelines = self.cfg.get("filter_list")
        if not pipelines:
            task["filters"] = []  # lm-eval scores the raw generation
            return
        first = pipelines[0]
        for extra in pipelines[1:]:
            name = extra.get("name") if isinstance(extra, dict) else extra
            self.gap("filter_list", name, "pingce runs one answer pipeline; the first is used")
        steps: list[Any] = []
        for step in first.get("filter", []) if isinstance(first, dict) else []:
            fn = step.get("function") if isinstance(step, dict) else None
            args = {k: v for k, v in step.items() if k != "function"} if fn else {}
            if fn == "take_first":
                continue  # one generation per item: implicit
            if fn in ("remove_whitespace", "lowercase") and not args:
                steps.append(fn)
            elif fn == "regex":
                steps.extend(self.regex(args))
            else:
                self.gap(f"filter_list.{first.get('name')}", step, "no equivalent pingce filter")
        task["filters"] = steps

    def regex(self, args: dict[str, Any]) -> list[Any]:
        pattern = str(args.pop("regex_pattern", r"#### (\-?[0-9\.\,]+)"))
        select = args.pop("group_select", 0)
        spec: dict[str, Any] = {"name": "regex", "pattern": pattern}
        if select in (0, -1):
            spec["select"] = "first" if select == 0 else "last"
        else:
            self.gap("filter.regex.group_select", select, "pingce picks the first or last match")
        if "fallback" in args:
            spec["fallback"] = str(args.pop("fallback"))
        for key, value in args.items():
            self.gap(f"filter.regex.{key}", value, "no such option of pingce's regex filter")
        try:
            groups = re.compile(pattern).groups
        except re.error as exc:
            self.gap("filter.regex.regex_pattern", pattern, f"invalid pattern: {exc}", True)
            return []
        if groups > 1:
            self.gap(
                "filter.regex.regex_pattern",
                pattern,
                "lm-eval takes the first non-empty group of the match; pingce takes group 1",
            )
        # lm-eval strips the extracted text.
        return [spec, "strip"]

    def metrics(self, task: dict[str, Any], out_type: str) -> None:
        entries = self.cfg.get("metric_list")
        if entries is None:
            entries = [{"metric": m} for m in DEFAULT_METRICS[out_type]]
        names: list[str] = []
        for entry in entries:
            name = entry.get("metric") if isinstance(entry, dict) else entry
            if isinstance(name, FunctionRef) or name not in SAME_METRICS[out_type]:
                self.gap("metric_list", name, f"no pingce metric equal to lm-eval's for {out_type}")
                continue
            names.append(str(name))
            options = {k: v for k, v in entry.items() if k not in METRIC_BOOKKEEPING}
            if name == "exact_match":
                em = {k: options.pop(k) for k in EXACT_MATCH_OPTIONS if k in options}
                for key, value in list(em.items()):
                    regexes = key == "regexes_to_ignore"
                    good = (
                        isinstance(value, list) and all(isinstance(r, str) for r in value)
                        if regexes
                        else isinstance(value, bool)
                    )
                    if not good:
                        expected = "a list of regexes" if regexes else "true or false"
                        self.gap(f"metric_list.exact_match.{key}", value, f"expected {expected}")
                        del em[key]
                em = {k: v for k, v in em.items() if v}
                if em:
                    task["exact_match"] = em
            if entry.get("aggregation", "mean") not in ("mean", "perplexity", "weighted_perplexity", "bits_per_byte"):  # fmt: skip
                self.gap(
                    f"metric_list.{name}.aggregation",
                    entry["aggregation"],
                    "pingce aggregates by the mean",
                )
            for key, value in options.items():
                self.gap(f"metric_list.{name}.{key}", value, "no such metric option in pingce")
        if not names:
            self.gap("metric_list", entries, "no metric pingce computes the same way", True)
            return
        task["metrics"] = names

    def leftovers(self) -> None:
        handled = {
            "task", "output_type", "doc_to_text", "doc_to_target", "doc_to_choice",
            "process_docs", "description", "target_delimiter", "fewshot_delimiter",
            "num_fewshot", "fewshot_config", "generation_kwargs", "filter_list", "metric_list",
            "include", "group",
        } | NO_EFFECT  # fmt: skip
        for key, value in self.cfg.items():
            if key in handled:
                continue
            if key == "repeats" and value == 1:
                continue
            if key == "process_results" and isinstance(value, FunctionRef):
                gap = _python_gap(key, value, blocking=False)
                why = gap.why + "; pingce scores with the metrics listed instead"
                self.report.gaps.append(Gap(gap.field, gap.value, why, False))
                continue
            blocking = key in ("use_prompt", "doc_to_image", "doc_to_audio")
            self.gap(key, value, "no pingce task field for it", blocking)


def convert_config(name: str, cfg: dict[str, Any], source: Path) -> TaskReport:
    """One resolved lm-eval task config as a pingce task (or the gaps that stop it)."""
    converter = _Converter(name, cfg, source)
    try:
        return converter.run()
    except (TypeError, ValueError, AttributeError) as exc:
        # A YAML is untrusted: a value of the wrong shape fails this task, not the import.
        report = TaskReport(name, str(source))
        report.gaps = [*converter.report.gaps, Gap("(task)", name, f"malformed: {exc}", True)]
        return report


def _suite(name: str, tasks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"standard": "llm", "name": f"lm-eval/{name}", "tasks": tasks}


class _Group:
    def __init__(self, index: NameIndex, result: ImportResult) -> None:
        self.index = index
        self.result = result

    def tasks_of(self, cfg: dict[str, Any], source: Path, seen: set[str]) -> list[TaskReport]:
        out: list[TaskReport] = []
        for entry in cfg.get("task") or []:
            if isinstance(entry, dict):
                name = entry.get("task")
                base: dict[str, Any] = {}
                if isinstance(name, str) and name in self.index.tasks and "include" not in entry:
                    base = resolve(self.index.tasks[name])
                merged = {**base, **resolve(source, entry)}
                if isinstance(merged.get("task"), list):
                    out += self.tasks_of(merged, source, seen)
                elif isinstance(name, str):
                    out.append(convert_config(name, merged, source))
                continue
            name = str(entry)
            if name in seen:
                continue
            seen.add(name)
            if name in self.index.tasks:
                path = self.index.tasks[name]
                out.append(convert_config(name, resolve(path), path))
            elif name in self.index.groups:
                path = self.index.groups[name]
                out += self.tasks_of(resolve(path), path, seen)
            elif name in self.index.tags:
                for task in self.index.tags[name]:
                    if task not in seen:
                        seen.add(task)
                        path = self.index.tasks[task]
                        out.append(convert_config(task, resolve(path), path))
            else:
                report = TaskReport(name, str(source))
                report.gaps.append(
                    Gap("task", name, f"no task, group or tag {name!r} under the folder", True)
                )
                out.append(report)
        return out


def _add(result: ImportResult, stem: str, reports: list[TaskReport]) -> None:
    result.reports.extend(reports)
    tasks = [r.pingce_task for r in reports if r.status != "failed" and r.pingce_task]
    if tasks:
        result.suites[safe_id(stem)] = _suite(safe_id(stem), tasks)


def convert(path: str | Path, tasks: set[str] | None = None) -> ImportResult:
    """Convert a task YAML, a group YAML or a folder of them.

    A task gives a suite of one task; a group gives one suite with all its tasks (subgroups
    and tags expanded from the YAMLs under the group file's folder); a folder gives one suite
    per task YAML in it. `tasks` keeps only the named tasks. A YAML that cannot be read is a
    SpecError.
    """
    root = Path(path)
    result = ImportResult()
    if root.is_dir():
        files = sorted(root.rglob("*.yaml"))
        index = index_folder(root)
    elif root.is_file():
        files = [root]
        raw = read_raw(root)
        index = index_folder(root.parent) if isinstance(raw.get("task"), list) else None
    else:
        raise SpecError(f"{root}: no such file or folder")
    for file in files:
        cfg = resolve(file)
        name = cfg.get("task")
        if isinstance(name, str):
            if tasks is None or name in tasks:
                _add(result, name, [convert_config(name, cfg, file)])
        elif isinstance(name, list) and isinstance(cfg.get("group"), str):
            if root.is_dir():
                continue  # a folder's tasks are each converted once, on their own
            assert index is not None
            reports = _Group(index, result).tasks_of(cfg, file, set())
            if tasks is not None:
                reports = [r for r in reports if r.task in tasks]
            _add(result, str(cfg["group"]), reports)
    return result
