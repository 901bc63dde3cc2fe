"""Bounded YAML loading for untrusted files (suites, pipelines, price tables, question sets).

`yaml.safe_load` builds nothing dangerous, but its aliases share nodes: a few hundred bytes of
nested anchors ("billion laughs") expand to billions of values once pydantic, JSON or a report
walks them. Here a document is refused when the file is too large, when it nests too deeply,
or when its nodes, counted with every alias expanded, exceed a bound far above any real suite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pingce.core.errors import SpecError

MAX_YAML_BYTES = 16 * 2**20
"""Largest YAML file read (bytes); the largest built-in suite is a few kilobytes."""

MAX_YAML_NODES = 1_000_000
"""Most nodes a document may hold with every alias expanded."""

MAX_YAML_DEPTH = 200
"""Deepest nesting of collections (deeper documents exhaust Python's recursion limit)."""


def _expanded_size(root: yaml.Node, source: str, limit: int) -> int:
    """Nodes under `root` counting each alias as a full copy; memoised, so linear in the graph."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    # Iterative post-order walk: (node, depth, children pushed yet?).
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, expanded = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if depth > MAX_YAML_DEPTH:
            raise SpecError(f"{source}: YAML nested deeper than {MAX_YAML_DEPTH} levels")
        children = _children(node)
        if not expanded:
            if key in open_nodes:
                raise SpecError(f"{source}: YAML alias refers to itself (a recursive document)")
            open_nodes.add(key)
            stack.append((node, depth, True))
            for child in children:
                if id(child) in open_nodes:
                    raise SpecError(f"{source}: YAML alias refers to itself (a recursive document)")
                if id(child) not in sizes:
                    stack.append((child, depth + 1, False))
            continue
        open_nodes.discard(key)
        size = 1 + sum(sizes[id(c)] for c in children)
        if size > limit:
            raise SpecError(
                f"{source}: YAML document expands to more than {limit:,} values "
                "(nested aliases); refusing to load it",
                hint="write the values out instead of repeating anchors",
            )
        sizes[key] = size
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def parse_yaml(text: str, source: str, *, max_nodes: int = MAX_YAML_NODES) -> Any:
    """Parse one YAML document from `text`; every error is a SpecError naming `source`."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, source, max_nodes)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise SpecError(f"{source}: malformed YAML{where}: {problem}") from None
    except RecursionError:
        raise SpecError(f"{source}: YAML nested too deeply") from None
    finally:
        loader.dispose()


def read_yaml_bytes(path: Path, *, max_bytes: int = MAX_YAML_BYTES) -> bytes:
    """The bytes of a YAML file, refusing folders, missing files and oversized files."""
    if not path.is_file():
        raise SpecError(f"{path}: no such file", hint="check the path")
    size = path.stat().st_size
    if size > max_bytes:
        raise SpecError(
            f"{path}: {size:,} bytes is too large for a YAML file (at most {max_bytes:,})"
        )
    return path.read_bytes()


def decode_utf8(raw: bytes, source: str) -> str:
    """UTF-8 text (a leading BOM is allowed) or a SpecError naming the byte offset."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{source}: not UTF-8 text (invalid byte at offset {exc.start})",
            hint="save the file as UTF-8",
        ) from None


def read_yaml(path: str | Path, *, max_bytes: int = MAX_YAML_BYTES) -> Any:
    """Read and parse a YAML file with the bounds above; errors name the file."""
    p = Path(path)
    return parse_yaml(decode_utf8(read_yaml_bytes(p, max_bytes=max_bytes), str(p)), str(p))
