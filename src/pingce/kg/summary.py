"""Summaries of kg runs from stored records: task rows with CIs, indicators and sections,
assembled with the report kit (`pingce.core.report.kit`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from pingce.core.report.kit import (
    BarsChart,
    BarSeries,
    MetricRow,
    Section,
    Table,
    rnd,
    summarize_tasks,
    to_dicts,
)
from pingce.kg.extraction import prf
from pingce.kg.matching import CATEGORIES, SCHEMES, scheme_prf
from pingce.kg.metrics import CATALOGUE

BOOTSTRAP = 1000
Records = Sequence[dict[str, Any]]
SectionsAndNotes = tuple[list[dict[str, Any]], list[str]]


def metric_rows(recs: Records, seed: int = 0) -> dict[str, dict[str, Any]]:
    """The metric rows of one task's records: every catalogue metric they score, finite only."""
    rows: dict[str, dict[str, Any]] = {}
    for name, mdef in CATALOGUE.items():
        items = [r["scores"][name] for r in recs if name in r["scores"]]
        if not items:
            continue
        row = MetricRow.from_items(mdef, items, seed=seed, n_resamples=BOOTSTRAP)
        if row.finite:  # e.g. WebNLG with no triple pair anywhere: undefined
            rows[name] = row.to_dict()
    return rows


def _reason_kind(reason: str) -> str:
    if reason.startswith("relation"):
        return "relation not in ontology"
    if reason.startswith("subject type"):
        return "subject outside domain"
    if reason.startswith("object type"):
        return "object outside range"
    return "object not a valid value"


def _prf_row(label: str, counts: Any) -> list[Any]:
    return [label, *[rnd(x) for x in prf(counts)]]


def _summed(scored: Records, key: str) -> dict[str, list[int]]:
    """Per-name [correct, predicted, gold] counts summed over texts (data[key])."""
    total: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for x in scored:
        for name, c in x["data"].get(key, {}).items():
            for i in range(3):
                total[name][i] += c[i]
    return total


# ---- extraction sections ---------------------------------------------------------------------
def _matching(task_id: str, scored: Records) -> Section:
    rows: list[list[Any]] = []
    labels: list[str] = []
    f1s: list[float | None] = []
    rows.append(
        _prf_row("exact triples (normalised)", [x["scores"]["kg_triple_f1"] for x in scored])
    )
    labels.append("triples")
    f1s.append(rows[-1][3])
    for s in SCHEMES:
        key = f"kg_webnlg_{s}_f1"
        official = [x["scores"][key] for x in scored if key in x["scores"]]
        n_pairs = sum(i[1] for i in official)
        f = rnd(sum(i[0] for i in official) / n_pairs) if n_pairs else None
        rows.append([f"WebNLG {s} (official: mean pair F1)", None, None, f])
        labels.append(s)
        f1s.append(f)
        key = f"kg_webnlg_micro_{s}_f1"
        micro = [x["scores"][key] for x in scored if key in x["scores"]]
        if micro:
            tot = {c: sum(i[k] for i in micro) for k, c in enumerate(CATEGORIES)}
            rows.append([f"WebNLG {s} (micro elements)", *[rnd(v) for v in scheme_prf(tot, s)]])
    for name, label in (
        ("kg_entity_f1", "entities (spans)"),
        ("kg_relation_f1", "relations (boundaries)"),
        ("kg_relation_strict_f1", "relations (strict)"),
    ):
        items = [x["scores"][name] for x in scored if name in x["scores"]]
        if items:
            rows.append(_prf_row(label, items))
            labels.append(label.split(" ")[0] + ("" if "strict" not in label else " strict"))
            f1s.append(rows[-1][3])
    return Section(
        id=f"{task_id}-matching",
        title="Matching schemes",
        title_zh="匹配方式",
        text="Exact triples and spans are micro-averaged over all texts. WebNLG schemes score "
        "triple elements (subject, predicate, object): 'official' is the WebNLG 2020 script's "
        "figure (mean F1 of aligned, padded triple pairs; it reports no pooled P/R), 'micro' "
        "sums element counts.",
        table=Table(["level", "precision", "recall", "F1"], rows),
        charts=[BarsChart.single("F1 by matching scheme", labels, f1s, "F1", unit="F1")],
    )


