"""Input perturbations for robustness testing, deterministic by (seed, perturbation, sample).

Text perturbations change the chosen text fields of a row; option perturbations reorder its
choices and move the gold index with them. Each takes a `random.Random` made by `rng_for`, so
the same seed always gives the same perturbed item.

- typos: in about `rate` of the words of 4+ Latin letters, swap two inner letters, drop one,
  or double one; CJK text is left alone (character typos change meaning, not spelling).
- case: each Latin word upper-cased, lower-cased or title-cased at random.
- punctuation_width: full-width Chinese punctuation ↔ half-width ASCII, each mark swapped.
- whitespace: extra spaces (and, between Latin words, occasional tabs) inserted between
  tokens, about `rate` of the gaps; between CJK characters a single space.
- option_shuffle: the choices in a random order.
- rotation k (CircularEval): the choices rotated left by k.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

Row = dict[str, Any]

FULL_TO_HALF = {
    "，": ",",
    "。": ".",
    "？": "?",
    "！": "!",
    "：": ":",
    "；": ";",
    "（": "(",
    "）": ")",
    "“": '"',
    "”": '"',
    "‘": "'",
    "’": "'",
    "【": "[",
    "】": "]",
}
HALF_TO_FULL = {
    ",": "，",
    ".": "。",
    "?": "？",
    "!": "！",
    ":": "：",
    ";": "；",
    "(": "（",
    ")": "）",
}

_WORD = re.compile(r"[A-Za-z]+")
_CJK = re.compile(r"[\u3400-\u9fff]")


def rng_for(seed: int, perturbation: str, sample_id: str) -> random.Random:
    return random.Random(f"{seed}:{perturbation}:{sample_id}")


def typos(text: str, rng: random.Random, rate: float = 0.15) -> str:
    def one(m: re.Match[str]) -> str:
        w = m.group(0)
        if len(w) < 4 or rng.random() >= rate:
            return w
        i = rng.randrange(1, len(w) - 2)
        kind = rng.choice(("swap", "drop", "double"))
        if kind == "swap":
            return w[:i] + w[i + 1] + w[i] + w[i + 2 :]
        if kind == "drop":
            return w[:i] + w[i + 1 :]
        return w[: i + 1] + w[i] + w[i + 1 :]

    return _WORD.sub(one, text)


def case(text: str, rng: random.Random, rate: float = 0.5) -> str:
    def one(m: re.Match[str]) -> str:
        w = m.group(0)
        if rng.random() >= rate:
            return w
        return rng.choice((str.upper, str.lower, str.title))(w)

    return _WORD.sub(one, text)


def punctuation_width(text: str, rng: random.Random, rate: float = 1.0) -> str:
    out = []
    for i, ch in enumerate(text):
        if ch in FULL_TO_HALF and rng.random() < rate:
            out.append(FULL_TO_HALF[ch])
        elif ch in HALF_TO_FULL and rng.random() < rate:
            # A full stop between digits is a decimal point, not punctuation.
            decimal = ch == "." and 0 < i < len(text) - 1 and text[i - 1].isdigit()
            out.append(ch if decimal else HALF_TO_FULL[ch])
        else:
            out.append(ch)
    return "".join(out)


def whitespace(text: str, rng: random.Random, rate: float = 0.3) -> str:
    out = []
    for i, ch in enumerate(text):
        out.append(ch)
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if not nxt:
            continue
        if ch == " " and rng.random() < rate:
            out.append(rng.choice(("  ", " ", "\t")))
        elif _CJK.match(ch) and _CJK.match(nxt) and rng.random() < rate:
            out.append(" ")
    return "".join(out)


TEXT_PERTURBATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "typos": typos,
    "case": case,
    "punctuation_width": punctuation_width,
    "whitespace": whitespace,
}
OPTION_PERTURBATIONS = ("option_shuffle",)
PERTURBATIONS = ("clean", *TEXT_PERTURBATIONS, *OPTION_PERTURBATIONS)


def _apply_text(value: Any, fn: Callable[[str, random.Random], str], rng: random.Random) -> Any:
    if isinstance(value, str):
        return fn(value, rng)
    if isinstance(value, list):
        return [_apply_text(v, fn, rng) for v in value]
    return value


def reorder(row: Row, order: list[int], choices_field: str, answer_field: str) -> Row:
    """The row with choices in `order` (new position i holds old choice order[i])."""
    choices = list(row[choices_field])
    gold = int(row[answer_field])
    return {**row, choices_field: [choices[i] for i in order], answer_field: order.index(gold)}


def perturb_row(
    row: Row,
    name: str,
    rng: random.Random,
    fields: list[str],
    choices_field: str = "choices",
    answer_field: str = "answer",
) -> Row:
    """The row under perturbation `name` (fields not named are left as they are)."""
    if name == "clean":
        return dict(row)
    if name in TEXT_PERTURBATIONS:
        fn = TEXT_PERTURBATIONS[name]
        return {k: (_apply_text(v, fn, rng) if k in fields else v) for k, v in row.items()}
    if name == "option_shuffle":
        order = list(range(len(row[choices_field])))
        rng.shuffle(order)
        return reorder(row, order, choices_field, answer_field)
    raise ValueError(f"unknown perturbation {name!r}")


def rotations(row: Row, choices_field: str = "choices", answer_field: str = "answer") -> list[Row]:
    """CircularEval: the row under every rotation of its options (rotation 0 first)."""
    n = len(row[choices_field])
    return [
        reorder(row, [(i + k) % n for i in range(n)], choices_field, answer_field) for k in range(n)
    ]
