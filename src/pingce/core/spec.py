"""Validated specifications: indicators, suites, tasks and subjects.

A suite is a small YAML file. Core validates what every standard shares (suite header, task
id/type/dimension/weight); each task type validates its own parameters with its own pydantic
model through `validate_params`, so errors always name the file, the field and what was
expected.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pingce.core.errors import SpecError
from pingce.core.yaml_file import decode_utf8, parse_yaml, read_yaml_bytes

Direction = Literal["higher", "lower"]


class Indicator(BaseModel):
    """One measurable quantity with a stable id (used by every standard and the report)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    name_zh: str
    unit: str = ""
    direction: Direction = "higher"
    definition: str
    threshold: float | None = None


class TaskSpec(BaseModel):
    """The fields every task shares; type-specific fields stay in `params` (extra keys)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    type: str
    title: str = ""
    title_zh: str = ""
    dimension: str = "general"
    language: str = "en"
    # Finite and positive: 1e999 (inf) or a dimension of zero weights gives a NaN overall.
    weight: float = Field(default=1.0, gt=0, allow_inf_nan=False)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class SuiteSpec(BaseModel):
    """A suite: one standard, defaults and an ordered list of tasks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    standard: str
    name: str
    title: str = ""
    title_zh: str = ""
    description: str = ""
    # Suites of one domain across standards (e.g. "steel": an llm, a kg and a steel suite)
    # share a family; `pingce list suites` lists a family together.
    family: str = ""
    defaults: dict[str, Any] = Field(default_factory=dict)
    tasks: list[TaskSpec] = Field(min_length=1)

    @field_validator("tasks")
    @classmethod
    def _unique_ids(cls, tasks: list[TaskSpec]) -> list[TaskSpec]:
        seen: set[str] = set()
        for task in tasks:
            if task.id in seen:
                raise ValueError(f"duplicate task id {task.id!r}")
            seen.add(task.id)
        return tasks


@dataclass(frozen=True)
class Suite:
    """A loaded suite: the validated spec, where it came from, and its content hash."""

    spec: SuiteSpec
    source: str  # the file the suite was read from
    base_dir: Path  # dataset paths in the suite are relative to this folder
    sha256: str

    @property
    def name(self) -> str:
        return self.spec.name


def builtin_suites_dir() -> Path:
    """`src/pingce/suites/`: the shared folder of built-in suites (`<standard>/<name>.yaml`)."""
    return Path(str(files("pingce") / "suites"))


def builtin_suite_paths() -> dict[str, Path]:
    """Every built-in suite by name: `suites/<std>/<name>.yaml` is `<std>/<name>`, and a
    standard package's own `pingce/<package>/suites/<name>.yaml` is `<package>/<name>`. A
    name found in both places is the shared folder's."""
    found: dict[str, Path] = {}
    shared = builtin_suites_dir()
    if shared.is_dir():
        for p in sorted(shared.rglob("*.yaml")):
            found[p.relative_to(shared).with_suffix("").as_posix()] = p
    package_root = shared.parent
    for package in sorted(package_root.iterdir()):
        folder = package / "suites"
        if package == shared or not folder.is_dir() or not (package / "__init__.py").is_file():
            continue
        for p in sorted(folder.rglob("*.yaml")):
            found.setdefault(
                f"{package.name}/{p.relative_to(folder).with_suffix('').as_posix()}", p
            )
    return found


def builtin_suite_names() -> list[str]:
    return sorted(builtin_suite_paths())


def format_validation_error(
    source: str, err: ValidationError, model: type[BaseModel] | None = None
) -> str:
    """The first pydantic error as 'file: field.path: message'.

    With the validated `model`, an unknown field names the closest valid one
    ('target_delim: unknown field (did you mean 'target_delimiter'?)').
    """
    errors = err.errors()
    first = errors[0]
    if first["type"] == "missing":
        # 'taks:' reports 'tasks' missing first; the misspelt field is the better clue.
        missing = str(first["loc"][-1])
        for e in errors:
            if e["type"] == "extra_forbidden" and difflib.get_close_matches(
                str(e["loc"][-1]), [missing], n=1, cutoff=0.6
            ):
                first = e
                break
    loc = ""
    for part in first["loc"]:
        loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
    msg = first["msg"]
    if first["type"] == "missing":
        msg = "required field is missing"
    elif first["type"] == "extra_forbidden":
        msg = "unknown field"
        known = _field_names_at(model, first["loc"][:-1]) if model is not None else []
        close = difflib.get_close_matches(str(first["loc"][-1]), known, n=1, cutoff=0.7)
        if close:
            msg += f" (did you mean {close[0]!r}?)"
        elif known:
            msg += f"; expected one of: {', '.join(sorted(known))}"
    return f"{source}: {loc or '(top level)'}: {msg}"


