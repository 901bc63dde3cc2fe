"""`pingce safety`: the TC260 safety method's tools that need no model — the taxonomy, bank
validation against the method's minimum sizes and class coverage, and keyword scans of texts
with pass rates by class. The human-review round trip is a library (`pingce.safety.review`).

Not a standard of its own: `pingce.safety` is the library the llm standard's safety suite and
the data standard's corpus sampling are to be built on (not wired in yet).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="TC260 generative-AI safety method: taxonomy, bank checks, keyword scans.",
    no_args_is_help=True,
    add_completion=False,
)
Req = Annotated[
    Path | None,
    typer.Option(
        "--requirements",
        help="Requirements YAML of another edition (default: built-in TC260-003-2024).",
    ),  # fmt: skip
]


@app.command("taxonomy")
def taxonomy_cmd(
    file: Annotated[Path | None, typer.Option("--file", help="A lab's taxonomy YAML.")] = None,
) -> None:
    """List the risk classes and sub-classes (ids, English and Chinese names)."""
    from rich.table import Table

    from pingce.core.cli_kit import out
    from pingce.safety.taxonomy import load_taxonomy

    tax = load_taxonomy(file)
    table = Table(title=f"Risk taxonomy ({tax.edition}): {len(tax.classes)} classes, {len(tax.subclasses)} sub-classes")  # fmt: skip
    for col in ("id", "English", "中文"):
        table.add_column(col, overflow="fold")
    for c in tax.classes:
        table.add_row(f"[bold]{c.id}[/]", c.en, c.zh)
        for s in tax.subclasses_of(c.id):
            table.add_row(s.id, s.en, s.zh)
    out.print(table)


@app.command("check-banks")
def check_banks(
    generated: Annotated[Path | None, typer.Option(help="Generated-content question bank.")] = None,
    refuse: Annotated[Path | None, typer.Option(help="Should-refuse bank.")] = None,
    no_refuse: Annotated[
        Path | None, typer.Option("--no-refuse", help="Should-not-refuse bank.")
    ] = None,  # fmt: skip
    keywords: Annotated[Path | None, typer.Option(help="Keyword library.")] = None,
    samples: Annotated[
        bool, typer.Option("--samples", help="Check pingce's own sample banks.")
    ] = False,  # fmt: skip
    requirements: Req = None,
) -> None:
    """Check banks against the method's minimum sizes and class coverage; exit 1 if one falls short."""
    from pingce.core.cli_kit import out
    from pingce.core.errors import SpecError
    from pingce.safety.banks import read_bank, read_keywords
    from pingce.safety.requirements import check_bank, load_requirements
    from pingce.safety.taxonomy import DATA, load_taxonomy

    tax, req = load_taxonomy(), load_requirements(requirements)
    if samples:
        base = DATA / "samples"
        generated = generated or base / "generated.jsonl"
        refuse = refuse or base / "refuse.jsonl"
        no_refuse = no_refuse or base / "no_refuse.jsonl"
        keywords = keywords or base / "keywords.jsonl"
    given = {"generated": generated, "refuse": refuse, "no_refuse": no_refuse}
    if not any(given.values()) and keywords is None:
        raise SpecError("no bank given", hint="pass --generated, --refuse, --no-refuse, --keywords or --samples")  # fmt: skip
    findings = []
    for kind, path in given.items():
        if path is not None:
            items = read_bank(path, kind, tax)
            out.print(f"{kind}: {len(items)} items from {path}", markup=False, highlight=False)
            findings += check_bank(kind, [i.risk for i in items], req, tax)
    if keywords is not None:
        kws = read_keywords(keywords, tax)
        out.print(f"keywords: {len(kws)} entries from {keywords}", markup=False, highlight=False)
        findings += check_bank("keywords", [k.risk for k in kws], req, tax)
    for f in findings:
        out.print(f"SHORT  {f.message}", markup=False, highlight=False)
    verdict = "meet" if not findings else "do not meet"
    out.print(f"The banks {verdict} the {req.edition} requirements ({len(findings)} shortfall(s)).", markup=False)  # fmt: skip
    if findings:
        raise typer.Exit(1)


@app.command("scan")
def scan(
    texts: Annotated[
        Path, typer.Argument(help="JSONL/CSV/XLSX of texts to check (e.g. model responses).")
    ],  # fmt: skip
    keywords: Annotated[Path, typer.Option(help="Keyword library (JSONL/CSV/XLSX).")],
    field: Annotated[str, typer.Option(help="Column holding the text.")] = "response",
    homophones: Annotated[
        bool, typer.Option(help="Also match same-sound characters (谐音).")
    ] = False,  # fmt: skip
    hits_out: Annotated[
        Path | None, typer.Option("--hits", help="Write each text's hits as JSONL here (new file).")
    ] = None,  # fmt: skip
) -> None:
    """Keyword check of texts: the pass rate (no keyword hit) with its 95% CI, and hits by class."""
    from collections import Counter

    from pingce.core.cli_kit import out
    from pingce.core.errors import DataError
    from pingce.safety.banks import read_keywords, read_rows
    from pingce.safety.keywords import KeywordMatcher
    from pingce.safety.rates import rate
    from pingce.safety.taxonomy import load_taxonomy

    tax = load_taxonomy()
    matcher = KeywordMatcher(read_keywords(keywords, tax), homophones=homophones)
    key = field.casefold()
    results = []
    for n, row in read_rows(texts):
        value = row.get(key)
        if not isinstance(value, str):
            raise DataError(f"{texts}:{n}: no text in column {field!r}", hint="choose the column with --field")  # fmt: skip
        hits = matcher.find(value)
        results.append((row.get("id", n), hits))
    passed = rate([not h for _, h in results])
    lo, hi = passed.ci
    by_class = Counter(tax.class_of(h.risk) for _, hs in results for h in hs if h.risk)
    out.print(f"{passed.n} texts, {passed.n - passed.k} with keyword hits; pass rate {passed.value:.4f} [95% CI {lo:.4f}, {hi:.4f}]", markup=False)  # fmt: skip
    for cls, count in sorted(by_class.items()):
        c = tax.get(cls)
        out.print(f"  {cls} {c.en} / {c.zh}: {count} hit(s)", markup=False, highlight=False)
    if hits_out is not None:
        if hits_out.exists():
            raise DataError(f"{hits_out}: already exists; pingce does not overwrite it")
        with hits_out.open("x", encoding="utf-8") as fh:
            for rid, hs in results:
                fh.write(json.dumps({"id": rid, "hits": [h.__dict__ for h in hs]}, ensure_ascii=False, default=str) + "\n")  # fmt: skip


def register() -> None:
    """Add `pingce safety` (idempotent)."""
    from pingce.core.registry import commands

    if not commands.has_loaded("safety"):
        commands.register("safety", app)
