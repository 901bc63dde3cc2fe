"""`pingce kg ...`: evaluate extracted triples, check a graph, build a KG with an LLM."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from pingce.core.errors import SpecError

app = typer.Typer(
    help="Knowledge-graph construction quality (steel-production reference ontology and gold set).",
    no_args_is_help=True,
)
out = Console()

ReportDir = Annotated[Path, typer.Option("--report-dir", help="Where reports are written.")]
NoReport = Annotated[bool, typer.Option("--no-report", help="Print the summary only.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
Db = Annotated[str | None, typer.Option("--db", help="Results store URL or SQLite path.")]
Onto = Annotated[
    Path | None, typer.Option("--ontology", help="Ontology (default: the steel ontology).")
]


def _abs(p: Path | None) -> str | None:
    if p is None:
        return None
    if not p.exists():
        raise SpecError(f"{p} does not exist")
    return str(p.resolve())


def _run(store: Any, tasks: list[dict[str, Any]], name: str, title: str, title_zh: str, subject: str,
         source: str, show_progress: bool, options: dict[str, Any] | None = None) -> str:  # fmt: skip
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.spec import suite_from_dict

    tasks = [{"dimension": "kg", **t} for t in tasks]
    suite = suite_from_dict(
        {"standard": "kg", "name": name, "title": title, "title_zh": title_zh, "tasks": tasks},
        source=source,
        base_dir=Path.cwd(),
    )
    return execute_run(
        store,
        RunRequest(suite=suite, subject=subject, options=options or {}),
        show_progress=show_progress,
    )


def evaluate_predictions(store: Any, pred: Path, gold: Path | None = None, ontology: Path | None = None,
                         fmt: str = "auto", subset: bool = False, show_progress: bool = True) -> str:  # fmt: skip
    """Score predictions against a gold set through the shared pipeline; returns the run id."""
    if fmt not in ("auto", "jsonl", "rdf", "neo4j"):
        raise SpecError(f"--format must be auto, jsonl, rdf or neo4j, got {fmt!r}")
    if not pred.exists():
        raise SpecError(f"predictions {pred} do not exist", hint="give --pred FILE")
    task = {"id": "extraction", "type": "kg.extraction", "title": "Triple extraction against gold",
            "title_zh": "三元组抽取评测", "gold": _abs(gold), "ontology": _abs(ontology), "subset": subset}  # fmt: skip
    subject = f"triples:{pred.resolve()}" + (f"?format={fmt}" if fmt != "auto" else "")
    return _run(store, [task], "kg/extraction", "KG extraction quality", "知识图谱抽取质量", subject,
                f"pingce kg evaluate --pred {pred}", show_progress)  # fmt: skip


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
    from pingce.cli import check_writable, finish_run, open_db

    store = open_db(db)

    if not no_report:
        check_writable(report_dir)
    run_id = evaluate_predictions(store, pred, gold, ontology, fmt, subset, show_progress=not quiet)
    finish_run(store, run_id, None if no_report else report_dir)


QUALITY_TITLES = {
    "shacl": ("SHACL conformance", "SHACL约束符合性"),
    "completeness": ("Completeness", "完整性"),
    "consistency": ("Consistency", "一致性"),
    "redundancy": ("Redundancy", "冗余性"),
    "connectivity": ("Connectivity", "连通性"),
    "competency": ("Competency questions", "能力问题"),
}


def uses_steel_ontology(graph: Path) -> bool:
    """Whether the graph file names any term of the steel ontology's namespace."""
    from pingce.kg.ontology import STEEL_NS

    with open(graph, "rb") as f:
        return STEEL_NS.encode() in f.read()


