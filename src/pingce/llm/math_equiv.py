"""Equivalence of final math answers (MATH, MATH-500): string normalisation, then sympy.

Two answers are equivalent when, after the normalisation of Hendrycks et al.'s MATH grader
(`strip_string`: no `$`, `\\left`/`\\right`, units in `\\text{}`, degree signs, percent signs,
`\\dfrac` → `\\frac`, `\\frac12` → `\\frac{1}{2}`, a leading `x =`), they are the same string;
or, element by element for tuples and intervals (same brackets), sympy finds their difference
simplifies to zero. LaTeX is translated to sympy syntax by a small converter covering what
final answers use (fractions, roots, powers, π, ∞, products); anything it cannot parse
compares as a string only.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

MAX_SYMPY_CHARS = 200  # longer answers compare as strings: simplify can take very long

_UNIT_TEXT = re.compile(r"\\(?:text|textbf|mbox|mathrm)\{\s*[a-zA-Z ]*\}")


def _fix_fracs(s: str) -> str:
    """`\\frac12` → `\\frac{1}{2}`, `\\frac1{2}` → `\\frac{1}{2}` (MATH's `fix_fracs`)."""
    out = ""
    parts = s.split("\\frac")
    out = parts[0]
    for part in parts[1:]:
        out += "\\frac"
        if part.startswith("{") or len(part) < 2:
            out += part
            continue
        a, rest = part[0], part[1:]
        if rest.startswith("{"):
            out += "{" + a + "}" + rest
        else:
            out += "{" + a + "}{" + rest[0] + "}" + rest[1:]
    return out


def _fix_sqrt(s: str) -> str:
    """`\\sqrt2` → `\\sqrt{2}`."""
    return re.sub(r"\\sqrt(\w)", r"\\sqrt{\1}", s)


def _fix_a_slash_b(s: str) -> str:
    m = re.fullmatch(r"(-?\d+)/(\d+)", s)
    return f"\\frac{{{m.group(1)}}}{{{m.group(2)}}}" if m else s


def normalize_answer(text: str) -> str:
    """MATH's `strip_string`, extended with `\\tfrac`, `\\!`, thin spaces and `\\text{}`."""
    s = text.strip().replace("\n", "").rstrip(".")
    s = s.replace("\\!", "").replace("\\,", "").replace("\\;", "").replace("\\ ", "")
    s = s.replace("\\\\", "\\")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\left", "").replace("\\right", "")
    s = s.replace("^{\\circ}", "").replace("^\\circ", "").replace("°", "")
    s = s.replace("\\$", "").replace("$", "")
    s = _UNIT_TEXT.sub("", s)
    s = re.sub(r"\\text\{(.*?)\}", r"\1", s)
    s = s.replace("\\%", "").replace("%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    if s.startswith("."):
        s = "0" + s
    # "x = 5" / "k=5": the value only (short left-hand sides, as MATH's grader does).
    if s.count("=") == 1 and len(s.split("=")[0].strip()) <= 2:
        s = s.split("=")[1]
    s = _fix_sqrt(s)
    s = s.replace(" ", "")
    s = _fix_fracs(s)
    if s == "0.5":
        s = "\\frac{1}{2}"
    return _fix_a_slash_b(s)


def _braced(s: str, i: int) -> tuple[str, int]:
    """Content of the brace group at s[i] == '{' and the index after it."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "{":
            depth += 1
        elif s[j] == "}":
            depth -= 1
            if depth == 0:
                return s[i + 1 : j], j + 1
    raise ValueError("unbalanced braces")


def latex_to_sympy_text(s: str) -> str:
    """Translate a normalised LaTeX answer into text `sympy.parse_expr` reads."""
    out = []
    i = 0
    while i < len(s):
        if s.startswith("\\frac", i) and s[i + 5 : i + 6] == "{":
            num, j = _braced(s, i + 5)
            den, k = _braced(s, j)
            out.append(f"(({latex_to_sympy_text(num)})/({latex_to_sympy_text(den)}))")
            i = k
        elif s.startswith("\\sqrt[", i):
            close = s.index("]", i)
            index = s[i + 6 : close]
            body, k = _braced(s, close + 1)
            out.append(f"(({latex_to_sympy_text(body)})**(1/({latex_to_sympy_text(index)})))")
            i = k
        elif s.startswith("\\sqrt{", i):
            body, k = _braced(s, i + 5)
            out.append(f"sqrt({latex_to_sympy_text(body)})")
            i = k
        elif s[i] == "{":
            body, k = _braced(s, i)
            out.append(f"({latex_to_sympy_text(body)})")
            i = k
        elif s[i] == "\\":
            m = re.match(r"\\([A-Za-z]+)", s[i:])
            if not m:
                raise ValueError(f"bad command at {s[i:]!r}")
            name = m.group(1)
            table = {"pi": "pi", "infty": "oo", "cdot": "*", "times": "*", "div": "/"}
            if name not in table:
                raise ValueError(f"unsupported command \\{name}")
            out.append(f" {table[name]} ")
            i += len(m.group(0))
        elif s[i] == "^":
            out.append("**")
            i += 1
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def _to_sympy(s: str) -> Any:
    from sympy.parsing.sympy_parser import (
        convert_xor,
        implicit_multiplication_application,
        parse_expr,
        standard_transformations,
    )

    transforms = (*standard_transformations, implicit_multiplication_application, convert_xor)
    return parse_expr(latex_to_sympy_text(s), transformations=transforms, evaluate=True)


def _sympy_equal(a: str, b: str) -> bool:
    if max(len(a), len(b)) > MAX_SYMPY_CHARS:
        return False
    try:
        import sympy

        ea, eb = _to_sympy(a), _to_sympy(b)
        diff = sympy.simplify(ea - eb)
        return bool(diff == 0)
    except Exception:  # sympy raises many types for inputs it cannot read; not equal then
        return False


def _split_top(s: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def _sequence(s: str) -> tuple[str, list[str]] | None:
    """('()', items) for a bracketed tuple/interval, ('', items) for a bare list, else None."""
    if len(s) >= 2 and s[0] in "([" and s[-1] in ")]":
        inner = _split_top(s[1:-1])
        if len(inner) > 1:
            return s[0] + s[-1], inner
    parts = _split_top(s)
    return ("", parts) if len(parts) > 1 else None


def is_equiv(prediction: str, reference: str) -> bool:
    """True when the two final answers are mathematically the same (see the module doc)."""
    a, b = normalize_answer(prediction), normalize_answer(reference)
    if not a or not b:
        return False
    if a == b:
        return True
    sa, sb = _sequence(a), _sequence(b)
    if sa or sb:
        if not (sa and sb) or sa[0] != sb[0] or len(sa[1]) != len(sb[1]):
            return False
        return all(x == y or _sympy_equal(x, y) for x, y in zip(sa[1], sb[1], strict=True))
    return _sympy_equal(a, b)
