"""Answer filters: small composable extractors that turn a model's raw output into the answer
that is scored.

A filter is a callable ``str -> str``. Filters are registered in
`pingce.core.registry.filters` as *factories*: a factory takes keyword parameters and
returns the filter, e.g. ``regex(pattern=r"answer is (\\d+)")``. A task names its pipeline as
a list of specs, each either a bare name (``"strip"``) or a mapping with ``name`` and the
parameters (``{"name": "regex", "pattern": "..."}``); `build_pipeline` turns that list into
one callable that applies the filters in order.

Extractors that find nothing return their ``fallback`` (``"[invalid]"`` by default), so a
failed extraction is scored as wrong rather than matching an empty reference.
"""

from __future__ import annotations

import inspect
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pingce.core.errors import SpecError
from pingce.core.registry import filters

__all__ = [
    "INVALID",
    "Filter",
    "boxed",
    "build_pipeline",
    "first_line",
    "first_number",
    "last_number",
    "lowercase",
    "option_letter",
    "regex",
    "remove_whitespace",
    "strip",
    "take_until",
]

Filter = Callable[[str], str]

INVALID = "[invalid]"


def _check_str(filter_name: str, param: str, value: Any) -> str:
    if not isinstance(value, str):
        raise SpecError(
            f"filter {filter_name!r}: parameter {param!r} must be a string, "
            f"got {type(value).__name__}"
        )
    return value


# --------------------------------------------------------------------------------------------
# regex


@filters.register("regex")
def regex(pattern: str, group: int = 1, select: str = "first", fallback: str = INVALID) -> Filter:
    """The text of capture `group` in the first (or last) match of `pattern`.

    Matches in which the group did not take part are skipped. A pattern without groups
    yields the whole match whatever `group` says. No match -> `fallback`.
    """
    _check_str("regex", "pattern", pattern)
    _check_str("regex", "fallback", fallback)
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise SpecError(f"filter 'regex': invalid pattern {pattern!r}: {exc}") from None
    if select not in ("first", "last"):
        raise SpecError(f"filter 'regex': select must be 'first' or 'last', not {select!r}")
    if isinstance(group, bool) or not isinstance(group, int) or group < 0:
        raise SpecError(f"filter 'regex': group must be a non-negative integer, not {group!r}")
    if compiled.groups == 0:
        group = 0
    elif group > compiled.groups:
        raise SpecError(
            f"filter 'regex': pattern {pattern!r} has {compiled.groups} group(s), no group {group}"
        )

    def apply(text: str) -> str:
        found = [m.group(group) for m in compiled.finditer(text)]
        found = [f for f in found if f is not None]
        if not found:
            return fallback
        return found[0] if select == "first" else found[-1]

    return apply


# --------------------------------------------------------------------------------------------
# numbers

# A sign counts only when not glued to a preceding letter/digit ("2-3" is 2 and 3, not -3).
# The integer part is either comma-grouped thousands ("1,234,567") or plain digits.
_NUMBER_RE = re.compile(
    r"(?P<sign>(?<![0-9A-Za-z])[-+])?"
    r"(?:(?P<int>\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.(?P<frac>\d+))?|\.(?P<frac_only>\d+))",
    re.ASCII,
)


def _normalise_number(match: re.Match[str]) -> str:
    integer = (match.group("int") or "0").replace(",", "").lstrip("0") or "0"
    frac = (match.group("frac") or match.group("frac_only") or "").rstrip("0")
    number = f"{integer}.{frac}" if frac else integer
    if match.group("sign") == "-" and number != "0":
        number = "-" + number
    return number


def _numbers(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).replace("\u2212", "-")  # U+2212 minus sign
    return [_normalise_number(m) for m in _NUMBER_RE.finditer(text)]


def _number_filter(name: str, index: int, fallback: str) -> Filter:
    _check_str(name, "fallback", fallback)

    def apply(text: str) -> str:
        found = _numbers(text)
        return found[index] if found else fallback

    return apply


@filters.register("last_number")
def last_number(fallback: str = INVALID) -> Filter:
    """The last number in the text, normalised: NFKC (full-width digits), thousands commas
    removed, "+" dropped, trailing fractional zeros removed ("3.50" -> "3.5", "4.0" -> "4"),
    "-" kept. Not recognised: exponents ("1e5" is 1 and 5), space-grouped thousands."""
    return _number_filter("last_number", -1, fallback)


@filters.register("first_number")
def first_number(fallback: str = INVALID) -> Filter:
    """The first number in the text, normalised as by `last_number`."""
    return _number_filter("first_number", 0, fallback)


