"""Cleaning operators: Unicode normalisation, encoding repair, control characters and
whitespace, HTML to text, and a plain length filter."""

from __future__ import annotations

import html
import re
import unicodedata
from typing import ClassVar, Literal

from pydantic import Field

from pingce.data.document import Document
from pingce.data.operators.base import KEEP, MODIFIED, OPERATORS, Operator, OpParams, Verdict
from pingce.data.text import han_count

# Full-width punctuation of CJK text (，。！？：；（） etc.), which NFKC would turn into ASCII.
CJK_PUNCT_RE = re.compile("([\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\u3000-\u303f]+)")


class NormalizeParams(OpParams):
    form: Literal["NFC", "NFKC", "NFD", "NFKD"] = "NFKC"
    keep_cjk_punctuation: bool = True  # leave ，。！？ as they are: they are correct in Chinese


def normalize_text(text: str, form: str, keep_cjk_punctuation: bool) -> str:
    if not keep_cjk_punctuation or form in ("NFC", "NFD") or not CJK_PUNCT_RE.search(text):
        return unicodedata.normalize(form, text)  # type: ignore[arg-type]
    pieces = CJK_PUNCT_RE.split(text)  # odd positions are the punctuation runs
    return "".join(p if i % 2 else unicodedata.normalize(form, p) for i, p in enumerate(pieces))  # type: ignore[arg-type]


@OPERATORS.register("normalize")
class Normalize(Operator):
    """Unicode normalisation (NFKC by default: full-width Latin letters and digits to ASCII,
    ligatures split); CJK full-width punctuation is kept unless `keep_cjk_punctuation: false`."""

    name: ClassVar[str] = "normalize"
    Params = NormalizeParams

    def apply(self, doc: Document) -> Verdict:
        p: NormalizeParams = self.params  # type: ignore[assignment]
        return (
            MODIFIED
            if doc.map_text(lambda t: normalize_text(t, p.form, p.keep_cjk_punctuation))
            else KEEP
        )


class FtfyParams(OpParams):
    unescape_html: bool | Literal["auto"] = "auto"
    uncurl_quotes: bool = False  # keep typographic quotes: they are not errors
    fix_latin_ligatures: bool = True
    fix_character_width: bool = False  # True would turn Chinese ，。 into ASCII , .
    normalization: Literal["NFC", "NFKC"] | None = "NFC"


@OPERATORS.register("fix_encoding")
class FixEncoding(Operator):
    """Repair mojibake and other encoding damage with ftfy."""

    name: ClassVar[str] = "fix_encoding"
    Params = FtfyParams

    def __init__(self, params: OpParams, label: str | None = None) -> None:
        super().__init__(params, label)
        import ftfy

        p: FtfyParams = params  # type: ignore[assignment]
        self._config = ftfy.TextFixerConfig(
            unescape_html=p.unescape_html,
            uncurl_quotes=p.uncurl_quotes,
            fix_latin_ligatures=p.fix_latin_ligatures,
            fix_character_width=p.fix_character_width,
            normalization=p.normalization,
            explain=False,
        )
        self._fix = ftfy.fix_text

    def apply(self, doc: Document) -> Verdict:
        return MODIFIED if doc.map_text(lambda t: self._fix(t, self._config)) else KEEP


# C0/C1 controls except tab and newline, plus zero-width and BOM characters.
CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff]")
SPACES_RE = re.compile(r"[ \t\u00a0\u3000]+")
BLANK_LINES_RE = re.compile(r"\n{3,}")


class WhitespaceParams(OpParams):
    remove_control: bool = True
    collapse_spaces: bool = True  # runs of spaces/tabs (incl. NBSP, ideographic space) -> one space
    strip_lines: bool = True
    max_blank_lines: int = Field(default=1, ge=0)


def clean_whitespace(text: str, p: WhitespaceParams) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if p.remove_control:
        text = CONTROL_RE.sub("", text)
    if p.collapse_spaces:
        text = SPACES_RE.sub(" ", text)
    if p.strip_lines:
        text = "\n".join(line.strip() for line in text.split("\n"))
    text = re.sub(f"\n{{{p.max_blank_lines + 2},}}", "\n" * (p.max_blank_lines + 1), text)
    return text.strip()


@OPERATORS.register("clean_whitespace")
class CleanWhitespace(Operator):
    """Drop control characters, collapse spaces, strip lines, limit blank lines."""

    name: ClassVar[str] = "clean_whitespace"
    Params = WhitespaceParams

    def apply(self, doc: Document) -> Verdict:
        p: WhitespaceParams = self.params  # type: ignore[assignment]
        return MODIFIED if doc.map_text(lambda t: clean_whitespace(t, p)) else KEEP


HTML_HINT_RE = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]*)(?:\s[^>]*)?/?>|&(?:[a-z]+|#\d+);")
DROP_TAGS = ("script", "style", "noscript", "template", "svg", "head", "iframe")
BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "section",
        "article",
        "header",
        "footer",
        "blockquote",
        "pre",
        "dd",
        "dt",
        "dl",
        "hr",
        "nav",
        "aside",
        "main",
        "figure",
        "figcaption",
        "title",
    ]
)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML document or fragment; block elements become line breaks."""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return html.unescape(markup)
    for bad in root.xpath("|".join(f"//{t}" for t in DROP_TAGS)):
        bad.drop_tree()
    out: list[str] = []

    def walk(el: lxml.html.HtmlElement) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in BLOCK_TAGS:
            out.append("\n")
        if el.text and isinstance(el.tag, str):
            out.append(el.text)
        for child in el:
            walk(child)
            if child.tail:
                out.append(child.tail)
        if tag in BLOCK_TAGS:
            out.append("\n")

    walk(root)
    text = "".join(out)
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    return BLANK_LINES_RE.sub("\n\n", text).strip()


class HtmlParams(OpParams):
    only_if_html: bool = True  # leave plain text (no tags/entities) untouched


@OPERATORS.register("html_to_text")
class HtmlToText(Operator):
    """Strip markup (scripts, styles dropped; blocks become lines) with lxml."""

    name: ClassVar[str] = "html_to_text"
    Params = HtmlParams

    def apply(self, doc: Document) -> Verdict:
        only = self.params.only_if_html  # type: ignore[attr-defined]

        def fix(t: str) -> str:
            if only and not HTML_HINT_RE.search(t):
                return t
            return html_to_text(t)

        return MODIFIED if doc.map_text(fix) else KEEP


class LengthParams(OpParams):
    min_chars: int = Field(default=1, ge=0)
    max_chars: int | None = None
    # Han characters carry about as much text as 2-3 Latin letters; count each as this many.
    han_weight: float = Field(default=1.0, gt=0)


@OPERATORS.register("length_filter")
class LengthFilter(Operator):
    """Remove documents shorter or longer than a character budget (empty ones included)."""

    name: ClassVar[str] = "length_filter"
    Params = LengthParams

    def apply(self, doc: Document) -> Verdict:
        p: LengthParams = self.params  # type: ignore[assignment]
        text = doc.text.strip()
        n = len(text)
        if p.han_weight != 1.0:
            n += int(han_count(text) * (p.han_weight - 1.0))
        if n < p.min_chars:
            return "empty" if not text else "too_short"
        if p.max_chars is not None and n > p.max_chars:
            return "too_long"
        return KEEP
