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
    from pingce.kg.cli import evaluate_predictions
    from pingce.kg.ontology import DATA_DIR

    ctx.console.print(f"[bold]kg[/bold]: {INTRO}")
    return evaluate_predictions(
        ctx.store,
        DATA_DIR / "steel-demo-predictions.jsonl",
        subset=True,
        show_progress=not ctx.quiet,
    )