def _relations(task_id: str, scored: Records) -> Section | None:
    per_rel = _summed(scored, "per_relation")
    rows = []
    for rel in sorted(per_rel, key=lambda k: (-per_rel[k][2], k)):
        tp, n_pred, n_gold = per_rel[rel]
        rows.append([rel, n_gold, n_pred, tp, *[rnd(x) for x in prf([[tp, n_pred, n_gold]])]])
    if not rows:
        return None
    labels = [row[0] for row in rows]
    series = [
        BarSeries(name, [row[i] for row in rows])
        for i, name in ((4, "precision"), (5, "recall"), (6, "F1"))
    ]
    return Section(
        id=f"{task_id}-relations",
        title="Per-relation breakdown",
        title_zh="按关系统计",
        text="Exact normalised triple matching by relation; relations outside the ontology "
        "start with '?'.",
        table=Table(
            ["relation", "gold", "predicted", "correct", "precision", "recall", "F1"], rows
        ),
        charts=[BarsChart("F1 by relation", labels, series, unit="0-1")],
    )


def _entities(task_id: str, scored: Records) -> Section | None:
    per_type = _summed(scored, "per_entity_type")
    if not per_type:
        return None
    rows = []
    for t in sorted(per_type, key=lambda k: (-per_type[k][2], k)):
        tp, n_pred, n_gold = per_type[t]
        rows.append([t, n_gold, n_pred, tp, *[rnd(x) for x in prf([per_type[t]])]])
    return Section(
        id=f"{task_id}-entities",
        title="Entities by type",
        title_zh="按实体类型统计",
        table=Table(["type", "gold", "predicted", "correct", "precision", "recall", "F1"], rows),
        charts=[
            BarsChart.single(
                "Entity F1 by type", [r[0] for r in rows], [r[6] for r in rows], "F1", unit="F1"
            )
        ],
    )


def _languages(task_id: str, scored: Records) -> Section | None:
    by_lang: dict[str, list[list[int]]] = defaultdict(list)
    for x in scored:
        by_lang[x["data"].get("lang") or "?"].append(x["scores"]["kg_triple_f1"])
    if len(by_lang) < 2:
        return None
    rows = [[lang, len(v), *[rnd(z) for z in prf(v)]] for lang, v in sorted(by_lang.items())]
    return Section(
        id=f"{task_id}-languages",
        title="By language",
        title_zh="按语言统计",
        table=Table(["language", "texts", "precision", "recall", "F1"], rows),
    )


CONFORMANCE_METRICS = (
    "kg_ontology_conformance",
    "kg_relation_hallucination",
    "kg_subject_hallucination",
    "kg_object_hallucination",
)


def _conformance(task_id: str, answered: Records) -> Section:
    vals = [rnd(sum(x["scores"][n] for x in answered) / len(answered)) for n in CONFORMANCE_METRICS]
    nonconforming = [nc for x in answered for nc in x["data"].get("nonconforming", [])]
    reasons = Counter(_reason_kind(nc["reason"]) for nc in nonconforming)
    examples = [[nc["reason"], " | ".join(nc["triple"])] for nc in nonconforming][:15]
    labels = ["conformance", "relation halluc.", "subject halluc.", "object halluc."]
    return Section(
        id=f"{task_id}-conformance",
        title="Ontology conformance and hallucination",
        title_zh="本体一致性与幻觉",
        text=f"Text2KGBench definitions, averaged over {len(answered)} answered texts. "
        f"Non-conforming triples by kind: {dict(reasons) or 'none'}.",
        table=Table(["reason", "triple"], examples),
        charts=[
            BarsChart.single("Conformance and hallucination rates", labels, vals, "rate", "0-1")
        ],
    )


