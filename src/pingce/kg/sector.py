"""`pingce kg sector`: one report on a model's steel knowledge (the llm suite
llm/sector/steel) and its KG extraction quality (kg/build), run on the same model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pingce.core.errors import SpecError
from pingce.core.report.kit import BarsChart, Section, Table
from pingce.kg.runs import build_graph

STEEL_LLM_SUITE = "llm/sector/steel"


def sector_report(
    store: Any,
    model: str,
    shots: int = 2,
    max_new_tokens: int = 384,
    limit: int | None = None,
    options: dict[str, Any] | None = None,
    show_progress: bool = True,
) -> tuple[str, str, dict[str, Any]]:
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
    section = Section(
        id="steel-knowledge",
        title="Steel-domain knowledge",
        title_zh="钢铁领域知识",
        text=f"From llm run {llm_id} (suite {STEEL_LLM_SUITE}) on the same model; the KG "
        f"extraction below is run {kg_id}.",
        table=Table(["task", "任务", "metric", "value", "CI low", "CI high", "n"], rows),
        charts=[
            BarsChart.single(
                "Steel knowledge", [r[0] for r in rows], [r[3] for r in rows], "score", unit=""
            )
        ],
    )
    doc["sections"].insert(0, section.to_dict())
    doc["indicators"].extend(
        {**i, "scope": f"knowledge/{i['scope']}"} for i in llm_doc["indicators"]
    )
    doc["notes"].append(
        f"One report for two runs: steel knowledge (llm run {llm_id}) and KG extraction (kg run {kg_id})."
    )
    doc["notes"].extend(n for n in llm_doc["notes"] if n not in doc["notes"])
    return llm_id, kg_id, doc
