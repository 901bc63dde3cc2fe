"""Reading lm-eval task YAMLs: `!function` tags as data, `include:` chains, a name index."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pingce.core.errors import SpecError

MAX_INCLUDE_DEPTH = 16
MAX_YAML_BYTES = 1_000_000


@dataclass(frozen=True)
class FunctionRef:
    """A `!function module.name` tag: the Python callable lm-eval would import (never run here)."""

    name: str
    yaml_dir: Path

    @property
    def module_file(self) -> Path:
        module = self.name.rsplit(".", 1)[0]
        return self.yaml_dir / (module.replace(".", "/") + ".py")

    @property
    def function(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    def __str__(self) -> str:
        return f"!function {self.name}"


@dataclass(frozen=True)
class UnknownTag:
    tag: str
    value: Any

    def __str__(self) -> str:
        return f"{self.tag} {self.value!r}"


def _loader(yaml_dir: Path) -> type[yaml.SafeLoader]:
    class Loader(yaml.SafeLoader):
        pass

    def function(loader: yaml.SafeLoader, node: yaml.Node) -> FunctionRef:
        return FunctionRef(str(loader.construct_scalar(node)), yaml_dir)  # type: ignore[arg-type]

    def unknown(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> UnknownTag:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node)
        else:
            value = loader.construct_mapping(node)  # type: ignore[arg-type]
        return UnknownTag(node.tag, value)

    Loader.add_constructor("!function", function)
    Loader.add_multi_constructor("!", unknown)
    Loader.add_multi_constructor("tag:yaml.org,2002:python/", unknown)
    return Loader


def read_raw(path: Path) -> dict[str, Any]:
    """One YAML file as a mapping (no includes resolved); a bad file is a SpecError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_YAML_BYTES:
        raise SpecError(f"{path}: larger than {MAX_YAML_BYTES} bytes, not a task YAML")
    try:
        raw = yaml.load(data.decode("utf-8"), Loader=_loader(path.parent))  # noqa: S506
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: not a readable YAML file: {exc}".splitlines()[0]) from None
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping of lm-eval task fields")
    return raw


def resolve(path: Path, raw: dict[str, Any] | None = None, depth: int = 0) -> dict[str, Any]:
    """The file's fields with its `include:` chain merged in (the including file wins),
    as lm-eval's `load_yaml_config` does; include paths are relative to the including file."""
    if depth > MAX_INCLUDE_DEPTH:
        raise SpecError(f"{path}: include chain deeper than {MAX_INCLUDE_DEPTH} (a cycle?)")
    raw = read_raw(path) if raw is None else raw
    include = raw.get("include")
    if include is None:
        return dict(raw)
    merged: dict[str, Any] = {}
    for inc in include if isinstance(include, list) else [include]:
        inc_path = Path(str(inc))
        if not inc_path.is_absolute():
            inc_path = path.parent / inc_path
        merged.update(resolve(inc_path, None, depth + 1))
    merged.update({k: v for k, v in raw.items() if k != "include"})
    return merged


@dataclass
class NameIndex:
    """Task, group and tag names defined by the YAML files under a folder."""

    tasks: dict[str, Path]
    groups: dict[str, Path]
    tags: dict[str, list[str]]


def index_folder(root: Path) -> NameIndex:
    index = NameIndex({}, {}, {})
    for path in sorted(root.rglob("*.yaml")):
        try:
            cfg = resolve(path)
        except SpecError:
            continue
        task, group = cfg.get("task"), cfg.get("group")
        if isinstance(task, str):
            index.tasks.setdefault(task, path)
            tags = cfg.get("tag") or []
            for tag in tags if isinstance(tags, list) else [tags]:
                index.tags.setdefault(str(tag), []).append(task)
        elif isinstance(group, str) and isinstance(task, list):
            index.groups.setdefault(group, path)
    return index
