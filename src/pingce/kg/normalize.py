"""Normalising entity, relation and value strings before triples are compared.

Text is NFKC-normalised (full-width letters, digits and punctuation become half-width;
``℃`` becomes ``°C``), case-folded and whitespace-collapsed. Quantities — a number or a range
with an optional comparator and a unit — are rewritten to one canonical spelling, so
``1600 ℃``, ``1600°C`` and ``1600 degC`` all read ``1600 °C``, ``1.0～1.8 m/min`` and
``1.0-1.8 m/min`` both read ``1..1.8 m/min`` and ``不大于0.045%`` reads ``≤0.045 %``.
Units are only respelled, never converted (``1873 K`` stays different from ``1600 °C``).

``度`` alone names degrees Celsius, angle degrees and hardness degrees alike, so it stays the
unknown unit ``度`` unless the context says temperature (``温``/``temperature`` in the given
context, e.g. the subject ``出钢温度``, or in the few characters before the number in running
text, within the same clause): ``出钢温度1650度`` reads ``1650 °C``, ``倾角30度`` keeps ``30 度``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# canonical symbol -> (UCUM-style code, aliases); aliases are matched case-insensitively
# after NFKC, longest first. Chinese aliases follow the usage of GB/T steel standards.
UNITS: dict[str, tuple[str, tuple[str, ...]]] = {
    "°C": ("Cel", ("°c", "° c", "℃", "degc", "deg c", "deg.c", "cel", "celsius", "摄氏度")),
    # Ambiguous (temperature, angle, hardness): °C only in a temperature context (see above).
    "度": ("度", ("度",)),
    "K": ("K", ("k", "kelvin")),
    "Pa": ("Pa", ("pa", "帕")),
    "kPa": ("kPa", ("kpa", "千帕")),
    "MPa": ("MPa", ("mpa", "兆帕", "n/mm2", "n/mm²")),
    "GPa": ("GPa", ("gpa",)),
    "bar": ("bar", ("bar",)),
    "m/min": ("m/min", ("m/min", "m·min-1", "m·min⁻¹", "米/分钟", "米/分", "m per min")),
    "m/s": ("m/s", ("m/s", "米/秒")),
    "mm/s": ("mm/s", ("mm/s",)),
    "r/min": ("r/min", ("r/min", "rpm", "转/分")),
    "h": ("h", ("h", "hr", "hrs", "hour", "hours", "小时")),
    "min": ("min", ("min", "mins", "minute", "minutes", "分钟")),
    "s": ("s", ("s", "sec", "second", "seconds", "秒")),
    "%": ("%", ("%", "％", "pct", "percent", "wt%", "wt.%", "wt. %", "mass%")),
    "ppm": ("[ppm]", ("ppm", "[ppm]")),
    "mm": ("mm", ("mm", "毫米")),
    "μm": ("um", ("um", "μm", "µm", "微米")),
    "m": ("m", ("m", "米")),
    "m³": ("m3", ("m3", "m³", "立方米")),
    "Nm³": ("[Nm3]", ("nm3", "nm³", "标准立方米")),
    "t": ("t", ("t", "tonne", "tonnes", "吨")),
    "kg": ("kg", ("kg", "千克", "公斤")),
    "t/h": ("t/h", ("t/h", "吨/小时")),
    "Nm³/h": ("[Nm3]/h", ("nm3/h", "nm³/h", "标准立方米/小时")),
    "Nm³/t": ("[Nm3]/t", ("nm3/t", "nm³/t", "标准立方米/吨")),
    "kg/t": ("kg/t", ("kg/t", "千克/吨", "公斤/吨")),
    "kWh/t": ("kW.h/t", ("kwh/t", "kw·h/t", "千瓦时/吨")),
    "kWh": ("kW.h", ("kwh", "kw·h", "千瓦时", "度电")),
    "J": ("J", ("j", "joule", "joules", "焦耳", "焦")),
    "HRC": ("HRC", ("hrc",)),
    "HB": ("HB", ("hb", "hbw")),
    "HV": ("HV", ("hv",)),
}

_ALIAS: dict[str, str] = {}
for _symbol, (_code, _aliases) in UNITS.items():
    for _a in (*_aliases, _symbol.casefold(), _code.casefold()):
        _ALIAS.setdefault(_a, _symbol)

# Comparators written before the number (English and Chinese) or after it (Chinese).
_PREFIX_CMP: dict[str, str] = {
    "at most": "≤",
    "not more than": "≤",
    "no more than": "≤",
    "not exceeding": "≤",
    "up to": "≤",
    "max.": "≤",
    "max": "≤",
    "<=": "≤",
    "≤": "≤",
    "不大于": "≤",
    "不超过": "≤",
    "不高于": "≤",
    "at least": "≥",
    "not less than": "≥",
    "no less than": "≥",
    "min.": "≥",
    ">=": "≥",
    "≥": "≥",
    "不低于": "≥",
    "不小于": "≥",
    "below": "<",
    "under": "<",
    "less than": "<",
    "lower than": "<",
    "<": "<",
    "低于": "<",
    "小于": "<",
    "above": ">",
    "over": ">",
    "more than": ">",
    "greater than": ">",
    "higher than": ">",
    ">": ">",
    "高于": ">",
    "大于": ">",
    "超过": ">",
}
_SUFFIX_CMP: dict[str, str] = {"以下": "≤", "以内": "≤", "以上": "≥"}
# Hedges do not change the stated value, so they are dropped.
_HEDGES = (
    "approximately",
    "approx.",
    "about",
    "around",
    "roughly",
    "typically",
    "约为",
    "大约",
    "约",
)

_NUM = r"[-−+]?\d+(?:,\d{3})*(?:\.\d+)?"
# Full-width forms are listed too: spans are located in the raw (not NFKC) text.
_RANGE_SEP = r"\s*(?:-|–|—|~|〜|～|－|to|至|到)\s*"


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_UNIT_RE = _alternation(list(_ALIAS))
QUANTITY_RE = re.compile(
    rf"(?P<hedge>(?:{_alternation(list(_HEDGES))})\s*)?"
    rf"(?P<cmp>(?:{_alternation(list(_PREFIX_CMP))})\s*)?"
    rf"(?<![A-Za-z0-9.])(?P<a>{_NUM})(?:{_RANGE_SEP}(?P<b>{_NUM}))?"
    rf"(?:\s*(?P<unit>{_UNIT_RE})(?![A-Za-z]))?"
    rf"(?:\s*(?P<suffix>{_alternation(list(_SUFFIX_CMP))}))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Quantity:
    """A parsed quantity: `low`..`high` (equal for a single value) with comparator and unit."""

    low: Decimal
    high: Decimal
    comparator: str  # "", "<", "≤", ">", "≥"
    unit: str  # canonical symbol ("°C"), "" when unitless

    @property
    def ucum(self) -> str:
        """The unit's UCUM-style code (Cel, MPa, %, ...), "1" when unitless."""
        return UNITS[self.unit][0] if self.unit else "1"

    def canonical(self) -> str:
        number = _fmt(self.low) if self.low == self.high else f"{_fmt(self.low)}..{_fmt(self.high)}"
        return f"{self.comparator}{number} {self.unit}".strip()


