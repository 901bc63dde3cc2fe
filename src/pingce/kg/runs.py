"""kg runs from the built-in suites (kg/extraction, kg/quality, kg/build) through the shared
run path; `pingce kg ...` and demo step 70-kg call these. Each returns the run id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pingce.core.errors import SpecError
from pingce.core.spec import Suite

QUALITY_TITLES = {
    "shacl": ("SHACL conformance", "SHACL约束符合性"),
    "completeness": ("Completeness", "完整性"),
    "consistency": ("Consistency", "一致性"),
    "redundancy": ("Redundancy", "冗余性"),
    "connectivity": ("Connectivity", "连通性"),
    "competency": ("Competency questions", "能力问题"),
}


def _abs(p: Path | None) -> str | None:
    if p is None:
        return None
    if not p.exists():
        raise SpecError(f"{p} does not exist")
    return str(p.resolve())


def filled_suite(
    name: str,
    fields: dict[str, Any],
    source: str,
    keep: set[str] | None = None,
) -> Suite:
    """Built-in suite `name` with `fields` set on every task (only tasks in `keep`, if given).

    `source` names where the filled-in values came from (e.g. the command line), so the run
    records it as the suite's source; the suite's hash covers the filled-in spec.
    """
    from pingce.core.spec import load_suite, suite_from_dict

    base = load_suite(name)
    spec = base.spec.model_dump(mode="json", exclude_defaults=True)
    spec["tasks"] = [{**t, **fields} for t in spec["tasks"] if keep is None or t["id"] in keep]
    return suite_from_dict(spec, source=source, base_dir=Path.cwd())


def _run(
    store: Any,
    suite: Suite,
    subject: str,
    show_progress: bool,
    options: dict[str, Any] | None = None,
) -> str:
    from pingce.core.run import RunRequest, execute_run

    request = RunRequest(suite=suite, subject=subject, options=options or {})
    return execute_run(store, request, show_progress=show_progress)


def extraction_suite(
    pred: Path,
    gold: Path | None = None,
    ontology: Path | None = None,
    subset: bool = False,
    source: str | None = None,
) -> Suite:
    """kg/extraction with a gold set, an ontology and the subset switch filled in."""
    fields = {"gold": _abs(gold), "ontology": _abs(ontology), "subset": subset}
    return filled_suite("kg/extraction", fields, source or f"pingce kg evaluate --pred {pred}")


def evaluate_predictions(
    store: Any,
    pred: Path,
    gold: Path | None = None,
    ontology: Path | None = None,
    fmt: str = "auto",
    subset: bool = False,
    show_progress: bool = True,
) -> str:
    """Score predictions against a gold set through the shared pipeline; returns the run id."""
    if fmt not in ("auto", "jsonl", "rdf", "neo4j"):
        raise SpecError(f"--format must be auto, jsonl, rdf or neo4j, got {fmt!r}")
    if not pred.exists():
        raise SpecError(f"predictions {pred} do not exist", hint="give --pred FILE")
    suite = extraction_suite(pred, gold, ontology, subset)
    subject = f"triples:{pred.resolve()}" + (f"?format={fmt}" if fmt != "auto" else "")
    return _run(store, suite, subject, show_progress)


def uses_steel_ontology(graph: Path) -> bool:
    """Whether the graph file names any term of the steel ontology's namespace."""
    from pingce.kg.ontology import STEEL_NS

    with open(graph, "rb") as f:
        return STEEL_NS.encode() in f.read()


def check_graph(
    store: Any,
    graph: Path,
    ontology: Path | None = None,
    shapes: Path | None = None,
    completeness: Path | None = None,
    cq: Path | None = None,
    owlrl_limit: int = 5000,
    show_progress: bool = True,
    say: Any = print,
) -> str:
    """Run the six quality checks on a graph through the shared pipeline; returns the run id."""
    from pingce.kg.task_types import QUALITY_ASPECTS

    if not graph.is_file():
        raise SpecError(f"graph {graph} does not exist")
    if owlrl_limit < 0:
        raise SpecError(f"--owlrl-limit must be >= 0, got {owlrl_limit}")
    common = {
        "ontology": _abs(ontology),
        "shapes": _abs(shapes),
        "completeness": _abs(completeness),
        "cq": _abs(cq),
        "owlrl_limit": owlrl_limit,
    }
    aspects = list(QUALITY_ASPECTS)
    if cq is None and not uses_steel_ontology(graph):
        # The built-in competency questions ask about steel: on another graph they would
        # only fail, so they are applied to steel graphs alone unless --cq names a file.
        aspects.remove("competency")
        say(
            "competency questions skipped: the built-in ones are steel-specific and this graph "
            "does not use the steel ontology; pass --cq FILE"
        )
    suite = filled_suite("kg/quality", common, f"pingce kg quality {graph}", keep=set(aspects))
    return _run(store, suite, f"graph:{graph.resolve()}", show_progress)


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


def build_graph(
    store: Any,
    text: Path,
    model: str,
    ontology: Path | None = None,
    gold: Path | None = None,
    shots: int = 2,
    max_new_tokens: int = 384,
    options: dict[str, Any] | None = None,
    show_progress: bool = True,
) -> str:
    """Extract triples with a language model through the shared pipeline; returns the run id."""
    check_generation(shots, max_new_tokens)
    fields = {
        "text": _abs(text),
        "ontology": _abs(ontology),
        "gold": _abs(gold),
        "shots": shots,
        "max_new_tokens": max_new_tokens,
    }
    suite = filled_suite("kg/build", fields, f"pingce kg build --text {text}")
    return _run(store, suite, model, show_progress, options)


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