def check_graph(store: Any, graph: Path, ontology: Path | None = None, shapes: Path | None = None,
                completeness: Path | None = None, cq: Path | None = None, owlrl_limit: int = 5000,
                show_progress: bool = True) -> str:  # fmt: skip
    """Run the six quality checks on a graph through the shared pipeline; returns the run id."""
    from pingce.kg.tasks import QUALITY_ASPECTS

    if not graph.is_file():
        raise SpecError(f"graph {graph} does not exist")
    if owlrl_limit < 0:
        raise SpecError(f"--owlrl-limit must be >= 0, got {owlrl_limit}")
    common = {"ontology": _abs(ontology), "shapes": _abs(shapes), "completeness": _abs(completeness),
              "cq": _abs(cq), "owlrl_limit": owlrl_limit}  # fmt: skip
    aspects = list(QUALITY_ASPECTS)
    if cq is None and not uses_steel_ontology(graph):
        # The built-in competency questions ask about steel: on another graph they would
        # only fail, so they are applied to steel graphs alone unless --cq names a file.
        aspects.remove("competency")
        out.print("competency questions skipped: the built-in ones are steel-specific and this graph does not use the steel ontology; pass --cq FILE")  # fmt: skip
    tasks = [{"id": a, "type": f"kg.quality.{a}", "title": QUALITY_TITLES[a][0], "title_zh": QUALITY_TITLES[a][1], **common}
             for a in aspects]  # fmt: skip
    return _run(store, tasks, "kg/quality", "KG quality", "知识图谱质量", f"graph:{graph.resolve()}",
                f"pingce kg quality {graph}", show_progress)  # fmt: skip


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
    from pingce.cli import check_writable, finish_run, open_db

    store = open_db(db)

    if not no_report:
        check_writable(report_dir)
    run_id = check_graph(store, graph, ontology, shapes, completeness, cq, owlrl_limit, not quiet)
    finish_run(store, run_id, None if no_report else report_dir)


def build_graph(store: Any, text: Path, model: str, ontology: Path | None = None, gold: Path | None = None,
                shots: int = 2, max_new_tokens: int = 384, options: dict[str, Any] | None = None,
                show_progress: bool = True) -> str:  # fmt: skip
    """Extract triples with a language model through the shared pipeline; returns the run id."""
    check_generation(shots, max_new_tokens)
    task = {"id": "build", "type": "kg.build", "title": "LLM triple extraction", "title_zh": "大模型三元组抽取",
            "text": _abs(text), "ontology": _abs(ontology), "gold": _abs(gold), "shots": shots,
            "max_new_tokens": max_new_tokens}  # fmt: skip
    return _run(store, [task], "kg/build", "KG construction with an LLM", "大模型知识图谱构建", model,
                f"pingce kg build --text {text}", show_progress, options)  # fmt: skip


