"""Answer filters for generated code (registered in `pingce.core.registry.filters`)."""

from __future__ import annotations

import re

from pingce.core.registry import filters
from pingce.llm.filters import Filter

_FENCE = re.compile(r"```[ \t]*(?:python|py|Python)?[ \t]*\n(.*?)(?:```|$)", re.DOTALL)


def code_block() -> Filter:
    """The first fenced code block (```python ... ```; an unclosed last fence runs to the end);
    the text unchanged when there is none (a base model's plain completion)."""

    def apply(text: str) -> str:
        m = _FENCE.search(text)
        return m.group(1) if m else text

    return apply


def register_code_filters() -> None:
    if not filters.has_loaded("code_block"):
        filters.register("code_block", code_block)