def _extraction_notes(scored: Records, typed: bool) -> list[str]:
    notes = []
    if not typed:
        notes.append(
            "Entity F1 is not reported: the predictions give no entity types (add entities or "
            "subject_type/object_type)."
        )
    empty = sum(
        1 for x in scored if x["data"].get("answered") and not x["data"].get("pred_triples")
    )
    if empty:
        notes.append(
            f"{empty} answered text(s) have zero triples: ontology conformance and hallucination "
            "are not applicable to them and they are left out of those averages (an empty "
            "answer is neither conformant nor hallucinated); they count as empty for triple "
            "recall."
        )
    if not any("kg_relation_f1" in x["scores"] for x in scored):
        notes.append(
            "Relation F1 (kg_relation_f1) is not reported: the gold gives no entity or relation "
            "spans (a triples-only gold), so relation mentions have nothing to be matched "
            "against; see the triple and WebNLG F1."
        )
    unanswered = sum(1 for x in scored if not x["data"].get("answered"))
    if unanswered:
        notes.append(
            f"{unanswered} of {len(scored)} gold texts have no prediction; they count as empty "
            "(recall 0) and are left out of the conformance and hallucination averages."
        )
    return notes


def extraction_sections(task_id: str, recs: Records) -> SectionsAndNotes:
    """Matching schemes, per relation, per entity type, per language, conformance."""
    scored = [r for r in recs if "kg_triple_f1" in r["scores"]]
    if not scored:
        return [], []
    entities = _entities(task_id, scored)
    answered = [x for x in scored if "kg_ontology_conformance" in x["scores"]]
    found = [
        _matching(task_id, scored),
        _relations(task_id, scored),
        entities,
        _languages(task_id, scored),
        _conformance(task_id, answered) if answered else None,
    ]
    sections = [s for s in found if s is not None]
    return to_dicts(sections), _extraction_notes(scored, typed=entities is not None)


def build_sections(task_id: str, recs: Records) -> SectionsAndNotes:
    """How the model's outputs parsed, then the extraction sections."""
    status = sorted(Counter(r["data"].get("status", "?") for r in recs).items())
    invalid = sum(r["data"].get("invalid_triples", 0) for r in recs)
    rows = [[k, v] for k, v in status] + [["invalid triple entries", invalid]]
    section = Section(
        id=f"{task_id}-parsing",
        title="Model output parsing",
        title_zh="模型输出解析",
        text="How the model's answers parsed as the requested JSON; unparseable answers count "
        "as texts with no triples.",
        table=Table(["outcome", "texts"], rows),
        charts=[
            BarsChart.single(
                "Parse outcomes", [k for k, _ in status], [v for _, v in status], "texts", "texts"
            )
        ],
    )
    more, notes = extraction_sections(task_id, recs)
    if not any("kg_triple_f1" in r["scores"] for r in recs):
        notes.append(
            "No passage id matches a gold id, so only parsing is reported; pass passages from "
            "the gold set to score extraction."
        )
    return [section.to_dict(), *more], notes


# ---- quality sections --------------------------------------------------------------------------
def _shacl(task_id: str, recs: Records) -> Section:
    by_shape: Counter[str] = Counter()
    severity: Counter[str] = Counter()
    for r in recs:
        for res in r["data"].get("results", []):
            by_shape[res["shape"]] += 1
            severity[res["severity"]] += 1
    conforms = all(r["data"].get("graph_conforms", True) for r in recs)
    top = by_shape.most_common(20)
    labels, counts = [k for k, _ in top], [v for _, v in top]
    return Section(
        id=f"{task_id}-shapes",
        title="SHACL results by shape",
        title_zh="SHACL约束违反统计",
        text=f"Graph conforms: {conforms}. Results by severity: {dict(severity) or 'none'}.",
        table=Table(["shape", "results"], [[k, v] for k, v in top]),
        charts=[BarsChart.single("Violations by shape", labels, counts, "results", "results")]
        if top
        else [],
    )


