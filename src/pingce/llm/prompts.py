"""Jinja2 prompt templates and deterministic few-shot selection.

Templates come from suites, which are untrusted: they render in Jinja's immutable sandbox
(no private or dunder attributes, no mutating methods, no unsafe callables) and are checked
statically when the suite is validated, so `{{ cycler.__init__.__globals__ }}` is refused by
`pingce validate` before anything renders.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import (
    UNSAFE_ASYNC_GENERATOR_ATTRIBUTES,
    UNSAFE_COROUTINE_ATTRIBUTES,
    UNSAFE_GENERATOR_ATTRIBUTES,
    ImmutableSandboxedEnvironment,
    SecurityError,
)

from pingce.core.errors import DataError, SpecError

# The most items (characters) `*` may repeat a string or list to, and the largest power.
MAX_REPEAT = 1_000_000
MAX_POWER_BITS = 64


class PromptEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, plus bounds on `*` and `**` so a template cannot exhaust memory with
    `{{ 'x' * 10**12 }}`."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            ints = isinstance(left, int) and isinstance(right, int)
            if ints and right > 0 and max(left.bit_length(), 1) * right > MAX_POWER_BITS:
                raise SecurityError(f"{left} ** {right} is larger than templates allow")
        else:
            for seq, n in ((left, right), (right, left)):
                repeat = isinstance(seq, str | list | tuple) and isinstance(n, int)
                if repeat and len(seq) * n > MAX_REPEAT:
                    raise SecurityError(
                        f"repeating {len(seq)} items {n} times is more than templates allow"
                    )
        return super().call_binop(context, operator, left, right)


_ENV = PromptEnvironment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # prompts are plain text for a model, never HTML
    keep_trailing_newline=True,
)
# `lipsum(10**8)` builds text in a loop the sandbox cannot bound; prompts never need it.
del _ENV.globals["lipsum"]

# Names that reach interpreter internals even without a leading underscore.
_INTERNAL_NAMES = frozenset(
    {"mro", "func_globals", "func_code", "f_globals", "f_locals", "f_back", "f_builtins"}
    | UNSAFE_GENERATOR_ATTRIBUTES
    | UNSAFE_COROUTINE_ATTRIBUTES
    | UNSAFE_ASYNC_GENERATOR_ATTRIBUTES
)


def _unsafe_name(name: Any) -> bool:
    return isinstance(name, str) and (name.startswith("_") or name in _INTERNAL_NAMES)


def unsafe_reference(source: str) -> str | None:
    """The first private or internal attribute a template reaches, or None when there is none.

    Checks the template's syntax tree: `x.__class__`, `x['__class__']`, `x|attr('_y')` and
    names such as `mro` or `gi_frame`. Attributes built at render time (`x[a ~ b]`) are left
    to the sandbox, which refuses them as it renders.
    """
    tree = _ENV.parse(source)
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Name)):
        if isinstance(node, nodes.Getattr) and _unsafe_name(node.attr):
            return f".{node.attr}"
        if (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and _unsafe_name(node.arg.value)
        ):
            return f"[{node.arg.value!r}]"
        if isinstance(node, nodes.Filter) and node.name == "attr":
            for arg in node.args:
                if isinstance(arg, nodes.Const) and _unsafe_name(arg.value):
                    return f"|attr({arg.value!r})"
        if isinstance(node, nodes.Name) and node.name.startswith("_"):
            return node.name
    return None


@lru_cache(maxsize=512)
def compile_template(source: str) -> jinja2.Template:
    """The compiled template; a syntax error or an unsafe reference is a SpecError."""
    try:
        unsafe = unsafe_reference(source)
        if unsafe is not None:
            raise SpecError(
                f"template {source!r} reaches {unsafe}: private and internal attributes are "
                "not allowed in templates",
                hint="use only the row's fields, filters and tests",
            )
        return _ENV.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise SpecError(f"template {source!r}: {exc.message} (line {exc.lineno})") from None


def render(source: str, row: dict[str, Any], where: str) -> str:
    """Render `source` with the row's fields; a missing field names the row and the field."""
    try:
        return compile_template(source).render(**row)
    except SecurityError as exc:
        raise SpecError(
            f"{where}: template {source!r} is not allowed: {exc}",
            hint="templates may use the row's fields, filters and tests only",
        ) from None
    except jinja2.UndefinedError as exc:
        raise DataError(
            f"{where}: {exc.message} (the template uses a field this row lacks)"
        ) from None
    except (TypeError, ValueError, OverflowError, jinja2.TemplateError) as exc:
        raise DataError(f"{where}: cannot render template {source!r}: {exc}") from None


def template_fields(source: str) -> set[str]:
    from jinja2 import meta

    return set(meta.find_undeclared_variables(_ENV.parse(source)))


def select_fewshot(
    pool: Sequence[dict[str, Any]],
    k: int,
    seed: int,
    exclude_id: str | None,
    id_field: str = "id",
    sample_key: str | None = None,
) -> list[dict[str, Any]]:
    """k examples drawn without replacement, the same for the same (pool, k, seed, sample).

    The sample itself is never its own example when the pool is the evaluation split.
    """
    if k <= 0:
        return []
    candidates = [r for r in pool if exclude_id is None or str(r.get(id_field)) != exclude_id]
    if len(candidates) < k:
        raise DataError(f"{k}-shot asked for but the few-shot pool has only {len(candidates)} rows")
    # Seeded per sample (by `sample_key`, default the excluded id) so each sample gets its own
    # examples, independent of which other samples run.
    rng = random.Random(f"{seed}:{sample_key if sample_key is not None else exclude_id}")
    return rng.sample(list(candidates), k)
