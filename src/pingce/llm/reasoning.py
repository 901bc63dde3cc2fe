"""Reasoning blocks (`<think>…</think>`) removed from a generation before answer filters run.

A reasoning model writes its thinking between tags and then the answer. Scoring must see the
answer only: the blocks are cut out, kept apart (`data.reasoning`), and counted apart
(`usage.reasoning_tokens`, `usage.answer_tokens`). A block that opens and never closes means
the token budget ran out while the model was still thinking: the answer is then empty (never
the reasoning text) and the record says `reasoning_truncated`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ReasoningSettings(BaseModel):
    """A task's (or the suite's `defaults`) `reasoning:` mapping."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strip: bool = True
    # (opening, closing) tag pairs; any of them may open a block.
    tags: list[tuple[str, str]] = Field(default_factory=lambda: [("<think>", "</think>")])
    # Tokens the model may spend thinking, on top of `generation.max_new_tokens` for the answer.
    budget_tokens: int | None = Field(default=None, ge=1)

    @field_validator("tags")
    @classmethod
    def _non_empty(cls, tags: list[tuple[str, str]]) -> list[tuple[str, str]]:
        if not tags:
            raise ValueError("tags: give at least one [opening, closing] pair")
        for open_tag, close_tag in tags:
            if not open_tag or not close_tag:
                raise ValueError("tags: opening and closing tags must be non-empty strings")
        return tags


@dataclass(frozen=True)
class SplitOutput:
    answer: str  # the output with every reasoning block removed ("" when truncated)
    reasoning: str  # the blocks' text, tags included, in order
    truncated: bool  # a block opened and never closed: the budget ran out before an answer


def split_reasoning(text: str, tags: list[tuple[str, str]]) -> SplitOutput:
    """Cut every reasoning block out of `text`, leftmost first.

    A closing tag with no opening tag before it (templates that put `<think>` in the prompt,
    so the output starts inside the block) ends a block that began at the start of the text.
    """
    answer_parts: list[str] = []
    reasoning_parts: list[str] = []
    rest = text
    # An output that starts inside the block: a close tag appears before any open tag.
    first_open = min((i for o, _ in tags if (i := rest.find(o)) >= 0), default=-1)
    for _, close_tag in tags:
        j = rest.find(close_tag)
        if j >= 0 and (first_open < 0 or j < first_open):
            end = j + len(close_tag)
            reasoning_parts.append(rest[:end])
            rest = rest[end:]
            break
    while True:
        hits = [(i, o, c) for o, c in tags if (i := rest.find(o)) >= 0]
        if not hits:
            answer_parts.append(rest)
            break
        i, open_tag, close_tag = min(hits)
        answer_parts.append(rest[:i])
        j = rest.find(close_tag, i + len(open_tag))
        if j < 0:
            reasoning_parts.append(rest[i:])
            return SplitOutput("", "".join(reasoning_parts), True)
        end = j + len(close_tag)
        reasoning_parts.append(rest[i:end])
        rest = rest[end:]
    return SplitOutput("".join(answer_parts), "".join(reasoning_parts), False)


def cut_at_stops(text: str, until: list[str] | tuple[str, ...]) -> str:
    """`text` cut before the first of the stop strings (applied to the answer only, so a stop
    string inside the reasoning does not end the generation)."""
    cut = len(text)
    for stop in until:
        if stop:
            i = text.find(stop)
            if 0 <= i < cut:
                cut = i
    return text[:cut]


def answer_part(text: str, setting: dict[str, Any] | None) -> tuple[str, SplitOutput | None]:
    """The text the filters see for a unit whose payload holds `setting` (its `reasoning`
    entry: tags and the answer's stop strings), and the split (None when there is none)."""
    if setting is None:
        return text, None
    split = split_reasoning(text, [(str(o), str(c)) for o, c in setting["tags"]])
    return cut_at_stops(split.answer, setting["until"]), split