def _field_names_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names (aliases where set) of the model found at `loc` inside `model`."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):  # a list index: the item model is found below
            continue
        current = _inner_model(current)
        info = current.model_fields.get(part) if _is_model(current) else None
        if info is None:
            return []
        current = info.annotation
    current = _inner_model(current)
    if not _is_model(current):
        return []
    return [info.alias or name for name, info in current.model_fields.items()]


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseModel)


def _inner_model(annotation: Any) -> Any:
    """The BaseModel inside an annotation such as `X | None` or `list[X]`, else `annotation`."""
    if _is_model(annotation):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if _is_model(found):
            return found
    return annotation


def resolve_suite_path(ref: str) -> Path:
    """A suite reference is a YAML path or the name of a built-in suite such as 'llm/quick'."""
    path = Path(ref).expanduser()
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if path.is_dir():
            raise SpecError(f"suite {ref!r} is a folder; expected a YAML file")
        if not path.is_file():
            raise SpecError(f"suite file {ref!r} does not exist", hint="check the path")
        return path
    builtin = builtin_suite_paths().get(ref)
    if builtin is not None:
        return builtin
    raise SpecError(
        f"unknown suite {ref!r}",
        hint=f"give a YAML path or one of: {', '.join(builtin_suite_names())}",
    )


def suite_standard(ref: str) -> str:
    """The `standard:` a suite names, read without validating the suite (for listings)."""
    path = resolve_suite_path(ref)
    raw = parse_yaml(decode_utf8(read_yaml_bytes(path), str(path)), str(path))
    sid = raw.get("standard") if isinstance(raw, dict) else None
    return sid if isinstance(sid, str) else "?"


def load_suite(ref: str) -> Suite:
    """Read, parse and validate a suite (core fields and every task's type-specific fields)."""
    path = resolve_suite_path(ref)
    # Bounded: a suite is untrusted, and nested YAML aliases can expand without limit.
    raw_bytes = read_yaml_bytes(path)
    raw = parse_yaml(decode_utf8(raw_bytes, str(path)), str(path))
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping with 'standard', 'name' and 'tasks'")
    try:
        spec = SuiteSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(format_validation_error(str(path), exc, SuiteSpec)) from None
    suite = Suite(
        spec=spec,
        source=str(path),
        base_dir=path.parent.resolve(),
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
    )
    from pingce.core.registry import standards

    standards.get(spec.standard).validate_suite(suite)
    return suite


def suite_from_dict(data: dict[str, Any], source: str, base_dir: Path) -> Suite:
    """A suite built in code (e.g. by `pingce voice evaluate --scores F --keys K`).

    Its hash covers the canonical JSON of the validated spec, so resuming a run of it checks
    the same thing a file suite's hash does.
    """
    try:
        spec = SuiteSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(format_validation_error(source, exc, SuiteSpec)) from None
    dumped = spec.model_dump(mode="json")
    if not dumped.get("family"):
        dumped.pop("family", None)  # a suite without a family hashes as before the field existed
    canonical = json.dumps(dumped, sort_keys=True, ensure_ascii=False)
    suite = Suite(
        spec=spec,
        source=source,
        base_dir=base_dir.resolve(),
        sha256=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
    )
    from pingce.core.registry import standards

    standards.get(spec.standard).validate_suite(suite)
    return suite


M = TypeVar("M", bound=BaseModel)


def validate_params(model: type[M], data: dict[str, Any], where: str) -> M:
    """Validate type-specific fields; errors read 'where: field: message'."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SpecError(format_validation_error(where, exc, model)) from None


@dataclass(frozen=True)
class SubjectSpec:
    """What is under test, parsed from a URI-like spec such as `hf:./models/tiny`."""

    scheme: str
    target: str
    params: dict[str, str] = field(default_factory=dict)
    raw: str = ""

    def canonical(self) -> str:
        return json.dumps([self.scheme, self.target, sorted(self.params.items())])


def parse_subject(spec: str) -> SubjectSpec:
    """Parse `scheme:target[?k=v&...]` (or `scheme://host/path?k=v`)."""
    if ":" not in spec:
        raise SpecError(
            f"subject {spec!r} has no scheme",
            hint="write e.g. hf:./models/tiny or hf:Qwen/Qwen2.5-0.5B",
        )
    scheme, rest = spec.split(":", 1)
    scheme = scheme.strip().lower()
    if not scheme.isidentifier():
        raise SpecError(f"subject {spec!r}: {scheme!r} is not a valid scheme")
    params: dict[str, str] = {}
    if rest.startswith("//"):
        parts = urlsplit(spec)
        target = parts.netloc + parts.path
        params = dict(parse_qsl(parts.query))
    else:
        target, _, query = rest.partition("?")
        params = dict(parse_qsl(query))
    if not target:
        raise SpecError(f"subject {spec!r} names no target after '{scheme}:'")
    return SubjectSpec(scheme=scheme, target=target, params=params, raw=spec)
