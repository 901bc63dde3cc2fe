"""`pingce kg ...`: evaluate extracted triples, check a graph, build a KG with an LLM."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any

import typer

from pingce.core.cli_kit import Db, NoReport, Quiet, ReportDir, out, run_and_report
from pingce.kg.runs import (
    build_graph,
    check_generation,
    check_graph,
    evaluate_predictions,
    write_outputs,
)
from pingce.kg.sector import STEEL_LLM_SUITE, sector_report

# The library functions above lived here; the old import paths keep working.
__all__ = [
    "STEEL_LLM_SUITE",
    "app",
    "build_graph",
    "check_graph",
    "evaluate_predictions",
    "sector_report",
    "write_outputs",
]

app = typer.Typer(
    help="Knowledge-graph construction quality (steel-production reference ontology and gold set).",
    no_args_is_help=True,
)
Onto = Annotated[
    Path | None, typer.Option("--ontology", help="Ontology (default: the steel ontology).")
]


@app.command()
def evaluate(
    pred: Annotated[
        Path,
        typer.Option(
            "--pred",
            help="Extracted triples: .jsonl, RDF (.nt .ttl .jsonld .trig .nq), Neo4j CSV file or folder.",
        ),
    ],
    gold: Annotated[
        Path | None, typer.Option("--gold", help="Gold set JSONL (default: the steel gold set).")
    ] = None,
    ontology: Onto = None,
    fmt: Annotated[str, typer.Option("--format", help="auto, jsonl, rdf or neo4j.")] = "auto",
    subset: Annotated[
        bool, typer.Option("--subset", help="Score only the gold texts the predictions name.")
    ] = False,
    report_dir: ReportDir = Path("reports"),
    no_report: NoReport = False,
    quiet: Quiet = False,
    db: Db = None,
) -> None:
    """Score extracted triples against a gold set (P/R/F1, WebNLG, entities, relations, hallucination)."""
    run_and_report(
        lambda store: evaluate_predictions(store, pred, gold, ontology, fmt, subset, not quiet),
        db=db,
        report_dir=None if no_report else report_dir,
        quiet=quiet,
    )


@app.command()
def quality(
    graph: Annotated[
        Path,
        typer.Argument(
            help="The knowledge graph (Turtle, N-Triples, JSON-LD, RDF/XML, TriG, N-Quads)."
        ),
    ],
    ontology: Onto = None,
    shapes: Annotated[
        Path | None, typer.Option("--shapes", help="SHACL shapes (default: the steel shapes).")
    ] = None,
    completeness: Annotated[
        Path | None, typer.Option("--completeness", help="Completeness shapes (default: steel).")
    ] = None,
    cq: Annotated[
        Path | None,
        typer.Option(
            "--cq",
            help="Competency questions YAML (default: the built-in steel questions, on graphs that use the steel ontology only).",
        ),
    ] = None,
    owlrl_limit: Annotated[
        int,
        typer.Option("--owlrl-limit", help="Run OWL-RL reasoning only up to this many triples."),
    ] = 5000,
    report_dir: ReportDir = Path("reports"),
    no_report: NoReport = False,
    quiet: Quiet = False,
    db: Db = None,
) -> None:
    """Check a graph without gold: SHACL, completeness, consistency, redundancy, connectivity, CQs."""
    run_and_report(
        lambda store: check_graph(
            store, graph, ontology, shapes, completeness, cq, owlrl_limit, not quiet, out.print
        ),
        db=db,
        report_dir=None if no_report else report_dir,
        quiet=quiet,
    )


@app.command()
def build(
    text: Annotated[
        Path,
        typer.Option(
            "--text",
            help="Passages: a folder of .txt, a .txt, or a .jsonl with id/text (e.g. the gold set).",
        ),
    ],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="A model subject, e.g. hf:./models/qwen or openai://127.0.0.1:8000/v1?model=m.",
        ),
    ],
    ontology: Onto = None,
    gold: Annotated[
        Path | None,
        typer.Option(
            "--gold", help="Gold set to score passages whose id it has (default: steel gold)."
        ),
    ] = None,
    out_path: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Where the extracted triples go (.jsonl; a .ttl graph is written next to it).",
        ),
    ] = Path("kg-triples.jsonl"),
    shots: Annotated[int, typer.Option("--shots", help="Few-shot examples from the gold set.")] = 2,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens")] = 384,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 4,
    device: Annotated[str, typer.Option("--device")] = "auto",
    report_dir: ReportDir = Path("reports"),
    no_report: NoReport = False,
    quiet: Quiet = False,
    db: Db = None,
) -> None:
    """Extract a knowledge graph from text with a language model (a baseline to compare against)."""
    opts = {"batch_size": batch_size, "device": device}

    def run(store: Any) -> str:
        run_id = build_graph(
            store, text, model, ontology, gold, shots, max_new_tokens, opts, not quiet
        )
        n = write_outputs(store, run_id, out_path, ontology)
        out.print(f"{n} triples → {out_path} and {out_path.with_suffix('.ttl')}")
        return run_id

    run_and_report(
        run,
        db=db,
        report_dir=None if no_report else report_dir,
        quiet=quiet,
        check=lambda: check_generation(shots, max_new_tokens, batch_size),
    )


@app.command()
def reference(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder to copy the steel reference material to.")
    ] = Path("steel-kg"),
) -> None:
    """Copy the steel ontology, SHACL shapes, gold set, competency questions and reference graph."""
    from pingce.core.paths import prepare_output_dir
    from pingce.kg.ontology import DATA_DIR

    # copies replace only files in a folder pingce created, never a user's edited copies
    prepare_output_dir(out_dir, command="pingce kg reference", option="--out")
    names = sorted(p.name for p in DATA_DIR.iterdir() if p.name.startswith("steel"))
    for name in names:
        shutil.copyfile(DATA_DIR / name, out_dir / name)
    out.print(f"wrote {', '.join(names)} to {out_dir}")


@app.command()
def sector(
    model: Annotated[str, typer.Option("--model", help="A model subject, e.g. hf:./models/qwen.")],
    shots: Annotated[int, typer.Option("--shots")] = 2,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens")] = 384,
    limit: Annotated[
        int | None,
        typer.Option("--limit", help="Samples per knowledge task and gold texts to extract from."),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 4,
    report_dir: ReportDir = Path("reports"),
    no_report: NoReport = False,
    quiet: Quiet = False,
    db: Db = None,
) -> None:
    """One report on a model's steel knowledge (llm/sector/steel) and its KG extraction quality."""
    from pingce.core.cli_kit import check_writable, open_db, print_summary
    from pingce.core.report import write_report

    check_generation(shots, max_new_tokens, batch_size, limit)
    if not no_report:
        check_writable(report_dir)
    llm_id, kg_id, doc = sector_report(
        open_db(db), model, shots, max_new_tokens, limit, {"batch_size": batch_size}, not quiet
    )
    print_summary(doc)
    if not no_report:
        paths = write_report(doc, report_dir / f"{kg_id}-sector")
        out.print(f"report: {', '.join(str(p) for p in paths)}")
    out.print(f"runs: llm {llm_id}, kg {kg_id}")
