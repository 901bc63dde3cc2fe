"""Jinja2 prompt templates and deterministic few-shot selection."""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import jinja2

from pingce.core.errors import DataError, SpecError

_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # prompts are plain text for a model, never HTML
    keep_trailing_newline=True,
)


@lru_cache(maxsize=512)
def compile_template(source: str) -> jinja2.Template:
    try:
        return _ENV.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise SpecError(f"template {source!r}: {exc.message} (line {exc.lineno})") from None


def render(source: str, row: dict[str, Any], where: str) -> str:
    """Render `source` with the row's fields; a missing field names the row and the field."""
    try:
        return compile_template(source).render(**row)
    except jinja2.UndefinedError as exc:
        raise DataError(
            f"{where}: {exc.message} (the template uses a field this row lacks)"
        ) from None
    except (TypeError, ValueError, jinja2.TemplateError) as exc:
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