# --------------------------------------------------------------------------------------------
# multiple-choice option letters

# Phrases that announce the answer. English: "answer is", "Answer:", "final answer would be",
# "correct option is". Chinese: 答案, 正确选项, 应选, 故选, 选择, and 选 at a clause start.
_ANSWER_PHRASE = (
    r"(?:"
    r"\banswer\s*(?:is|would\s+be|should\s+be|will\s+be)?\s*[:=]?"
    r"|\bcorrect\s+(?:option|choice)\s*(?:is|would\s+be|should\s+be)?\s*[:=]?"
    r"|答案\s*(?:应该是|应该为|应是|应为|是|为)?\s*[:=]?"
    r"|正确的?选项\s*(?:应该是|应是|应为|是|为)?\s*[:=]?"
    r"|(?:(?:应该?|故|所以|因此|我)选择?|选择|(?:^|(?<=[\s,.;:!?。、]))选)\s*(?:是|为)?\s*[:=]?"
    r")"
    r"\s*(?:(?:option|choice|选项)\s*)?"
)
_OPEN = r"[(\[{【「<]"
_CLOSE = r"[)\]}】」>]"
# Words that, after a sentence-initial "A" or "I", make it an option rather than an article
# or pronoun: "A is correct" vs "A cat is ...".
_OPTION_VERBS = frozenset(
    {
        "is",
        "was",
        "are",
        "seems",
        "looks",
        "appears",
        "must",
        "should",
        "would",
        "could",
        "and",
        "or",
        "because",
        "since",
        "as",
        "correct",
        "right",
        "wrong",
        "incorrect",
        "true",
        "false",
    }
)


def _is_wordlike(letter: str, after: str) -> bool:
    """True if `letter` followed by `after` reads as the English word "A"/"I"."""
    if letter not in "AI":
        return False
    m = re.match(r"\s+([a-z]+)", after)
    return m is not None and m.group(1) not in _OPTION_VERBS


def _letter_ok(text: str, m: re.Match[str]) -> bool:
    letter = m.group("letter")
    after = text[m.end("letter") :]
    if letter.islower():
        # Lowercase only when it cannot be the start of a word: "answer: b", "answer is (b)",
        # not "the answer is a dog".
        return bool(m.group("open")) or not after or not (after[0].isspace() or after[0] == "'")
    return not _is_wordlike(letter, after)


@filters.register("option_letter")
def option_letter(letters: str = "ABCD", fallback: str = INVALID) -> Filter:
    """The chosen option letter (always returned uppercase), by priority:

    1. after an explicit answer phrase ("The answer is (C)", "Answer: B", "答案是B",
       "答案：C", "选 D", "正确选项为A"), the last such phrase in the text;
    2. a standalone letter at the start ("B", "(B)", "B.", "B: Paris");
    3. the last standalone letter anywhere ("我认为B正确").

    Letters are recognised in uppercase; lowercase only right after an answer phrase and not
    followed by a space ("answer: b"). A sentence-initial "A"/"I" followed by a lowercase word
    ("A cat is ...", "I think ...") is taken as English, unless that word is a verb like
    "is"/"was" ("A is correct"). Limits: "A Cat ..." counts as option A; negations
    ("not A") are not understood; full-width letters are handled through NFKC.
    """
    _check_str("option_letter", "letters", letters)
    _check_str("option_letter", "fallback", fallback)
    if (
        not letters
        or not all("A" <= c <= "Z" for c in letters)
        or len(set(letters)) != len(letters)
    ):
        raise SpecError(
            f"filter 'option_letter': letters must be distinct uppercase A-Z, not {letters!r}"
        )
    upper = "".join(letters)
    both = upper + upper.lower()
    standalone = rf"(?<![A-Za-z0-9_])(?P<letter>[{upper}])(?![A-Za-z0-9_'’])"
    phrase_re = re.compile(
        _ANSWER_PHRASE
        + rf"(?P<open>{_OPEN}\s*)?(?<![A-Za-z0-9_])(?P<letter>[{both}])(?![A-Za-z0-9_])",
        re.IGNORECASE,
    )
    start_re = re.compile(rf"\s*(?P<open>{_OPEN}\s*)?{standalone}")
    any_re = re.compile(standalone)

    def apply(text: str) -> str:
        text = unicodedata.normalize("NFKC", text)
        # The phrase regex is case-insensitive, so check the letter's own case separately.
        hits = [m for m in phrase_re.finditer(text) if _letter_ok(text, m)]
        if hits:
            return hits[-1].group("letter").upper()
        m = start_re.match(text)
        if m and _letter_ok(text, m):
            return m.group("letter")
        hits = [m for m in any_re.finditer(text) if _letter_ok(text, m)]
        if hits:
            return hits[-1].group("letter")
        return fallback

    return apply


