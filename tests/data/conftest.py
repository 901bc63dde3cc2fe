"""Real, human-written Chinese (and the English it was translated from) that a Debian machine
has offline: the translated manual pages of `manpages-zh` and the zh_CN gettext catalogues of
installed packages (`.mo` files: English msgid, Chinese msgstr).

Nothing here is written by pingce: the filters' false-removal rates are measured on text that
translators wrote. A fixture skips, naming the Debian package to install, when the text is absent.
"""

from __future__ import annotations

import gettext
import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

MAN_ZH = Path("/usr/share/man/zh_CN")
MAN_EN = Path("/usr/share/man")
LOCALE_ZH = Path("/usr/share/locale/zh_CN/LC_MESSAGES")
HAN_RE = re.compile("[\u4e00-\u9fff]")

# roff escapes: fonts (\fB, \f[CR], \f(CW), spacing hints (\, \/ \& \: \%), named glyphs.
_FONT_RE = re.compile(r"\\f(?:\[[^\]]*\]|\(..|.)")
_GLYPHS = {r"\(aq": "'", r"\(dq": '"', r"\(em": "—", r"\(en": "–", r"\(bu": "•", r"\(co": "©",
           r"\(lq": "“", r"\(rq": "”", r"\(oq": "‘", r"\(cq": "’", r"\(ga": "`", r"\(ti": "~",
           r"\(ha": "^", r"\(rs": "\\", r"\e": "\\", r"\-": "-", r"\ ": " ", r"\~": " ",
           r"\(hy": "-", r"\(mi": "-", r"\(pl": "+", r"\(<=": "<=", r"\(>=": ">="}  # fmt: skip
_DROP_RE = re.compile(r"\\[c,/&:%|^)]|\\\*\(..|\\\*\[[^\]]*\]|\\\*.|\\[nsk]\(?..?|\\[hvwo]'[^']*'")


def roff_to_text(src: str) -> str:
    """A man page's running text, one filled paragraph per line.

    Macro lines start a new paragraph (the text arguments of headings and `.B`/`.I` lines are
    kept as text); escapes are resolved or dropped. Tables (tbl) and example blocks (`.nf`) are
    left out: they are not prose.
    """
    paras: list[list[str]] = [[]]
    skip = False
    for raw in src.splitlines():
        line = raw.rstrip()
        if line.startswith(('.\\"', "'\\\"", '.\\"')) or line in (".", "'"):
            continue
        if line.startswith((".", "'")):
            macro, _, arg = line[1:].partition(" ")
            macro = macro.strip()
            if macro in ("nf", "EX", "TS"):
                skip = True
            elif macro in ("fi", "EE", "TE"):
                skip = False
            elif (
                macro in ("B", "I", "BR", "IR", "RB", "RI", "BI", "IB", "SM", "SB", "UR", "URL")
                and arg
            ):
                if not skip:
                    paras[-1].append(arg.replace('"', ""))
                continue
            if paras[-1]:
                paras.append([])
            continue
        if skip or not line.strip():
            continue
        paras[-1].append(line)
    out = []
    for p in paras:
        text = " ".join(p)
        text = _FONT_RE.sub("", text)
        for esc, rep in _GLYPHS.items():
            text = text.replace(esc, rep)
        text = _DROP_RE.sub("", text).replace("\\\\", "\\")
        text = re.sub(r"[ \t]+", " ", text).strip()
        if text:
            out.append(text)
    return "\n".join(out)


def _read_man(path: Path) -> str:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return roff_to_text(raw.decode("utf-8", errors="replace"))


@dataclass(frozen=True)
class ParallelDoc:
    name: str
    zh: str
    en: str | None


def man_pages() -> list[ParallelDoc]:
    """Every manpages-zh page of sections 1 and 8 (commands) with at least 100 Han characters,
    with its English original when installed under the same name."""
    if not MAN_ZH.is_dir() or not any((MAN_ZH / "man1").glob("*.gz")):
        return []
    docs = []
    for sec in ("man1", "man8"):
        for path in sorted((MAN_ZH / sec).glob("*.gz")):
            if path.is_symlink():
                continue
            zh = _read_man(path)
            if len(HAN_RE.findall(zh)) < 100:
                continue
            en_path = MAN_EN / sec / path.name
            en = _read_man(en_path) if en_path.is_file() and not en_path.is_symlink() else None
            docs.append(ParallelDoc(f"{sec}/{path.name}", zh, en))
    return docs


def _catalogue(path: Path) -> dict[str, str]:
    with path.open("rb") as fh:
        cat = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    # Plural forms are keyed (msgid, n); the header has an empty msgid.
    return {k: v for k, v in cat.items() if isinstance(k, str) and k and isinstance(v, str) and v}


def catalogue_messages(min_han: int = 60) -> list[ParallelDoc]:
    """Long messages (help texts, descriptions) of the installed zh_CN catalogues: each
    translated message with at least `min_han` Han characters, and its English msgid."""
    if not LOCALE_ZH.is_dir():
        return []
    docs = []
    for path in sorted(LOCALE_ZH.glob("*.mo")):
        if path.name.startswith(("iso_", "iso-")):
            continue  # lists of country/language names, not sentences
        for en, zh in _catalogue(path).items():
            if len(HAN_RE.findall(zh)) >= min_han and zh != en:
                docs.append(ParallelDoc(f"{path.name}:{en[:30]}", zh, en))
    return docs


@pytest.fixture(scope="session")
def zh_man_pages() -> list[ParallelDoc]:
    docs = man_pages()
    if len(docs) < 50:
        pytest.skip("needs Debian package manpages-zh (apt-get install manpages-zh)")
    return docs


@pytest.fixture(scope="session")
def zh_catalogue_messages() -> list[ParallelDoc]:
    docs = catalogue_messages()
    if len(docs) < 50:
        pytest.skip(
            "needs zh_CN gettext catalogues: Debian packages coreutils, tar, grep, wget with "
            "their translations (apt-get install coreutils tar grep wget gettext)"
        )
    return docs
