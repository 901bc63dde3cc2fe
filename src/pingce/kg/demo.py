"""`pingce demo` step 70-kg: a hand-written prediction set scored against the steel gold set."""

from __future__ import annotations

from pingce.core.demo import DemoContext

INTRO = (
    "scores 13 hand-written extractions (English and Chinese, with typical mistakes: unit "
    "spellings, a missing triple, a relation outside the ontology, a wrong argument type, an "
    "invented entity) against pingce's steel-production gold set: triple P/R/F1, WebNLG "
    "schemes, entity and relation F1, ontology conformance and hallucination."
)


def run_kg_demo(ctx: DemoContext) -> str:
    """Suite kg/extraction, limited to the gold texts the demo predictions name."""
    from pingce.core.spec import resolve_suite_path
    from pingce.kg.ontology import DATA_DIR
    from pingce.kg.runs import extraction_suite

    ctx.console.print(f"[bold]kg[/bold]: {INTRO}")
    pred = DATA_DIR / "steel-demo-predictions.jsonl"
    suite = extraction_suite(pred, subset=True, source=str(resolve_suite_path("kg/extraction")))
    return ctx.run_suite(suite, f"triples:{pred.resolve()}")
