"""PII detection: e-mail, phone numbers (China and international), Chinese resident ID numbers
(GB 11643-1999 check digit and a real birth date), bank card numbers (Luhn), IP addresses, URLs.

Detectors run in priority order and a later match that overlaps an earlier one is dropped (an
e-mail's domain is not also a URL; an 18-digit ID is not also a bank card).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

Kind = Literal["email", "url", "id_cn", "bank_card", "phone", "ip"]
ALL_KINDS: tuple[Kind, ...] = ("email", "url", "id_cn", "bank_card", "phone", "ip")
TAGS: dict[str, str] = {
    "email": "<EMAIL>",
    "url": "<URL>",
    "id_cn": "<ID_CN>",
    "bank_card": "<BANK_CARD>",
    "phone": "<PHONE>",
    "ip": "<IP>",
}

EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b"
)
URL_RE = re.compile(r"(?:https?://|ftp://|www\.)[^\s<>\"'，。、；）】》]+", re.IGNORECASE)
ID_CN_RE = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
CARD_RE = re.compile(r"(?<![\d-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\d-])")
CN_MOBILE_RE = re.compile(r"(?<![\d+])(?:(?:\+|00)86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")
CN_LANDLINE_RE = re.compile(r"(?<!\d)(?:\(0\d{2,3}\)|0\d{2,3}-)[ ]?\d{7,8}(?!\d)")
INTL_HINT_RE = re.compile(r"(?:\+|00)\d")
IPV4_RE = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\d|\.\d)")
IPV6_RE = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


@dataclass(frozen=True)
class PiiSpan:
    kind: str
    start: int
    end: int
    text: str


def valid_id_cn(s: str) -> bool:
    """GB 11643-1999: ISO 7064 MOD 11-2 check character and a real date of birth."""
    if len(s) != 18 or not s[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(s[:17], ID_WEIGHTS, strict=True))
    if ID_CHECK[total % 11] != s[17].upper():
        return False
    try:
        born = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    return date(1880, 1, 1) <= born <= date.today()


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card(m: re.Match[str]) -> bool:
    raw = m.group(0)
    digits = re.sub(r"[ -]", "", raw)
    if not 13 <= len(digits) <= 19:
        return False
    # Grouped numbers must use one separator style ("6222 0212 ..." or "6222-0212-...").
    if " " in raw and "-" in raw:
        return False
    return luhn_ok(digits)


def _ip(m: re.Match[str]) -> bool:
    try:
        ipaddress.ip_address(m.group(0))
    except ValueError:
        return False
    return True


MIN_IPV6_GROUPS = 3


def _ipv6(m: re.Match[str]) -> bool:
    """A valid IPv6 address written with at least three non-empty hex groups.

    Shorter forms are nearly always something else: `::` is C++/Rust/Ruby scope syntax, Haskell
    and Markdown punctuation; `a::b` a namespace path; `::1` and `fe80::1` are loopback and
    link-local addresses that identify nobody.
    """
    raw = m.group(0)
    if sum(1 for g in raw.split(":") if g) < MIN_IPV6_GROUPS:
        return False
    try:
        addr = ipaddress.IPv6Address(raw)
    except ValueError:
        return False
    return not (addr.is_loopback or addr.is_unspecified)


def _intl_phones(text: str) -> list[tuple[int, int]]:
    if not INTL_HINT_RE.search(text):
        return []
    import phonenumbers

    return [
        (m.start, m.end)
        for m in phonenumbers.PhoneNumberMatcher(text, None, leniency=phonenumbers.Leniency.VALID)
    ]


def find_pii(text: str, kinds: tuple[str, ...] | list[str] = ALL_KINDS) -> list[PiiSpan]:
    """Non-overlapping PII spans sorted by position."""
    candidates: list[tuple[str, int, int]] = []
    wanted = set(kinds)

    def add(kind: str, regex: re.Pattern[str], check=None) -> None:  # type: ignore[no-untyped-def]
        if kind not in wanted:
            return
        for m in regex.finditer(text):
            if check is None or check(m):
                end = m.end()
                if kind == "url":  # trailing sentence punctuation is not part of a URL
                    while end > m.start() and text[end - 1] in ".,;:!?)]'\"":
                        end -= 1
                candidates.append((kind, m.start(), end))

    add("email", EMAIL_RE)
    add("url", URL_RE)
    add("id_cn", ID_CN_RE, lambda m: valid_id_cn(m.group(0)))
    add("bank_card", CARD_RE, _card)
    if "phone" in wanted:
        add("phone", CN_MOBILE_RE)
        add("phone", CN_LANDLINE_RE)
        candidates.extend(("phone", s, e) for s, e in _intl_phones(text))
    add("ip", IPV4_RE, _ip)
    add("ip", IPV6_RE, _ipv6)
    taken: list[tuple[int, int]] = []
    spans: list[PiiSpan] = []
    for kind, start, end in candidates:  # earlier detectors win overlaps
        if any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        spans.append(PiiSpan(kind, start, end, text[start:end]))
    return sorted(spans, key=lambda s: s.start)


def mask_pii(text: str, spans: list[PiiSpan], tags: dict[str, str] | None = None) -> str:
    """Replace each span by its tag (<EMAIL>, <PHONE>, ...)."""
    tags = tags or TAGS
    out: list[str] = []
    pos = 0
    for s in spans:
        out.append(text[pos : s.start])
        out.append(tags.get(s.kind, f"<{s.kind.upper()}>"))
        pos = s.end
    out.append(text[pos:])
    return "".join(out)