def _fmt(d: Decimal) -> str:
    text = format(d.normalize(), "f")
    return "0" if text in ("-0", "+0") else text


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace("−", "-").replace(",", "").lstrip("+"))


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _quantity_from_match(m: re.Match[str]) -> Quantity | None:
    try:
        a = _decimal(m.group("a"))
        b = _decimal(m.group("b")) if m.group("b") else a
    except InvalidOperation:
        return None
    unit = _ALIAS.get((m.group("unit") or "").casefold(), "")
    cmp = _PREFIX_CMP.get((m.group("cmp") or "").strip().casefold(), "")
    if m.group("suffix"):
        cmp = _SUFFIX_CMP[m.group("suffix")]
    return Quantity(min(a, b), max(a, b), cmp, unit)


_TEMPERATURE = re.compile(r"温|temperature|temp\b", re.IGNORECASE)
_CONTEXT_CHARS = 12  # how far before a number running text is searched for "温度"
_CLAUSE = re.compile(r"[，。；;,、!?！？\n]|\.(?!\d)")


def is_temperature_context(context: str) -> bool:
    """Whether `context` (a parameter name, class or preceding text) speaks of temperature."""
    return bool(_TEMPERATURE.search(context))


def _resolve(q: Quantity | None, context: str) -> Quantity | None:
    if q is not None and q.unit == "度" and is_temperature_context(context):
        return Quantity(q.low, q.high, q.comparator, "°C")
    return q


def parse_quantity(text: str, context: str = "") -> Quantity | None:
    """The quantity `text` consists of (after NFKC), or None when it is not one quantity.

    `context` (e.g. the parameter the value belongs to) resolves the ambiguous ``度``."""
    s = " ".join(nfkc(text).split())
    m = QUANTITY_RE.fullmatch(s)
    if m is None:
        return None
    return _resolve(_quantity_from_match(m), context)


def canonical_quantities(text: str, context: str = "") -> str:
    """`text` with every quantity inside it rewritten to its canonical spelling."""

    def repl(m: re.Match[str]) -> str:
        # The clause before the number: "温度为1650度，倾角30度" reads the angle as 度.
        before = _CLAUSE.split(text[max(0, m.start() - _CONTEXT_CHARS) : m.start()])[-1]
        q = _resolve(_quantity_from_match(m), context + " " + before)
        return m.group(0) if q is None else q.canonical()

    return QUANTITY_RE.sub(repl, text)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalize_text(text: str, context: str = "") -> str:
    """NFKC, quantities canonical, underscores as spaces, case-folded, whitespace collapsed.

    `context` resolves the ambiguous unit ``度`` (see the module docstring)."""
    s = nfkc(text).replace("_", " ")
    s = " ".join(s.split())
    s = canonical_quantities(s, nfkc(context))
    return " ".join(s.casefold().split())


_EDGE_PUNCT = " \t\"'“”‘’「」『』《》()（）[]【】.,;:，。；：、!?！？"


def entity_key(text: str, context: str = "") -> str:
    """The comparison key of an entity or value: normalised, edge punctuation and all spaces gone.

    Spaces are removed as Text2KGBench does (``hot metal`` = ``hotmetal``), which also
    makes ``1600 °C`` and ``1600°C`` one key and ignores spacing inside Chinese text.
    `context` (a value's subject) resolves the ambiguous unit ``度``.
    """
    s = normalize_text(text, context).strip(_EDGE_PUNCT)
    return "".join(s.split())


def relation_text_key(text: str) -> str:
    """Key of a relation name outside the ontology: camelCase split, normalised, no spaces."""
    s = _CAMEL.sub(" ", nfkc(text).strip())
    return "".join(normalize_text(s).split())


_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_]+(?:\.\d+)?|[%°≤≥<>]", re.UNICODE)


def tokens(text: str) -> list[str]:
    """Tokens for partial matching: each CJK character, each word or number, unit signs."""
    return _TOKEN.findall(normalize_text(text))


def element_tokens(text: str) -> list[str]:
    """`tokens` after splitting camelCase words (``hasInput`` -> ``has``, ``input``), as the
    WebNLG 2020 evaluation script splits predicates before matching elements."""
    return tokens(_CAMEL.sub(" ", nfkc(text)))