def _completeness(task_id: str, recs: Records) -> Section:
    by_class: dict[str, list[float]] = defaultdict(list)
    missing: dict[str, Counter[str]] = defaultdict(Counter)
    for r in recs:
        if "kg_completeness" not in r["scores"]:
            continue
        for c in r["data"].get("classes", []) or ["(untyped)"]:
            by_class[c].append(r["scores"]["kg_completeness"])
            for m in r["data"].get("missing", []):
                missing[c][m.split(": ", 1)[-1]] += 1
    rows = [
        [
            c,
            len(v),
            rnd(sum(v) / len(v)),
            ", ".join(f"{k} ({n})" for k, n in missing[c].most_common(2)),
        ]
        for c, v in sorted(by_class.items())
    ]
    labels, values = [row[0] for row in rows], [row[2] for row in rows]
    return Section(
        id=f"{task_id}-classes",
        title="Completeness by class",
        title_zh="按类别的完整性",
        table=Table(["class", "nodes", "completeness", "most often missing"], rows),
        charts=[BarsChart.single("Completeness by class", labels, values, "completeness", "0-1")],
    )


def _consistency(task_id: str, recs: Records) -> Section:
    rows = [
        [r["data"].get("name", r["sample_id"]), "; ".join(r["data"]["issues"])]
        for r in recs
        if r["data"].get("issues")
    ]
    method = next((r["data"].get("method") for r in recs), "")
    errors = next(
        (r["data"].get("owlrl_errors") for r in recs if r["data"].get("owlrl_errors")), []
    )
    text = f"Reasoning: {method}." + (
        f" OWL-RL reported {len(errors)} inconsistency message(s)." if errors else ""
    )
    return Section(
        id=f"{task_id}-issues",
        title="Consistency issues",
        title_zh="一致性问题",
        text=text,
        table=Table(["node", "issues"], rows[:50]),
    )


def _redundancy(task_id: str, recs: Records) -> Section:
    rows = [
        [r["data"].get("name", r["sample_id"]), r["sample_id"], r["data"]["duplicate_of"]]
        for r in recs
        if r["data"].get("duplicate_of")
    ]
    same_as = next((r["data"].get("same_as_clusters", 0) for r in recs), 0)
    return Section(
        id=f"{task_id}-duplicates",
        title="Duplicate entities",
        title_zh="重复实体",
        text=f"{len(rows)} redundant node(s); {same_as} owl:sameAs cluster(s) counted as one "
        "entity each.",
        table=Table(["label", "node", "duplicate of"], rows[:50]),
    )


def _connectivity(task_id: str, recs: Records) -> Section:
    comps = next((r["data"].get("components", 0) for r in recs), 0)
    sizes: Counter[Any] = Counter()
    for r in recs:
        sizes[r["data"].get("component")] = r["data"].get("component_size", 0)
    largest = max(sizes.values(), default=0)
    share = largest / len(recs) if recs else 0.0
    hist = Counter(min(r["data"].get("degree", 0), 10) for r in recs)
    degrees = sorted(hist)
    return Section(
        id=f"{task_id}-components",
        title="Connectivity",
        title_zh="连通性",
        text=f"{comps} connected component(s); the largest holds {largest} of {len(recs)} nodes "
        f"({share:.1%}).",
        table=Table(["degree (10 = 10 or more)", "nodes"], [[d, hist[d]] for d in degrees]),
        charts=[
            BarsChart.single(
                "Node degree",
                [str(d) for d in degrees],
                [hist[d] for d in degrees],
                "nodes",
                "nodes",
            )
        ],
    )