def write_outputs(store: Any, run_id: str, out_path: Path, ontology: Path | None = None) -> int:
    """The run's extracted triples as JSONL (and Turtle next to it); returns the triple count."""
    from pingce.core.store import records_as_dicts
    from pingce.kg.graph_build import items_to_graph
    from pingce.kg.model import Item
    from pingce.kg.ontology import load_ontology
    from pingce.kg.readers import parse_triple

    recs = sorted(records_as_dicts(store.records(run_id)), key=lambda r: r["position"])
    items = []
    for r in recs:
        triples = [t for t in (parse_triple(x) for x in r["data"].get("pred_triples", [])) if t]
        items.append(
            Item(
                id=r["sample_id"],
                text=r["data"].get("text", ""),
                lang=r["data"].get("lang", ""),
                triples=triples,
            )
        )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(out_path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for it in items:
            fh.write(
                json.dumps(
                    {"id": it.id, "text": it.text, "triples": [t.to_dict() for t in it.triples]},
                    ensure_ascii=False,
                )
                + "\n"
            )
    tmp.replace(out_path)
    graph = items_to_graph(items, load_ontology(ontology))
    graph.serialize(str(out_path.with_suffix(".ttl")), format="turtle")
    return sum(len(i.triples) for i in items)


def check_generation(
    shots: int, max_new_tokens: int, batch_size: int = 1, limit: int | None = None
) -> None:
    """The extraction options, checked before a (slow) model loads."""
    for name, value, least in (
        ("--shots", shots, 0),
        ("--max-new-tokens", max_new_tokens, 1),
        ("--batch-size", batch_size, 1),
        ("--limit", limit, 1),
    ):
        if value is not None and value < least:
            raise SpecError(f"{name} must be at least {least}, got {value}")


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
    from pingce.cli import check_writable, finish_run, open_db

    check_generation(shots, max_new_tokens, batch_size)
    store = open_db(db)

    if not no_report:
        check_writable(report_dir)
    opts = {"batch_size": batch_size, "device": device}
    run_id = build_graph(store, text, model, ontology, gold, shots, max_new_tokens, opts, not quiet)
    n = write_outputs(store, run_id, out_path, ontology)
    out.print(f"{n} triples → {out_path} and {out_path.with_suffix('.ttl')}")
    finish_run(store, run_id, None if no_report else report_dir)


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


STEEL_LLM_SUITE = "llm/sector/steel"


def sector_report(store: Any, model: str, shots: int = 2, max_new_tokens: int = 384, limit: int | None = None,
                  options: dict[str, Any] | None = None, show_progress: bool = True) -> tuple[str, str, dict[str, Any]]:  # fmt: skip
    """Run the steel LLM suite and the KG build on one model; returns (llm run, kg run, report doc).

    The report is the kg run's document with the knowledge tasks of the llm run added as tasks
    (ids prefixed ``knowledge/``) and as a section, so one report covers both.
    """
    from pingce.core.reporting import build_report_doc
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.spec import builtin_suite_names
    from pingce.kg.ontology import STEEL_GOLD

    if STEEL_LLM_SUITE not in builtin_suite_names():
        raise SpecError(
            f"the steel LLM suite {STEEL_LLM_SUITE!r} is not installed", hint="use pingce kg build"
        )
    opts = dict(options or {})
    llm_opts = {**opts, **({"limit": limit} if limit else {})}
    llm_id = execute_run(
        store,
        RunRequest(suite=STEEL_LLM_SUITE, subject=model, options=llm_opts),
        show_progress=show_progress,
    )
    text = STEEL_GOLD
    if limit:
        import tempfile

        lines = STEEL_GOLD.read_text(encoding="utf-8").splitlines()
        keep = lines[: (limit + 1) // 2] + lines[-(limit // 2) :] if limit > 1 else lines[:1]
        text = Path(tempfile.mkdtemp(prefix="pingce-kg-sector-")) / "texts.jsonl"
        text.write_text("\n".join(keep) + "\n", encoding="utf-8")
    kg_id = build_graph(
        store,
        text,
        model,
        shots=shots,
        max_new_tokens=max_new_tokens,
        options=opts,
        show_progress=show_progress,
    )
    doc = build_report_doc(store, store.get_run(kg_id))
    llm_doc = build_report_doc(store, store.get_run(llm_id))
    rows = []
    for task in llm_doc["tasks"]:
        doc["tasks"].append({**task, "id": f"knowledge/{task['id']}"})
        m = task["metrics"][task["primary_metric"]]
        rows.append(
            [
                task["id"],
                task["title_zh"] or task["title"],
                task["primary_metric"],
                m["value"],
                m["ci_low"],
                m["ci_high"],
                m["n"],
            ]
        )
    doc["sections"].insert(0, {
        "id": "steel-knowledge", "title": "Steel-domain knowledge", "title_zh": "钢铁领域知识",
        "text": f"From llm run {llm_id} (suite {STEEL_LLM_SUITE}) on the same model; the KG extraction below is run {kg_id}.",
        "table": {"columns": ["task", "任务", "metric", "value", "CI low", "CI high", "n"], "rows": rows},
        "charts": [{"kind": "bars", "title": "Steel knowledge", "labels": [r[0] for r in rows],
                    "series": [{"name": "score", "values": [r[3] for r in rows]}], "unit": ""}],
    })  # fmt: skip
    doc["indicators"].extend(
        {**i, "scope": f"knowledge/{i['scope']}"} for i in llm_doc["indicators"]
    )
    doc["notes"].append(
        f"One report for two runs: steel knowledge (llm run {llm_id}) and KG extraction (kg run {kg_id})."
    )
    doc["notes"].extend(n for n in llm_doc["notes"] if n not in doc["notes"])
    return llm_id, kg_id, doc


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
    from pingce.cli import check_writable, open_db, print_summary
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