# --------------------------------------------------------------------------------------------
# \boxed{...}

_BOXED_RE = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")


def _braced(text: str, start: int) -> str | None:
    """The content of the brace group opening at or after `start` (after spaces), or None if
    there is none or it is never closed. Backslash-escaped braces do not count."""
    i = start
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text) or text[i] != "{":
        return None
    depth = 0
    j = i
    while j < len(text):
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
        j += 1
    return None


@filters.register("boxed")
def boxed(fallback: str = INVALID) -> Filter:
    """The stripped content of the last complete ``\\boxed{...}`` or ``\\fbox{...}`` (nested
    braces handled, so ``\\boxed{\\frac{1}{2}}`` gives ``\\frac{1}{2}``). A last box that is
    never closed (truncated output) is skipped in favour of an earlier complete one."""
    _check_str("boxed", "fallback", fallback)

    def apply(text: str) -> str:
        for m in reversed(list(_BOXED_RE.finditer(text))):
            content = _braced(text, m.end())
            if content is not None:
                return content.strip()
        return fallback

    return apply


# --------------------------------------------------------------------------------------------
# simple text filters


@filters.register("strip")
def strip() -> Filter:
    """Surrounding whitespace removed."""
    return str.strip


@filters.register("remove_whitespace")
def remove_whitespace() -> Filter:
    """lm-eval's `remove_whitespace` filter: leading and trailing whitespace removed
    (`str.strip`, as in lm-eval 0.4.x's current `WhitespaceFilter`; its older releases removed
    only leading whitespace, and before that a single leading space)."""
    return str.strip


@filters.register("lowercase")
def lowercase() -> Filter:
    """The text lowercased."""
    return str.lower


@filters.register("first_line")
def first_line() -> Filter:
    """The first line that is not blank (leading empty lines skipped), without its newline;
    "" for blank text."""

    def apply(text: str) -> str:
        for line in text.splitlines():
            if line.strip():
                return line
        return ""

    return apply


@filters.register("take_until")
def take_until(stops: Sequence[str]) -> Filter:
    """The text before the earliest occurrence of any of `stops` (a list of non-empty
    strings; a single string is one stop); the whole text if none occurs."""
    stop_list = [stops] if isinstance(stops, str) else stops
    if (
        not isinstance(stop_list, Sequence)
        or not stop_list
        or not all(isinstance(s, str) and s for s in stop_list)
    ):
        raise SpecError(
            f"filter 'take_until': stops must be a list of non-empty strings, not {stops!r}"
        )
    stop_tuple = tuple(stop_list)

    def apply(text: str) -> str:
        cut = min((i for i in (text.find(s) for s in stop_tuple) if i >= 0), default=len(text))
        return text[:cut]

    return apply


# --------------------------------------------------------------------------------------------
# pipelines


def _signature(name: str, factory: Callable[..., Any]) -> str:
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return name
    return f"{name}({', '.join(str(p) for p in params)})"


def _one(spec: str | Mapping[str, Any]) -> Filter:
    if isinstance(spec, str):
        name, params = spec, {}
    elif isinstance(spec, Mapping):
        params = dict(spec)
        name = params.pop("name", None)
        if not isinstance(name, str):
            raise SpecError(
                f"filter spec {dict(spec)!r} has no 'name'",
                hint='write {"name": "regex", "pattern": "..."}',
            )
    else:
        raise SpecError(
            f"filter spec must be a name or a mapping with 'name', not {type(spec).__name__}"
        )
    factory = filters.get(name)
    try:
        made = factory(**params)
    except TypeError as exc:
        raise SpecError(
            f"filter {name!r}: bad parameters {params!r} ({exc})",
            hint=f"expected {_signature(name, factory)}",
        ) from None
    if not callable(made):
        raise SpecError(f"filter {name!r} did not build a callable filter")
    return made


def build_pipeline(specs: Sequence[str | Mapping[str, Any]]) -> Filter:
    """One filter applying the filters named by `specs` in order (identity if empty).

    Unknown names and bad parameters raise `SpecError` naming the filter and what it expects.
    """
    if isinstance(specs, str | Mapping):
        specs = [specs]
    steps = tuple(_one(s) for s in specs)

    def pipeline(text: str) -> str:
        for step in steps:
            text = step(text)
        return text

    return pipeline