def _competency(task_id: str, recs: Records, notes: list[str]) -> Section:
    rows = [
        [
            r["sample_id"],
            r["data"].get("question_zh") or r["data"].get("question", ""),
            "pass" if r["scores"].get("kg_cq_pass_rate") else "fail",
            rnd(r["scores"].get("kg_cq_recall", 0.0)),
            ", ".join(r["data"].get("answers", [])[:8]),
        ]
        for r in recs
    ]
    builtin = any(r["data"].get("steel_builtin") for r in recs)
    if builtin:
        failed = sum(1 for r in recs if not r["scores"].get("kg_cq_pass_rate"))
        notes.append(
            "The competency questions are pingce's built-in steel-industry set (steel-specific: "
            f"they ask about steel processes and equipment; {failed} of {len(recs)} failed). For "
            "another domain pass --cq FILE."
        )
    return Section(
        id=f"{task_id}-questions",
        title="Competency questions" + (" (built-in steel set, steel-specific)" if builtin else ""),
        title_zh="能力问题" + ("(内置钢铁领域问题)" if builtin else ""),
        table=Table(["question", "问题", "result", "recall", "answers"], rows),
    )


_QUALITY = {
    "shacl": _shacl,
    "completeness": _completeness,
    "consistency": _consistency,
    "redundancy": _redundancy,
    "connectivity": _connectivity,
}


def quality_sections(task_id: str, aspect: str, recs: Records) -> SectionsAndNotes:
    """The section of one quality aspect (and its notes)."""
    notes: list[str] = []
    if aspect == "competency":
        return [_competency(task_id, recs, notes).to_dict()], notes
    build = _QUALITY.get(aspect)
    return ([build(task_id, recs).to_dict()] if build else []), notes


def samples(task_id: str, recs: Records, limit: int = 12) -> list[dict[str, Any]]:
    """The worst-scored texts (by triple F1) as report samples."""
    scored = [r for r in recs if "kg_triple_f1" in r["scores"]]

    def f1(r: dict[str, Any]) -> float:
        return prf([r["scores"]["kg_triple_f1"]])[2]

    out = []
    for r in sorted(scored, key=lambda r: (f1(r), r["position"]))[:limit]:
        pred = r["data"].get("pred_triples", [])
        pred_lines = [
            " | ".join(t) if isinstance(t, list) else " | ".join(str(v) for v in t.values())
            for t in pred
        ]
        out.append(
            {
                "task": task_id,
                "sample_id": r["sample_id"],
                "prompt": r["data"].get("text", ""),
                "output": "\n".join(pred_lines) or r["data"].get("output", ""),
                "extracted": None,
                "reference": "\n".join(" | ".join(t) for t in r["data"].get("gold_triples", [])),
                "scores": {"triple_f1": rnd(f1(r))},
                "data": {
                    "missed": r["data"].get("missed", [])[:10],
                    "spurious": r["data"].get("spurious", [])[:10],
                },
            }
        )
    return out


def summarize(suite: dict[str, Any], config: dict[str, Any], records: Records) -> dict[str, Any]:
    """The summary part of the report document for a kg run."""
    from pingce.kg.task_types import kg_task_type

    summary = summarize_tasks(
        suite,
        config,
        records,
        metrics=CATALOGUE,
        primary=lambda spec, rows: kg_task_type(spec, "suite").primary,
        n_resamples=BOOTSTRAP,
        default_dimension="kg",
        default_language="multi",
    )
    sections: list[dict[str, Any]] = []
    notes: list[str] = []
    sample_rows: list[dict[str, Any]] = []
    for t in summary.tasks:
        sec, nt = kg_task_type(t.spec, "suite").report_sections(t.id, t.records)
        sections.extend(sec)
        notes.extend(nt)
        sample_rows.extend(samples(t.id, t.records))
    tasks = summary.task_rows()
    kinds = {t["type"] for t in tasks}
    if kinds <= {"kg.extraction", "kg.build"} and len(tasks) == 1:
        method = f"{tasks[0]['primary_metric']} of the one task"
    else:
        method = "mean of the task scores (rates where lower is better enter as 1 - rate)"
    return {
        "tasks": tasks,
        "dimensions": [],
        "overall": {"score": summary.mean_primary_score(), "method": method},
        "indicators": summary.indicator_rows(),
        "samples": sample_rows,
        "notes": notes,
        "sections": sections,
        "extra": {"subject_settings": config.get("settings", {})},
    }
