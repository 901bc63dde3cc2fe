"""`pingce demo` step 40-data: generate a small corpus, process it, grade the result with the
built-in data/pretrain suite."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pingce.core.demo import DemoContext

DEMO_DOCS = 600
DEMO_PIPELINE = """
input: {path: raw/corpus.jsonl.gz}
output: {path: clean, format: jsonl.zst}
operators:
  - fix_encoding
  - normalize: {form: NFKC}
  - clean_whitespace
  - language: {keep: [en, zh], threshold: 0.5, candidates: [en, zh, ja, fr, de]}
  - gopher_quality
  - gopher_repetition
  - c4_quality
  - fineweb_quality
  - pii: {action: mask}
  - toxic_words
  - exact_dedup
  - minhash_dedup: {ngram: 5, permutations: 112, bands: 14}
"""


def run_data_demo(ctx: DemoContext) -> str:
    from pingce.data.evaluate import evaluation_options
    from pingce.data.funnel import print_funnel, read_funnel
    from pingce.data.generator import CorpusConfig, generate, write_corpus
    from pingce.data.pipeline import run_pipeline
    from pingce.data.pipeline_spec import load_pipeline

    docs = min(DEMO_DOCS, ctx.limit * 20) if ctx.limit else DEMO_DOCS
    work = Path(tempfile.mkdtemp(prefix="pingce-data-demo-"))
    write_corpus(generate(CorpusConfig(docs=docs, seed=7)), work / "raw" / "corpus.jsonl.gz")
    (work / "pipeline.yaml").write_text(DEMO_PIPELINE, encoding="utf-8")
    ctx.console.print(f"data demo: {docs} generated documents (English and Chinese) in {work}")
    stats = run_pipeline(load_pipeline(work / "pipeline.yaml"), show_progress=not ctx.quiet)
    print_funnel(stats, ctx.console)
    clean = work / "clean"
    options = evaluation_options(funnel=read_funnel(clean / "stats.json"), demo=True)
    return ctx.run_suite("data/pretrain", f"data:{clean}", options)
